// Browsers and workers: navigator.gpu, which exists only in a secure context (https:// or
// http://localhost) of a browser that ships WebGPU.

import type { Backend } from '../../src/backend.js';
import { chooseBackend, type CreateBackendOptions } from '../detect.js';
import { webThreads } from './threads.js';

/** navigator.gpu, or undefined (the fallback reason then names secure contexts and browser support). */
export async function browserGpu(): Promise<GPU | undefined> {
  return (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
}

/** A backend for browsers and workers: WebGPU when an adapter exists, else Wasm on Web Workers (see chooseBackend). */
export function createBackend(options: CreateBackendOptions = {}): Promise<Backend> {
  return chooseBackend(browserGpu, { ...options, runtime: 'browser', threadHost: webThreads() });
}
