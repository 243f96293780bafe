// The wasm backend: the contract of src/backend.ts (checked in src/contract) on the CPU, executed by
// WasmExecutor (executor.ts) on the kernels of assembly/ in the module's linear memory (memory.ts).
// Threads: given a ThreadHost (runtimes/ pass one) and shared memory, the big primitives run cut
// into per-thread calls on a ThreadPool (threads.ts); without a host or shared memory: one thread.

import { type Backend, BackendError } from '../backend.js';
import { CheckedBackend } from '../contract/checked.js';
import { WasmExecutor } from './executor.js';
import { instantiateShared, instantiateSnell, sharedMemory, sharedModule, singleModule } from './instance.js';
import { simdPath, type WasmSimd } from './simd.js';
import { type ThreadHost, ThreadPool } from './threads.js';

export interface WasmBackendOptions {
  /** Threads to run kernels on, the calling one included (default: the host's cores; 1 without a host). */
  threads?: number;
  /** How this runtime starts workers (runtimes/ pass theirs); without one the backend uses one thread. */
  host?: ThreadHost;
  /**
   * The single-thread kernels module compiled ahead (`import snell from 'snell-js/snell.wasm'` where a
   * bundler or an edge runtime gives a WebAssembly.Module), for hosts that compile no Wasm at run time.
   * It runs on one thread.
   */
  module?: WebAssembly.Module;
  /**
   * Which build of the kernels to run (simd.ts): 'auto' (default) the relaxed-SIMD one (fused
   * multiply-add) where the engine validates it, else plain simd128; 'relaxed' or 'plain' forces one
   * ('relaxed' is an error where the engine lacks it). A precompiled `module` is the build it is.
   */
  simd?: WasmSimd;
  /** Why this backend runs on one thread, said in `description` (e.g. an edge runtime has no workers). */
  singleThreadReason?: string;
}

/**
 * Creates a wasm backend with its own module instance and memory: shared with threads − 1 workers
 * when there is a host, more than one thread is asked for and the runtime has shared memory. When
 * workers fail to start (e.g. a content security policy refusing blob: workers), an explicit
 * `threads` is an error; the default count falls back to one thread (`description` says so).
 */
export async function createWasmBackend(options: WasmBackendOptions = {}): Promise<Backend> {
  const { host, module } = options;
  const threads = options.threads ?? (module ? 1 : (host?.cores ?? 1));
  if (!Number.isInteger(threads) || threads < 1)
    throw new BackendError(`wasm backend: threads must be an integer ≥ 1, got ${threads}`);
  if (module && threads > 1) {
    throw new BackendError(
      `wasm backend: a precompiled module runs on one thread, ${threads} were asked for: leave threads unset or pass the bytes instead`,
    );
  }
  if (module && options.simd !== undefined) {
    throw new BackendError(
      'wasm backend: a precompiled module is the build it is, simd cannot choose another: leave simd unset or pass no module',
    );
  }
  const reason = options.singleThreadReason ?? (module ? 'precompiled module' : undefined);
  if (module) return new WasmBackend(new WasmExecutor(await instantiateSnell(module), null, undefined, reason));
  const path = simdPath(options.simd);
  const memory = host && threads > 1 ? sharedMemory() : null;
  if (host && memory) {
    const wasm = await instantiateShared(memory, path);
    const control = wasm.heapBase() >>> 0;
    const pool = await ThreadPool.start(host, wasm, sharedModule(path), control, threads).catch((e: unknown) => {
      if (options.threads !== undefined) throw e;
      return null;
    });
    if (pool) return new WasmBackend(new WasmExecutor(wasm, pool, control + ThreadPool.controlBytes(threads)));
  }
  return new WasmBackend(new WasmExecutor(await instantiateSnell(singleModule(path)), null, undefined, reason));
}

/** The checked wasm backend, plus what only it has: its thread count and memory statistics. */
export class WasmBackend extends CheckedBackend<WasmExecutor> {
  /** Threads the kernels run on, the calling one included. */
  get threads(): number {
    return this.executor.threads;
  }

  /** Bytes held by live tensors and scratch, and the size of the linear memory. */
  memoryStats(): { tensors: number; tensorBytes: number; scratchBytes: number; memoryBytes: number } {
    return this.executor.memory.stats();
  }
}
