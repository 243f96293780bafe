// The builds of the wasm kernels this engine runs (src/wasm/simd.ts): plain simd128 always, relaxed
// SIMD where WebAssembly.validate accepts it. Under vitest on Node 20 the config starts test
// processes with --experimental-wasm-relaxed-simd, so both are tested there too.

import { relaxedSimdSupported, type SimdPath } from '../../src/wasm/simd.js';

export const SIMD_PATHS: readonly SimdPath[] = relaxedSimdSupported() ? ['plain', 'relaxed'] : ['plain'];
