// The body of every worker of the wasm backend's thread pool (threads.ts). It is shipped as source
// text (workerMain.toString()), so it must stay self-contained: no imports, no outer names, only
// what every host gives a worker (WebAssembly, Atomics, typed arrays, performance).
//
// The worker instantiates the shared-memory build on the caller's memory, says ready, then serves
// rounds until told to stop. Control block (Int32 words at `control`, see threads.ts):
//   [0] generation  bumped by the caller to start a round; the worker Atomics.waits on it
//   [1] pending     workers still busy in this round; the one that brings it to 0 notifies
//   [2] failed      set to 1 by a worker whose call threw
// and the worker's own slot (Float64 at `slot`): [0] kernel index (−1 nothing, −2 stop),
// [1] argument count, [2 …] the arguments.

/** What the caller sends a new worker (structured-cloned). */
export interface WorkerInit {
  bytes: Uint8Array;
  memory: WebAssembly.Memory;
  kernels: readonly string[];
  control: number;
  slot: number;
  slotLength: number;
  /** Milliseconds to poll the generation word after a round before sleeping in Atomics.wait. */
  spinMs: number;
}

/** Runs in the worker: `ready()` once serving, or `ready(message)` when the module failed to start. */
export function workerMain(init: WorkerInit, ready: (error?: string) => void): void {
  let exports: WebAssembly.Exports;
  try {
    exports = new WebAssembly.Instance(new WebAssembly.Module(init.bytes as Uint8Array<ArrayBuffer>), {
      env: { memory: init.memory },
    }).exports;
  } catch (e) {
    ready(String(e));
    return;
  }
  const fns = init.kernels.map((k) => exports[k] as (...args: number[]) => void);
  const sync = new Int32Array(init.memory.buffer, init.control, 3);
  const slot = new Float64Array(init.memory.buffer, init.slot, init.slotLength);
  let generation = Atomics.load(sync, 0); // before ready(): the caller may start a round right after
  ready();
  for (;;) {
    const until = performance.now() + init.spinMs;
    while (Atomics.load(sync, 0) === generation) if (performance.now() > until) Atomics.wait(sync, 0, generation);
    generation = Atomics.load(sync, 0);
    const op = slot[0];
    if (op === -2) return;
    if (op >= 0) {
      try {
        fns[op](...Array.from(slot.subarray(2, 2 + slot[1])));
      } catch {
        Atomics.store(sync, 2, 1);
      }
    }
    if (Atomics.sub(sync, 1, 1) === 1) Atomics.notify(sync, 1);
  }
}
