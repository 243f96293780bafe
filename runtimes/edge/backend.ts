// Edge runtimes (Cloudflare Workers and workerd, Vercel Edge, other service-worker-style hosts): no
// workers and no Wasm compiled at run time. The edge build (dist/edge.js) imports the kernels as
// .wasm files, which these hosts hand over as precompiled WebAssembly.Modules, and runs them on one
// thread; WebGPU is used where the host has navigator.gpu.

import type { Backend } from '../../src/backend.js';
import { createWasmBackend } from '../../src/wasm/backend.js';
import { createWebGpuBackend } from '../../src/webgpu/backend.js';
import { browserGpu } from '../browser/backend.js';
import { type BackendFactories, chooseBackend, type CreateBackendOptions } from '../detect.js';

const EDGE: BackendFactories = {
  webgpu: createWebGpuBackend,
  wasm: (options) => createWasmBackend({ ...options, singleThreadReason: 'edge runtime: no workers' }),
};

/** A backend for edge runtimes: WebGPU when the host has an adapter, else Wasm on one thread. */
export function createBackend(options: CreateBackendOptions = {}): Promise<Backend> {
  return chooseBackend(browserGpu, { ...options, runtime: 'browser', threadHost: null }, EDGE);
}
