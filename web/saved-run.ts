// The page's latest checkpoint, in the browser's IndexedDB (database "snell-js", store "runs", one
// record under "latest"): what the run was started with (settings, and the picked files themselves,
// which IndexedDB stores as Blobs), the adapter files as saveAdapter writes them (F32), AdamW's moments
// and step count, SNELLA's allocator state (its averages and the sparsities in force) with the latest
// allocation shown, the step reached and the chart so far. A reloaded or crashed tab reads it back and
// offers to resume; `Trainer.fit`'s resume continues from there exactly.

import type { AdamWSnapshot, AllocatorSnapshot, LayerAllocation } from 'snell-js';
import type { ChartData } from './chart.js';
import type { StartRequest } from './protocol.js';

export interface SavedRun {
  request: StartRequest;
  /** Steps completed. */
  step: number;
  stepsPerEpoch: number;
  adapter: Record<string, Blob>;
  optimizer: AdamWSnapshot;
  /** SNELLA's allocator, for a snella run. */
  allocator?: AllocatorSnapshot;
  /** The latest allocation, for the page to show again on resume. */
  allocation?: LayerAllocation | null;
  history: ChartData;
  savedAt: number;
}

const DB = 'snell-js';
const STORE = 'runs';
const KEY = 'latest';

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(new Error(`the browser's storage (IndexedDB) could not be opened: ${req.error?.message}`));
  });
}

/** One request on the store, in its own transaction; resolves once the transaction has committed. */
async function within<T>(mode: IDBTransactionMode, use: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await open();
  try {
    return await new Promise<T>((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const req = use(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(req.result);
      tx.onerror = tx.onabort = () =>
        reject(new Error(`the browser's storage (IndexedDB) refused the checkpoint: ${tx.error?.message ?? 'aborted'}`));
    });
  } finally {
    db.close();
  }
}

/** Replaces the saved run (one put: the old record stays whole until the new one has committed). */
export const saveRun = (run: SavedRun): Promise<unknown> => within('readwrite', (s) => s.put(run, KEY));

export const loadRun = async (): Promise<SavedRun | null> =>
  (await within('readonly', (s) => s.get(KEY) as IDBRequest<SavedRun | undefined>)) ?? null;

export const clearRun = (): Promise<unknown> => within('readwrite', (s) => s.delete(KEY));
