// The package entry for browser (the "browser" export condition): the runtime-independent API plus this host's
// createBackend. Built by tsup into dist/browser.js.
export * from '../index.js';
export { createBackend } from '../../runtimes/browser.js';
export { chooseBackend, detectRuntime } from '../../runtimes/detect.js';
export type { BackendFactories, CreateBackendOptions, RuntimeName } from '../../runtimes/detect.js';
export { createWebGpuBackend } from '../webgpu/backend.js';
export { createWasmBackend } from '../wasm/backend.js';
export { runConformance } from '../conformance/run.js';
export type { ConformanceOptions, ConformanceSummary, VectorFile } from '../conformance/run.js';
// images from the page: dropped files decoded by the platform
export { loadImageFolderFiles } from '../data/folder-browser.js';
export { decodeBrowser } from '../data/decode-browser.js';
