// Tensors and the buffers behind them. A released buffer may still be used by commands encoded but
// not yet submitted, so it waits in `pending` until the next submit; after that, later commands are
// ordered after the ones that used it, and it is kept for reuse (up to a byte budget) or destroyed.

import type { DType, Tensor } from '../backend.js';

/** GPUBufferUsage values (spec constants; no host globals needed). */
export const USAGE = { MAP_READ: 0x1, MAP_WRITE: 0x2, COPY_SRC: 0x4, COPY_DST: 0x8, UNIFORM: 0x40, STORAGE: 0x80 } as const;
const TENSOR_USAGE = USAGE.STORAGE | USAGE.COPY_SRC | USAGE.COPY_DST;

export class GpuTensor implements Tensor {
  readonly size: number;
  /** null once freed. */
  buffer: GPUBuffer | null;

  constructor(readonly shape: readonly number[], readonly dtype: DType, buffer: GPUBuffer, readonly owner: object) {
    this.size = shape.reduce((a, b) => a * b, 1);
    this.buffer = buffer;
  }

  /** Bytes the tensor's data occupies (at least 4: WebGPU binds no empty range). */
  get bytes(): number {
    return Math.max(4, this.size * 4);
  }
}

export interface PoolStats {
  /** Buffers handed out and not yet released. */
  liveBuffers: number;
  liveBytes: number;
  /** Released buffers waiting for the next submit. */
  pendingRelease: number;
  /** Released buffers kept for reuse. */
  pooledBuffers: number;
  pooledBytes: number;
}

export class BufferPool {
  private readonly live = new Set<GPUBuffer>();
  private readonly pending: GPUBuffer[] = [];
  private readonly reusable = new Map<number, GPUBuffer[]>();
  private pooledBytes = 0;

  constructor(private readonly device: GPUDevice, private readonly maxPooledBytes = 256 * 2 ** 20) {}

  /** A tensor-usage buffer of at least `bytes`; `fresh` buffers are zero-filled, reused ones are not. */
  acquire(bytes: number): { buffer: GPUBuffer; fresh: boolean } {
    const size = roundUp(Math.max(bytes, 4), 16);
    const reused = this.reusable.get(size)?.pop();
    if (reused) {
      this.pooledBytes -= size;
      this.live.add(reused);
      return { buffer: reused, fresh: false };
    }
    const buffer = this.device.createBuffer({ size, usage: TENSOR_USAGE, label: 'snell-js tensor' });
    this.live.add(buffer);
    return { buffer, fresh: true };
  }

  /** Releases a buffer; it becomes reusable only after the next submit. */
  release(buffer: GPUBuffer): void {
    if (this.live.delete(buffer)) this.pending.push(buffer);
  }

  /** Call right after a submit: buffers released before it are now safe to reuse or destroy. */
  afterSubmit(): void {
    for (const buffer of this.pending.splice(0)) {
      if (this.pooledBytes + buffer.size > this.maxPooledBytes) {
        buffer.destroy();
        continue;
      }
      const list = this.reusable.get(buffer.size) ?? [];
      list.push(buffer);
      this.reusable.set(buffer.size, list);
      this.pooledBytes += buffer.size;
    }
  }

  stats(): PoolStats {
    let liveBytes = 0;
    for (const b of this.live) liveBytes += b.size;
    let pooledBuffers = 0;
    for (const list of this.reusable.values()) pooledBuffers += list.length;
    return { liveBuffers: this.live.size, liveBytes, pendingRelease: this.pending.length, pooledBuffers, pooledBytes: this.pooledBytes };
  }

  destroyAll(): void {
    for (const b of this.live) b.destroy();
    for (const b of this.pending) b.destroy();
    for (const list of this.reusable.values()) for (const b of list) b.destroy();
    this.live.clear();
    this.pending.length = 0;
    this.reusable.clear();
    this.pooledBytes = 0;
  }
}

export function roundUp(x: number, multiple: number): number {
  return Math.ceil(x / multiple) * multiple;
}
