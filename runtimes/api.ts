// What every package entry (runtimes/<host>/index.ts) exports besides its host's own: the
// runtime-independent API of src/, the shared backend choice (detect.ts), both backends' constructors
// and the conformance runner.
export * from '../src/index.js';
export { chooseBackend, detectRuntime } from './detect.js';
export type { BackendFactories, CreateBackendOptions, RuntimeName } from './detect.js';
export { createWebGpuBackend } from '../src/webgpu/backend.js';
export { createWasmBackend } from '../src/wasm/backend.js';
export { relaxedSimdSupported } from '../src/wasm/simd.js';
export type { WasmSimd } from '../src/wasm/simd.js';
export { FAMILIES, isVectorFile, runConformance } from '../src/conformance/run.js';
export type { ConformanceOptions, ConformanceSummary, VectorFile } from '../src/conformance/run.js';
