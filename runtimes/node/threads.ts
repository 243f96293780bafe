// Worker threads for the wasm backend in Node and Deno: node:worker_threads (Deno implements it),
// with the worker's source evaluated as a script. Workers are unref'd, so a backend that was never
// destroyed does not keep the process alive (Deno's Web Workers cannot be unref'd, hence not those).

import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { HostWorker, ThreadHost } from '../../src/wasm/threads.js';

export const nodeThreads: ThreadHost = {
  cores: availableParallelism(),
  spawn(source, init) {
    const worker = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads');
(${source})(workerData, (error) => parentPort.postMessage(error ?? 'ready'));`,
      { eval: true, workerData: init },
    );
    worker.unref();
    return new Promise<HostWorker>((resolve, reject) => {
      worker.once('error', reject);
      worker.once('message', (m: string) => {
        if (m === 'ready') resolve({ terminate: () => void worker.terminate() });
        else {
          void worker.terminate();
          reject(new Error(m));
        }
      });
    });
  },
};
