// The package entry for edge runtimes (the "workerd", "worker" and "edge-light" export conditions): the
// runtime-independent API plus the edge host's createBackend. Built by tsup into dist/edge.js, whose
// .wasm imports stay imports of the files beside it (dist/*.wasm), which edge runtimes and their
// bundlers (wrangler) load as precompiled modules.
export * from '../../src/index.js';
export { createBackend } from './backend.js';
export { chooseBackend, detectRuntime } from '../detect.js';
export type { BackendFactories, CreateBackendOptions, RuntimeName } from '../detect.js';
export { createWebGpuBackend } from '../../src/webgpu/backend.js';
export { createWasmBackend } from '../../src/wasm/backend.js';
export { runConformance } from '../../src/conformance/run.js';
export type { ConformanceOptions, ConformanceSummary, VectorFile } from '../../src/conformance/run.js';
