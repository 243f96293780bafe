// Worker threads for the wasm backend in browsers: module Web Workers from a Blob URL of the
// worker's source (nothing is fetched). Browsers give the backend shared memory, and so
// threads, only on cross-origin isolated pages (COOP: same-origin, COEP: require-corp); elsewhere
// the backend runs on one thread.

import type { HostWorker, ThreadHost } from '../../src/wasm/threads.js';

interface WebGlobals {
  navigator?: { hardwareConcurrency?: number };
  Worker?: typeof Worker;
  crossOriginIsolated?: boolean;
}

/** The Web Worker host, or null where this global scope cannot start workers. */
export function webThreads(g: object = globalThis): ThreadHost | null {
  const { navigator, Worker: WorkerClass, crossOriginIsolated } = g as WebGlobals;
  if (!WorkerClass || crossOriginIsolated === false) return null;
  return {
    cores: navigator?.hardwareConcurrency ?? 1,
    spawn(source, init) {
      const url = URL.createObjectURL(
        new Blob(
          [
            `self.onmessage = (e) => { self.onmessage = null; (${source})(e.data, (error) => self.postMessage(error ?? 'ready')); };`,
          ],
          { type: 'text/javascript' },
        ),
      );
      const worker = new WorkerClass(url, { type: 'module' });
      return new Promise<HostWorker>((resolve, reject) => {
        const settle = (error?: string) => {
          URL.revokeObjectURL(url);
          worker.onmessage = worker.onerror = null;
          if (error === undefined) resolve({ terminate: () => worker.terminate() });
          else {
            worker.terminate();
            reject(new Error(error));
          }
        };
        worker.onmessage = (e: MessageEvent<string>) => settle(e.data === 'ready' ? undefined : e.data);
        worker.onerror = (e: ErrorEvent) => {
          e.preventDefault();
          settle(e.message || 'the worker script failed to load');
        };
        worker.postMessage(init);
      });
    },
  };
}
