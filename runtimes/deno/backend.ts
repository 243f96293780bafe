// Deno: WebGPU is built in (navigator.gpu, wgpu underneath; Deno ≥ 2 without a flag). Deno finds the
// system's Vulkan (Linux), Metal (macOS) or D3D12 (Windows) driver; Mesa's lavapipe works without a GPU.

import type { Backend } from '../../src/backend.js';
import { chooseBackend, type CreateBackendOptions } from '../detect.js';
import { nodeThreads } from '../node/threads.js';

/** navigator.gpu, or undefined when this Deno has none. */
export async function denoGpu(): Promise<GPU | undefined> {
  return (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
}

/** A backend for Deno: WebGPU when an adapter exists, else Wasm on worker threads (see chooseBackend). */
export function createBackend(options: CreateBackendOptions = {}): Promise<Backend> {
  return chooseBackend(denoGpu, { ...options, runtime: 'deno', threadHost: nodeThreads });
}
