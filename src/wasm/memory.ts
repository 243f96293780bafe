// The wasm backend's linear memory: one 4 GiB wasm32 address space per backend, managed by
// LinearAllocator. Tensors are blocks of it; kernels that need scratch (packing for matmul, merge
// and attention, the merge backward's dB partials, dS of the attention backward, the float64 column
// sums of the layerNorm backward, sparsify's per-piece counts) share one block that only grows.
// Typed-array views are re-created whenever the memory has grown (its old ArrayBuffer is then
// detached, or for shared memory, a longer one replaces it).

import { BackendError, type DType } from '../backend.js';
import { sizeOf } from '../contract/shapes.js';
import { LinearAllocator } from './alloc.js';
import { WasmTensor } from './tensor.js';

const MiB = 2 ** 20;

export class WasmMemory {
  /** Largest element count one tensor may have. */
  readonly maxElements: number;
  private readonly heap: LinearAllocator;
  private readonly live = new Set<WasmTensor>();
  private buffer: ArrayBuffer | null = null;
  private f32view = new Float32Array(0);
  private u32view = new Uint32Array(0);
  private scratchPtr = 0;
  private scratchBytes = 0;

  /** Tensors start at byte `base`; `owner` is the backend their handles belong to. */
  constructor(
    private readonly memory: WebAssembly.Memory,
    base: number,
    private readonly owner: object,
  ) {
    this.heap = new LinearAllocator(memory, base);
    this.maxElements = Math.floor(this.heap.maxBlock / 4);
  }

  /** Bytes held by live tensors and scratch, and the size of the linear memory. */
  stats(): { tensors: number; tensorBytes: number; scratchBytes: number; memoryBytes: number } {
    return {
      tensors: this.live.size,
      tensorBytes: this.heap.used - (this.scratchBytes && LinearAllocator.round(this.scratchBytes)),
      scratchBytes: this.scratchBytes,
      memoryBytes: this.heap.capacity,
    };
  }

  /** A new tensor's block, or a BackendError saying why the memory has no room for it. */
  allocate(shape: readonly number[], dtype: DType): WasmTensor {
    const size = sizeOf(shape);
    const bytes = size * 4;
    const ptr = size <= this.maxElements ? this.heap.alloc(bytes) : -1;
    if (ptr < 0) {
      throw new BackendError(
        `wasm backend: cannot allocate ${dtype}[${shape.join(', ')}] (${(bytes / MiB).toFixed(1)} MiB): ` +
          `the wasm32 linear memory is limited to 4 GiB (largest tensor ${this.maxElements} elements) and ` +
          `${(this.heap.used / MiB).toFixed(1)} MiB are held by ${this.live.size} live tensors and scratch, ` +
          `or the host refused to grow it: free tensors you no longer need, use smaller layers or batches, or use the webgpu backend`,
      );
    }
    const t = new WasmTensor(shape, size, dtype, ptr, bytes, this.owner);
    this.live.add(t);
    return t;
  }

  release(t: WasmTensor): void {
    t.live = false;
    this.live.delete(t);
    this.heap.release(t.ptr, t.bytes);
  }

  /** Every tensor dies with the memory. */
  destroy(): void {
    for (const t of this.live) t.live = false;
    this.live.clear();
    this.buffer = null;
    this.f32view = new Float32Array(0);
    this.u32view = new Uint32Array(0);
  }

  fill(t: WasmTensor, data: Float32Array | Uint32Array): void {
    (t.dtype === 'u32' ? this.u32() : this.f32()).set(data, t.ptr >>> 2);
  }

  copyOut(t: WasmTensor): Float32Array | Uint32Array {
    const at = t.ptr >>> 2;
    return t.dtype === 'u32' ? this.u32().slice(at, at + t.size) : this.f32().slice(at, at + t.size);
  }

  /** The shared scratch block (at least `bytes`), followed by the merge coefficients as f32. */
  scratch(bytes: number, coeff: readonly number[] = []): { ptr: number; coeff: number } {
    const total = bytes + 64 + coeff.length * 4;
    if (total > this.scratchBytes) {
      if (this.scratchBytes > 0) this.heap.release(this.scratchPtr, this.scratchBytes);
      this.scratchBytes = 0;
      const ptr = this.heap.alloc(total);
      if (ptr < 0) {
        throw new BackendError(
          `wasm backend: no room for ${(total / MiB).toFixed(1)} MiB of kernel scratch in the 4 GiB wasm32 memory: free tensors you no longer need`,
        );
      }
      this.scratchPtr = ptr;
      this.scratchBytes = total;
    }
    const coeffPtr = this.scratchPtr + Math.ceil(bytes / 64) * 64;
    if (coeff.length > 0) this.f32().set(coeff, coeffPtr >>> 2);
    return { ptr: this.scratchPtr, coeff: coeffPtr };
  }

  f32(): Float32Array {
    this.refreshViews();
    return this.f32view;
  }

  u32(): Uint32Array {
    this.refreshViews();
    return this.u32view;
  }

  /** Re-creates the views after memory.grow (which detaches the previous ArrayBuffer). */
  private refreshViews(): void {
    const buffer = this.memory.buffer;
    if (buffer !== this.buffer) {
      this.buffer = buffer;
      this.f32view = new Float32Array(buffer);
      this.u32view = new Uint32Array(buffer);
    }
  }
}
