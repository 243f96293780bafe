// Node: WebGPU comes from the `webgpu` npm package (Google's Dawn, built as a Node addon). It is
// loaded here only, with a dynamic import whose specifier bundlers and Deno do not follow, so no other
// runtime ever loads it. Dawn finds the system's Vulkan (Linux), Metal (macOS) or D3D12 (Windows)
// driver; on a machine without a GPU, Mesa's lavapipe Vulkan driver works.
//
// Lifetime (dawn.node, webgpu 0.6.2): the GPU object that `create()` returns must outlive every
// adapter and device made from it, or the process aborts at device.destroy() or at exit; the WebGPU
// backend holds its GPU object for that reason (src/webgpu/device.ts).
//
// Exit: the package's README warns that a live `create()` result may keep Node from exiting
// (crbug.com/387965810). With 0.6.2 on lavapipe a process exits on its own in every case we tried
// (device destroyed, never destroyed, destroyed with a mapAsync pending, GPU object kept in a global),
// so nothing more is needed: after backend.destroy() the CLI ends by returning, never process.exit().

import { BackendError } from '../../src/backend.js';
import type { Backend } from '../../src/backend.js';
import { chooseBackend, type CreateBackendOptions } from '../detect.js';
import { nodeThreads } from './threads.js';

interface DawnModule {
  create(flags: string[]): GPU;
  globals: Record<string, unknown>;
}

let dawn: Promise<DawnModule> | undefined;

/** A new Dawn GPU object. Throws a BackendError with the fix if the addon cannot be loaded. */
export async function nodeGpu(): Promise<GPU> {
  dawn ??= loadDawn().catch((e) => {
    dawn = undefined; // let a later call retry (e.g. after the fix)
    throw e;
  });
  return (await dawn).create([]);
}

async function loadDawn(): Promise<DawnModule> {
  const specifier = 'webgpu'; // a variable, so bundlers and Deno's module graph leave it alone
  let mod: DawnModule;
  try {
    mod = (await import(/* @vite-ignore */ specifier)) as DawnModule;
  } catch (e) {
    throw new BackendError(
      `the \`webgpu\` package (Dawn for Node) failed to load: ${(e as Error).message}. Fix: npm install webgpu (an optional peer dependency of snell-js) ` +
        `(npm ≥ 11 runs its install script only if allowed: "allowScripts": { "webgpu": true } in package.json; ` +
        `it ships builds for linux-x64, linux-arm64, darwin, win32-x64 and win32-arm64, this is ` +
        `${process.platform}-${process.arch}), or use the Wasm backend (prefer: 'wasm', CLI: --backend wasm)`,
    );
  }
  // WebGPU's constant namespaces (GPUBufferUsage, GPUMapMode, …) and classes, as browsers provide them.
  for (const [name, value] of Object.entries(mod.globals)) {
    if (!(name in globalThis)) Object.defineProperty(globalThis, name, { value, writable: true, configurable: true });
  }
  return mod;
}

/** A backend for Node: WebGPU (Dawn) when an adapter exists, else Wasm on worker_threads (see chooseBackend). */
export function createBackend(options: CreateBackendOptions = {}): Promise<Backend> {
  return chooseBackend(nodeGpu, { ...options, runtime: 'node', threadHost: nodeThreads });
}
