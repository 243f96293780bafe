// The wasm backend's runtime: the AssemblyScript module (assembly/, f32x4 SIMD, plain or relaxed), its linear memory
// (memory.ts) and optional thread pool (threads.ts), the tensor lifetime (upload, zeros, write,
// read, free, flush, destroy) and the helpers the primitives call kernels through. Every primitive
// runs synchronously when called, so there is never queued work: read() resolves with a copy taken
// at the call, flush() is a no-op and free() releases at once.
// Threads: given a pool, the big primitives (matmul, the merge and its backward, sparsify and its
// backward, attention per sample and key/value head, layerNorm and rmsNorm rows, RoPE rows, bias
// rows, GELU and the decoder activations, dropout, zero-fill, copies and sums) are cut into
// per-thread calls (split.ts); the rest run on the calling thread. Results are the same for every
// thread count.

import { BackendError, type DType, type Tensor } from '../backend.js';
import type { TensorState } from '../contract/checks.js';
import type { SnellExports } from './instance.js';
import { WasmMemory } from './memory.js';
import { pieces, ranges } from './split.js';
import type { ParallelKernel, ThreadPool } from './threads.js';
import { WasmTensor } from './tensor.js';

/** Elements per thread, at least, before an elementwise kernel is split (≈ 50 µs of work each). */
const GRAIN: Partial<Record<ParallelKernel, number>> = {
  gelu: 2 ** 12,
  geluBackward: 2 ** 12,
  geluTanh: 2 ** 13,
  geluTanhBackward: 2 ** 13,
  siluMul: 2 ** 13,
  siluMulBackward: 2 ** 13,
  dropout: 2 ** 14,
  zero: 2 ** 18,
  copy: 2 ** 17,
  add: 2 ** 17,
  addInto: 2 ** 17,
};

export const ptr = (t: Tensor): number => (t as WasmTensor).ptr;
/** A null optional output is passed to the kernels as pointer 0. */
export const ptrOrNull = (t: Tensor | null): number => (t ? ptr(t) : 0);

/** The module, its memory and threads; the primitives are added by WasmSnellOps and WasmExecutor. */
export abstract class WasmRuntime {
  readonly kind = 'wasm' as const;
  readonly description: string;
  readonly maxElements: number;
  readonly lost = false;
  readonly memory: WasmMemory;
  private wasm: SnellExports | null;

  /** `pool` runs on `wasm`'s shared memory; the heap starts at `base` (after the pool's control block). */
  constructor(
    wasm: SnellExports,
    private readonly pool: ThreadPool | null = null,
    base = wasm.heapBase() >>> 0,
    singleThreadReason?: string,
  ) {
    this.wasm = wasm;
    this.memory = new WasmMemory(wasm.memory, base, this);
    this.maxElements = this.memory.maxElements;
    const threads = pool?.size ?? 1;
    const simd = wasm.relaxedSimd() ? 'simd128+relaxed-fma' : 'simd128';
    this.description =
      `wasm32 SIMD (AssemblyScript, ${simd}), ${threads} thread${threads > 1 ? 's' : ''}` +
      (threads === 1 && singleThreadReason ? ` (${singleThreadReason})` : '');
  }

  /** Threads the kernels run on, the calling one included. */
  get threads(): number {
    return this.pool?.size ?? 1;
  }

  ensureUsable(): void {
    this.exports();
  }

  holds(t: Tensor): TensorState {
    if (!(t instanceof WasmTensor) || t.owner !== this) return 'foreign';
    return t.live ? 'live' : 'freed';
  }

  // ---- tensors ----

  upload(data: Float32Array | Uint32Array, shape: readonly number[], dtype: DType = 'f32'): Tensor {
    const t = this.memory.allocate(shape, dtype);
    this.memory.fill(t, data);
    return t;
  }

  zeros(shape: readonly number[], dtype: DType = 'f32'): Tensor {
    const t = this.memory.allocate(shape, dtype);
    this.elementwise('zero', t.size, (at, n) => [t.ptr + 4 * at, n]);
    return t;
  }

  write(t: Tensor, data: Float32Array | Uint32Array): void {
    this.memory.fill(t as WasmTensor, data);
  }

  read(t: Tensor): Promise<Float32Array | Uint32Array> {
    return Promise.resolve(this.memory.copyOut(t as WasmTensor));
  }

  free(t: Tensor): void {
    this.memory.release(t as WasmTensor);
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  destroy(): void {
    this.memory.destroy();
    this.wasm = null;
    this.pool?.destroy();
  }

  // ---- calling the kernels ----

  /** Runs one call per piece: on the pool when there are several, else here. */
  protected run(kernel: ParallelKernel, calls: number[][]): void {
    const w = this.exports();
    if (this.pool) this.pool.run(kernel, calls);
    else for (const args of calls) (w[kernel] as (...a: number[]) => void)(...args);
  }

  /** An elementwise kernel over n elements, cut into pieces of GRAIN[kernel] or more (16-aligned). */
  protected elementwise(kernel: ParallelKernel, n: number, args: (at: number, count: number) => number[]): void {
    this.run(
      kernel,
      ranges(n, pieces(n, GRAIN[kernel] ?? n, this.threads), 16).map(([at, count]) => args(at, count)),
    );
  }

  /** The scratch block as one 64-byte aligned slice of `bytes` per thread. */
  protected perThreadScratch(bytes: number): { ptr: number; stride: number } {
    const stride = Math.ceil(bytes / 64) * 64;
    return { ptr: this.memory.scratch(stride * this.threads).ptr, stride };
  }

  protected exports(): SnellExports {
    if (!this.wasm) throw new BackendError('wasm backend: used after destroy(): create a new backend');
    return this.wasm;
  }
}
