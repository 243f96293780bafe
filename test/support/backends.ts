// Both backends as the Node tests create them: Wasm, and WebGPU from Dawn (the `webgpu` package).

import { create, globals } from 'webgpu';
import type { Backend } from '../../src/backend.js';
import { createWasmBackend } from '../../src/wasm/backend.js';
import { createWebGpuBackend } from '../../src/webgpu/backend.js';

Object.assign(globalThis, globals);

export const createNodeWebGpu = (): Promise<Backend> => createWebGpuBackend(create([]));

export const BACKENDS: ReadonlyArray<readonly [string, () => Promise<Backend>]> = [
  ['wasm', createWasmBackend],
  ['webgpu', createNodeWebGpu],
];
