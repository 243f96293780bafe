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
// file system access (node:fs, which Deno 2 provides too)
export { fileSource, nodeFolder, writeAtomic } from '../io/source-node.js';
export { loadFashionMnist, loadMnist } from '../data/packaged-node.js';
export { loadImageFolder } from '../data/folder-node.js';
export { decodeNode } from '../data/decode-node.js';
