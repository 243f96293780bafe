// Memory accounting: every tensor the engine allocates is counted in one pool, with live bytes and the
// peak per pool and in total. `tracked(backend, ledger)` returns the backend seen through the ledger:
// its allocations land in the pool currently selected with `ledger.within(pool, fn)`.

import type { Backend, Tensor } from '../backend.js';

/** `allocator`: SNELLA's moving importance averages (two per adapter factor entry). */
export type Pool = 'frozen' | 'trainable' | 'gradients' | 'optimizer' | 'allocator' | 'activations' | 'scratch';
export const POOLS: readonly Pool[] = ['frozen', 'trainable', 'gradients', 'optimizer', 'allocator', 'activations', 'scratch'];

export interface MemoryReport {
  /** Live bytes per pool now. */
  live: Record<Pool, number>;
  /** Largest live bytes each pool reached. */
  peak: Record<Pool, number>;
  /** Largest total live bytes reached (all pools at one moment). */
  peakTotal: number;
}

export class MemoryLedger {
  private readonly poolOf = new Map<Tensor, Pool>();
  private readonly live = Object.fromEntries(POOLS.map((p) => [p, 0])) as Record<Pool, number>;
  private readonly peak = Object.fromEntries(POOLS.map((p) => [p, 0])) as Record<Pool, number>;
  private total = 0;
  private peakTotal = 0;
  private current: Pool = 'scratch';

  /** Runs fn with new allocations counted in `pool`. */
  within<T>(pool: Pool, fn: () => T): T {
    const before = this.current;
    this.current = pool;
    try {
      return fn();
    } finally {
      this.current = before;
    }
  }

  /** Moves a live tensor to another pool (e.g. a scratch result kept as an activation). */
  move(t: Tensor, pool: Pool): void {
    const from = this.poolOf.get(t);
    if (from === undefined || from === pool) return;
    const bytes = t.size * 4;
    this.live[from] -= bytes;
    this.live[pool] += bytes;
    this.peak[pool] = Math.max(this.peak[pool], this.live[pool]);
    this.poolOf.set(t, pool);
  }

  added(t: Tensor): void {
    const bytes = t.size * 4;
    this.poolOf.set(t, this.current);
    this.live[this.current] += bytes;
    this.total += bytes;
    this.peak[this.current] = Math.max(this.peak[this.current], this.live[this.current]);
    this.peakTotal = Math.max(this.peakTotal, this.total);
  }

  removed(t: Tensor): void {
    const pool = this.poolOf.get(t);
    if (pool === undefined) return;
    this.poolOf.delete(t);
    this.live[pool] -= t.size * 4;
    this.total -= t.size * 4;
  }

  /** The live tensors of one pool, in allocation order. */
  tensorsIn(pool: Pool): Tensor[] {
    return [...this.poolOf].filter(([, p]) => p === pool).map(([t]) => t);
  }

  /** Every tensor still live, in allocation order. */
  liveTensors(): Tensor[] {
    return [...this.poolOf.keys()];
  }

  report(): MemoryReport {
    return { live: { ...this.live }, peak: { ...this.peak }, peakTotal: this.peakTotal };
  }
}

/** The backend with its allocations and frees recorded in `ledger`. */
export function tracked(backend: Backend, ledger: MemoryLedger): Backend {
  return new Proxy(backend, {
    get(target, key, receiver) {
      if (key === 'upload' || key === 'zeros') {
        return (...args: unknown[]) => {
          const t = (target[key] as (...a: unknown[]) => Tensor)(...args);
          ledger.added(t);
          return t;
        };
      }
      if (key === 'free') {
        return (t: Tensor) => {
          ledger.removed(t);
          target.free(t);
        };
      }
      const value = Reflect.get(target, key, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
