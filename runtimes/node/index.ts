// The package entry for node (the "node" and "bun" export conditions): the runtime-independent API
// plus this host's createBackend, files, packaged data sets, image folders and decoder. Built by tsup
// into dist/node.js.
export * from '../../src/index.js';
export { createBackend } from './backend.js';
export { chooseBackend, detectRuntime } from '../detect.js';
export type { BackendFactories, CreateBackendOptions, RuntimeName } from '../detect.js';
export { createWebGpuBackend } from '../../src/webgpu/backend.js';
export { createWasmBackend } from '../../src/wasm/backend.js';
export { runConformance } from '../../src/conformance/run.js';
export type { ConformanceOptions, ConformanceSummary, VectorFile } from '../../src/conformance/run.js';
// file system access (node:fs, which Deno 2 and Bun provide too)
export { fileSource, nodeFolder, writeAtomic } from './files.js';
export { loadFashionMnist, loadMnist } from './packaged.js';
export { loadImageFolder } from './image-folder.js';
export { decodeNode } from './decode.js';
