// Tensors and the buffers behind them. A released buffer may still be used by commands encoded but
// not yet submitted. Commands run in the order they are encoded, so a buffer that only encoded
// commands will write (a clear, a kernel's output, scratch) may be handed out again at once: its new
// writes come after its old uses. A queue write (upload) runs before everything encoded but not yet
// submitted, so such a buffer waits in `pending` until the next submit. After a submit, released
// buffers are kept for reuse up to a byte budget, the larger of a floor and the peak of live bytes
// (so the pool never holds more than the work itself needed at once), and destroyed beyond it.

import type { DType, Tensor } from '../backend.js';

/** GPUBufferUsage values (spec constants; no host globals needed). */
export const USAGE = { MAP_READ: 0x1, MAP_WRITE: 0x2, COPY_SRC: 0x4, COPY_DST: 0x8, UNIFORM: 0x40, STORAGE: 0x80 } as const;
const TENSOR_USAGE = USAGE.STORAGE | USAGE.COPY_SRC | USAGE.COPY_DST;

export class GpuTensor implements Tensor {
  readonly size: number;
  /** null once freed. */
  buffer: GPUBuffer | null;

  constructor(
    readonly shape: readonly number[],
    readonly dtype: DType,
    buffer: GPUBuffer,
    readonly owner: object,
  ) {
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
  /** Released since the last submit, by size. */
  private readonly pending = new Map<number, GPUBuffer[]>();
  private readonly reusable = new Map<number, GPUBuffer[]>();
  private pooledBytes = 0;
  private liveBytes = 0;
  private peakLiveBytes = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly minPooledBytes = 256 * 2 ** 20,
  ) {}

  /**
   * A tensor-usage buffer of at least `bytes`; `fresh` buffers are zero-filled, reused ones are not.
   * `encodedWritesOnly`: the caller writes it only through encoded commands (never a queue write), so a
   * buffer released before the next submit may serve.
   */
  acquire(bytes: number, { encodedWritesOnly = false } = {}): { buffer: GPUBuffer; fresh: boolean } {
    const size = roundUp(Math.max(bytes, 4), 16);
    let buffer = this.reusable.get(size)?.pop();
    if (buffer) this.pooledBytes -= size;
    else if (encodedWritesOnly) buffer = this.pending.get(size)?.pop();
    const fresh = !buffer;
    buffer ??= this.device.createBuffer({ size, usage: TENSOR_USAGE, label: 'snell-js tensor' });
    this.live.add(buffer);
    this.liveBytes += size;
    this.peakLiveBytes = Math.max(this.peakLiveBytes, this.liveBytes);
    return { buffer, fresh };
  }

  /** Releases a buffer: reusable at once by encoded writes, by any caller after the next submit. */
  release(buffer: GPUBuffer): void {
    if (!this.live.delete(buffer)) return;
    this.liveBytes -= buffer.size;
    push(this.pending, buffer);
  }

  /** Call right after a submit: buffers released before it are now safe to reuse or destroy. */
  afterSubmit(): void {
    const budget = Math.max(this.minPooledBytes, this.peakLiveBytes);
    for (const list of this.pending.values()) {
      for (const buffer of list) {
        if (this.pooledBytes + buffer.size > budget) {
          buffer.destroy();
          continue;
        }
        push(this.reusable, buffer);
        this.pooledBytes += buffer.size;
      }
    }
    this.pending.clear();
  }

  stats(): PoolStats {
    let pooledBuffers = 0;
    for (const list of this.reusable.values()) pooledBuffers += list.length;
    let pendingRelease = 0;
    for (const list of this.pending.values()) pendingRelease += list.length;
    return {
      liveBuffers: this.live.size,
      liveBytes: this.liveBytes,
      pendingRelease,
      pooledBuffers,
      pooledBytes: this.pooledBytes,
    };
  }

  destroyAll(): void {
    for (const b of this.live) b.destroy();
    for (const lists of [this.pending, this.reusable]) for (const list of lists.values()) for (const b of list) b.destroy();
    this.live.clear();
    this.pending.clear();
    this.reusable.clear();
    this.pooledBytes = this.liveBytes = 0;
  }
}

function push(lists: Map<number, GPUBuffer[]>, buffer: GPUBuffer): void {
  const list = lists.get(buffer.size);
  if (list) list.push(buffer);
  else lists.set(buffer.size, [buffer]);
}

export function roundUp(x: number, multiple: number): number {
  return Math.ceil(x / multiple) * multiple;
}
