// Which build of the kernels a wasm backend runs (instance.ts holds both):
//   plain    simd128: every a·b + c is f32x4.mul then f32x4.add, two roundings; every engine with SIMD
//   relaxed  simd128 + relaxed SIMD: f32x4.relaxed_madd, one fused multiply-add where the engine
//            fuses it (one rounding), else mul + add; only where WebAssembly.validate accepts it
// 'auto' takes relaxed where it validates. The two builds differ by rounding only, and each stays
// bit-identical across thread counts (assembly/fma.ts).

import { BackendError } from '../backend.js';

/** The build to run: 'auto' (relaxed where the engine validates it, else plain), or one forced. */
export type WasmSimd = 'auto' | 'relaxed' | 'plain';
export type SimdPath = Exclude<WasmSimd, 'auto'>;

const CHOICES: readonly WasmSimd[] = ['auto', 'relaxed', 'plain'];

/** (func (param v128 v128 v128) (result v128) (f32x4.relaxed_madd (local.get 0) (local.get 1) (local.get 2))) */
// biome-ignore format: the module's sections, one a line
const RELAXED_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version 1
  0x01, 0x08, 0x01, 0x60, 0x03, 0x7b, 0x7b, 0x7b, 0x01, 0x7b, // type: (v128 v128 v128) → v128
  0x03, 0x02, 0x01, 0x00, // function 0 has type 0
  0x0a, 0x0d, 0x01, 0x0b, 0x00, 0x20, 0x00, 0x20, 0x01, 0x20, 0x02, // code: no locals, local.get 0 1 2
  0xfd, 0x85, 0x02, 0x0b, // f32x4.relaxed_madd (0xfd 0x105), end
]);

/** Whether this engine accepts relaxed-SIMD modules (validation compiles nothing, so edge runtimes allow it). */
export function relaxedSimdSupported(): boolean {
  return WebAssembly.validate(RELAXED_PROBE);
}

/** The build `choice` names on this engine; a BackendError for 'relaxed' where the engine lacks it. */
export function simdPath(choice: WasmSimd = 'auto'): SimdPath {
  if (!CHOICES.includes(choice))
    throw new BackendError(`wasm backend: simd must be one of ${CHOICES.map((c) => `'${c}'`).join(', ')}, got ${String(choice)}`);
  if (choice === 'plain') return 'plain';
  if (relaxedSimdSupported()) return 'relaxed';
  if (choice === 'auto') return 'plain';
  throw new BackendError(
    "wasm backend: simd 'relaxed' was asked for, but this engine rejects relaxed-SIMD modules (f32x4.relaxed_madd). " +
      "Fix: use simd 'auto' or 'plain' (CLI: --wasm-simd), or enable relaxed SIMD (Node 20: node --experimental-wasm-relaxed-simd; " +
      'it is on by default from Node 22, Deno 2, Chromium 114)',
  );
}
