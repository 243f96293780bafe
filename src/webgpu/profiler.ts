// GPU time per kernel from timestamp queries (the adapter feature 'timestamp-query'), for profiling only.
// When on, every dispatch runs in a compute pass of its own whose beginning and end write two
// timestamps; at each submit the timestamps are resolved and copied to a mappable buffer, read back
// later and summed per pipeline key (family/entry/constants). Separate passes cost a little, so the
// total is slightly above an unprofiled run; the split between kernels is what this is for.

import { USAGE } from './pool.js';

const QUERIES_PER_SET = 4096; // the WebGPU limit on a query set's size; two queries per dispatch
const QUERY_RESOLVE = 0x200; // GPUBufferUsage.QUERY_RESOLVE

export interface KernelTime {
  /** Pipeline key: kernel family / entry point / override constants. */
  kernel: string;
  dispatches: number;
  /** Summed GPU time between the start and end of the kernel's passes. */
  ms: number;
}

interface OpenSet {
  querySet: GPUQuerySet;
  labels: string[];
}

export class GpuProfiler {
  private open: OpenSet | null = null;
  private readonly closed: OpenSet[] = [];
  private readonly staged: Array<{ set: OpenSet; resolved: GPUBuffer; readback: GPUBuffer }> = [];
  private readonly pending: Array<Promise<void>> = [];
  private readonly totals = new Map<string, { dispatches: number; ns: bigint }>();

  constructor(private readonly device: GPUDevice) {}

  /** timestampWrites for the pass of one dispatch of `kernel`. */
  passTimestamps(kernel: string): GPUComputePassTimestampWrites {
    if (this.open && this.open.labels.length * 2 === QUERIES_PER_SET) {
      this.closed.push(this.open);
      this.open = null;
    }
    this.open ??= { querySet: this.device.createQuerySet({ type: 'timestamp', count: QUERIES_PER_SET }), labels: [] };
    const i = this.open.labels.length;
    this.open.labels.push(kernel);
    return { querySet: this.open.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 };
  }

  /** Encodes the resolve of every query written since the last submit; call just before finishing `encoder`, and submitted() after the submit. */
  resolve(encoder: GPUCommandEncoder): void {
    if (this.open) this.closed.push(this.open);
    this.open = null;
    for (const set of this.closed.splice(0)) {
      const bytes = set.labels.length * 16;
      const resolved = this.device.createBuffer({ size: bytes, usage: QUERY_RESOLVE | USAGE.COPY_SRC });
      const readback = this.device.createBuffer({ size: bytes, usage: USAGE.MAP_READ | USAGE.COPY_DST });
      encoder.resolveQuerySet(set.querySet, 0, set.labels.length * 2, resolved, 0);
      encoder.copyBufferToBuffer(resolved, 0, readback, 0, bytes);
      this.staged.push({ set, resolved, readback });
    }
  }

  /** Starts reading back what resolve() encoded (a buffer can only be mapped once its copy is submitted). */
  submitted(): void {
    for (const { set, resolved, readback } of this.staged.splice(0)) this.pending.push(this.collect(set, resolved, readback));
  }

  /** Kernel times summed over everything submitted so far, largest first; `reset` clears them. */
  async report({ reset = false } = {}): Promise<KernelTime[]> {
    await Promise.all(this.pending.splice(0));
    const out = [...this.totals].map(([kernel, t]) => ({ kernel, dispatches: t.dispatches, ms: Number(t.ns) / 1e6 }));
    if (reset) this.totals.clear();
    return out.sort((a, b) => b.ms - a.ms);
  }

  private async collect(set: OpenSet, resolved: GPUBuffer, readback: GPUBuffer): Promise<void> {
    await readback.mapAsync(USAGE.MAP_READ);
    const stamps = new BigUint64Array(readback.getMappedRange().slice(0));
    readback.destroy();
    resolved.destroy();
    set.querySet.destroy();
    set.labels.forEach((kernel, i) => {
      const [begin, end] = [stamps[2 * i], stamps[2 * i + 1]];
      const t = this.totals.get(kernel) ?? { dispatches: 0, ns: 0n };
      t.dispatches++;
      t.ns += end > begin ? end - begin : 0n;
      this.totals.set(kernel, t);
    });
  }
}
