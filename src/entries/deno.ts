// The package entry for deno (the "deno" export condition): the runtime-independent API plus this host's
// createBackend. Built by tsup into dist/deno.js.
export * from '../index.js';
export { createBackend } from '../../runtimes/deno.js';
export { chooseBackend, detectRuntime } from '../../runtimes/detect.js';
export type { BackendFactories, CreateBackendOptions, RuntimeName } from '../../runtimes/detect.js';
export { createWebGpuBackend } from '../webgpu/backend.js';
export { createWasmBackend } from '../wasm/backend.js';
export { runConformance } from '../conformance/run.js';
export type { ConformanceOptions, ConformanceSummary, VectorFile } from '../conformance/run.js';
