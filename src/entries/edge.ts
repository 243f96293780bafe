// The package entry for edge runtimes (the "workerd", "worker" and "edge-light" export conditions): the
// runtime-independent API plus the edge host's createBackend. Built by tsup into dist/edge.js, whose
// .wasm imports stay imports of the files beside it (dist/*.wasm), which edge runtimes and their
// bundlers (wrangler) load as precompiled modules.
export * from '../index.js';
export { createBackend } from '../../runtimes/edge.js';
export { chooseBackend, detectRuntime } from '../../runtimes/detect.js';
export type { BackendFactories, CreateBackendOptions, RuntimeName } from '../../runtimes/detect.js';
export { createWebGpuBackend } from '../webgpu/backend.js';
export { createWasmBackend } from '../wasm/backend.js';
export { runConformance } from '../conformance/run.js';
export type { ConformanceOptions, ConformanceSummary, VectorFile } from '../conformance/run.js';
