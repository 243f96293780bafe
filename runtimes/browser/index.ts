// The package entry for browser (the "browser" and "default" export conditions, and the types of
// dist/index.d.ts): the runtime-independent API plus this host's createBackend, and images from the
// page: dropped files decoded by the platform. Built by tsup into dist/browser.js.
export * from '../../src/index.js';
export { createBackend } from './backend.js';
export { chooseBackend, detectRuntime } from '../detect.js';
export type { BackendFactories, CreateBackendOptions, RuntimeName } from '../detect.js';
export { createWebGpuBackend } from '../../src/webgpu/backend.js';
export { createWasmBackend } from '../../src/wasm/backend.js';
export { runConformance } from '../../src/conformance/run.js';
export type { ConformanceOptions, ConformanceSummary, VectorFile } from '../../src/conformance/run.js';
export { loadImageFolderFiles } from './image-folder.js';
export { decodeBrowser } from './decode.js';
