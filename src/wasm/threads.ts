// The wasm backend's thread pool: size − 1 workers, each with its own instance of the shared-memory
// build on the caller's memory, plus the calling thread. Backend primitives are synchronous, so a
// round is: the caller writes one call per worker into the workers' slots of the control block,
// bumps the generation word and notifies, runs call 0 itself, then waits until the pending word is
// 0 (Atomics.wait where the host lets this thread block: Node and Deno main threads, workers; a spin
// on the browser's main thread, which refuses to). Calls of a round touch disjoint outputs, so the
// result never depends on timing. Protocol and worker side: worker.ts.
//
// Control block (controlBytes(size) at `control`, 64-byte aligned):
//   bytes 0 … 63                Int32 generation, pending, failed
//   64 + 192·(t − 1) … (t ≥ 1)  slot of worker t: Float64 kernel, argument count, ≤ 22 arguments
// How workers are started is the host's business (runtimes/: worker_threads in Node, Web Workers in
// Deno and browsers); a backend without a ThreadHost runs on one thread.

import { BackendError } from '../backend.js';
import type { SnellExports } from './instance.js';
import { type WorkerInit, workerMain } from './worker.js';

/** Kernels a round may run (their index in this list is what a slot holds). */
export const PARALLEL_KERNELS = [
  'merge',
  'mergeBackward',
  'mergeBackwardReduce',
  'sparsify',
  'sparsifyBackward',
  'addBias',
  'gemm',
  'packPanels',
  'sparseProduct',
  'keptGradient',
  'attention',
  'attentionBackward',
  'tokenCrossEntropyRows',
  'layerNorm',
  'gelu',
  'geluBackward',
  'dropout',
  'zero',
  'copy',
  'add',
  'addInto',
  'rmsNorm',
  'rope',
  'siluMul',
  'siluMulBackward',
  'geluTanh',
  'geluTanhBackward',
  'addTransposed',
] as const;
export type ParallelKernel = (typeof PARALLEL_KERNELS)[number];

/** One worker as its host started it. */
export interface HostWorker {
  terminate(): void;
}

/** How a runtime starts workers (runtimes/node/threads.ts, runtimes/browser/threads.ts). */
export interface ThreadHost {
  /** Logical cores the runtime reports: the default thread count. */
  readonly cores: number;
  /**
   * Starts a worker that evaluates `source` (an expression for workerMain), calls it with `init`
   * (structured-cloned) and a `ready` callback, and resolves once ready() was called without an
   * error; rejects with the message otherwise.
   */
  spawn(source: string, init: WorkerInit): Promise<HostWorker>;
}

const SLOT_BYTES = 192;
const SLOT_LENGTH = SLOT_BYTES / 8;
const GENERATION = 0;
const PENDING = 1;
const FAILED = 2;
/**
 * Milliseconds a thread polls before sleeping in Atomics.wait: a wake-up from sleep costs 0.1–0.2 ms,
 * while a training step issues a round every few milliseconds, so workers between rounds and the
 * caller waiting for a slower piece poll (their cores have nothing else to do) and only sleep when
 * the backend goes quiet.
 */
const SPIN_MS = 2;

export class ThreadPool {
  private readonly sync: Int32Array;
  private readonly slots: Float64Array[];
  private readonly canBlock: boolean;

  private constructor(
    private readonly wasm: SnellExports,
    private readonly workers: HostWorker[],
    control: number,
  ) {
    const buffer = wasm.memory.buffer;
    this.sync = new Int32Array(buffer, control, 3);
    this.slots = workers.map((_, i) => new Float64Array(buffer, control + 64 + i * SLOT_BYTES, SLOT_LENGTH));
    this.canBlock = agentCanBlock(this.sync);
  }

  /** Bytes of the control block for a pool of `size` threads. */
  static controlBytes(size: number): number {
    return 64 + (size - 1) * SLOT_BYTES;
  }

  /** Starts size − 1 workers on the memory of `wasm` (an instance of the shared-memory build). */
  static async start(
    host: ThreadHost,
    wasm: SnellExports,
    bytes: Uint8Array,
    control: number,
    size: number,
  ): Promise<ThreadPool> {
    const source = workerMain.toString();
    const started = await Promise.allSettled(
      Array.from({ length: size - 1 }, (_, i) =>
        host.spawn(source, {
          bytes,
          memory: wasm.memory,
          kernels: PARALLEL_KERNELS,
          control,
          slot: control + 64 + i * SLOT_BYTES,
          slotLength: SLOT_LENGTH,
          spinMs: SPIN_MS,
        }),
      ),
    );
    const workers = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const failure = started.find((r) => r.status === 'rejected');
    if (failure) {
      for (const w of workers) w.terminate();
      const why = (failure as PromiseRejectedResult).reason;
      throw new BackendError(
        `wasm backend: a worker thread failed to start: ${why instanceof Error ? why.message : String(why)}. ` +
          'Fix: create the backend with threads: 1',
      );
    }
    return new ThreadPool(wasm, workers, control);
  }

  /** Threads, the caller included. */
  get size(): number {
    return this.workers.length + 1;
  }

  /** Runs `kernel` once per argument list, list 0 on this thread; returns when all are done. */
  run(kernel: ParallelKernel, calls: readonly (readonly number[])[]): void {
    const fn = this.wasm[kernel] as (...args: number[]) => void;
    if (calls.length <= 1) {
      if (calls.length === 1) fn(...calls[0]);
      return;
    }
    if (calls.length > this.size) throw new Error(`ThreadPool.run: ${calls.length} calls for ${this.size} threads`);
    const op = PARALLEL_KERNELS.indexOf(kernel);
    this.slots.forEach((slot, i) => {
      const args = calls[i + 1];
      slot[0] = args ? op : -1;
      if (args) {
        slot[1] = args.length;
        slot.set(args, 2);
      }
    });
    const sync = this.sync;
    Atomics.store(sync, PENDING, this.workers.length);
    Atomics.add(sync, GENERATION, 1);
    Atomics.notify(sync, GENERATION);
    fn(...calls[0]);
    const until = performance.now() + SPIN_MS;
    for (let left = Atomics.load(sync, PENDING); left !== 0; left = Atomics.load(sync, PENDING)) {
      if (this.canBlock && performance.now() > until) Atomics.wait(sync, PENDING, left);
    }
    if (Atomics.exchange(sync, FAILED, 0) !== 0) {
      throw new BackendError(
        `wasm backend: a worker thread failed in ${kernel}: the backend may be inconsistent, create a new one`,
      );
    }
  }

  /** Stops and ends the workers. */
  destroy(): void {
    for (const slot of this.slots) slot[0] = -2;
    Atomics.store(this.sync, PENDING, this.workers.length);
    Atomics.add(this.sync, GENERATION, 1);
    Atomics.notify(this.sync, GENERATION);
    for (const w of this.workers) w.terminate();
  }
}

/** Whether this thread may block in Atomics.wait (a browser's main thread may not). */
function agentCanBlock(sync: Int32Array): boolean {
  try {
    Atomics.wait(sync, GENERATION, Atomics.load(sync, GENERATION) + 1, 0);
    return true;
  } catch {
    return false;
  }
}
