// The wasm backend: the contract of src/backend.ts on one CPU thread, with the kernels of assembly/
// (AssemblyScript, f32x4 SIMD) working on tensors that live in the module's linear memory.
// Every primitive runs synchronously when called, so there is never queued work: read() resolves
// at once with a copy, flush() is a no-op and free() releases immediately.
// Memory: one 4 GiB wasm32 address space per backend, managed by LinearAllocator; kernels that need
// scratch (packing for matmul and merge) share one block that only grows. Typed-array views are
// re-created whenever the memory has grown (its old ArrayBuffer is then detached).

import {
  type Backend, BackendError, type DType, type MatmulOptions, type MergeKernel, type Tensor,
} from '../backend.js';
import { LinearAllocator } from './alloc.js';
import { instantiateSnell, type SnellExports } from './instance.js';
import { WasmTensor, describe, expectDistinct, expectShape, expectSize, sizeOf } from './tensor.js';

const MiB = 2 ** 20;

/** Creates a wasm backend with its own module instance and memory. */
export async function createWasmBackend(): Promise<Backend> {
  return new WasmBackend(await instantiateSnell());
}

export class WasmBackend implements Backend {
  readonly kind = 'wasm' as const;
  readonly description = 'wasm32 SIMD (AssemblyScript), 1 thread';
  readonly maxElements: number;

  private wasm: SnellExports | null;
  private readonly heap: LinearAllocator;
  private readonly live = new Set<WasmTensor>();
  private buffer: ArrayBuffer | null = null;
  private f32view = new Float32Array(0);
  private u32view = new Uint32Array(0);
  private scratchPtr = 0;
  private scratchBytes = 0;

  constructor(wasm: SnellExports) {
    this.wasm = wasm;
    this.heap = new LinearAllocator(wasm.memory, wasm.heapBase() >>> 0);
    this.maxElements = Math.floor(this.heap.maxBlock / 4);
  }

  /** Bytes held by live tensors and scratch, and the size of the linear memory. */
  memoryStats(): { tensors: number; tensorBytes: number; scratchBytes: number; memoryBytes: number } {
    return { tensors: this.live.size, tensorBytes: this.heap.used - (this.scratchBytes && LinearAllocator.round(this.scratchBytes)), scratchBytes: this.scratchBytes, memoryBytes: this.heap.capacity };
  }

  // ---- tensors ----

  upload(data: Float32Array | Uint32Array, shape: readonly number[], dtype: DType = 'f32'): Tensor {
    const t = this.allocate(shape, dtype);
    this.fill(t, data);
    return t;
  }

  zeros(shape: readonly number[], dtype: DType = 'f32'): Tensor {
    const t = this.allocate(shape, dtype);
    this.u32().fill(0, t.ptr >>> 2, (t.ptr >>> 2) + t.size);
    return t;
  }

  write(t: Tensor, data: Float32Array | Uint32Array): void {
    this.fill(this.own(t, 'write target'), data);
  }

  read(t: Tensor): Promise<Float32Array | Uint32Array> {
    const w = this.own(t, 'read source');
    const at = w.ptr >>> 2;
    return Promise.resolve(w.dtype === 'u32' ? this.u32().slice(at, at + w.size) : this.f32().slice(at, at + w.size));
  }

  free(t: Tensor): void {
    const w = this.own(t, 'tensor to free');
    w.live = false;
    this.live.delete(w);
    this.heap.release(w.ptr, w.bytes);
  }

  flush(): Promise<void> {
    this.exports();
    return Promise.resolve();
  }

  destroy(): void {
    for (const t of this.live) t.live = false;
    this.live.clear();
    this.wasm = null;
    this.buffer = null;
    this.f32view = new Float32Array(0);
    this.u32view = new Uint32Array(0);
  }

  // ---- kernels ----

  merge(A: Tensor, B: Tensor, kernel: MergeKernel, coeff: readonly number[], W: Tensor): void {
    const w = this.exports();
    const { H, n, m, k } = this.mergeDims(A, B, kernel, coeff);
    expectShape(W, [n, m], 'W');
    expectDistinct({ W }, { A, B });
    const s = this.scratch(w.mergeScratchBytes(H, m, k) >>> 0, coeff);
    w.merge(this.ptr(A), this.ptr(B), H, n, m, k, kernel === 'linear' ? 1 : 0, s.coeff, this.ptr(W), s.ptr);
  }

  mergeBackward(A: Tensor, B: Tensor, dW: Tensor, kernel: MergeKernel, coeff: readonly number[], dA: Tensor, dB: Tensor): void {
    const w = this.exports();
    const { H, n, m, k } = this.mergeDims(A, B, kernel, coeff);
    expectShape(dW, [n, m], 'dW');
    expectShape(dA, [H, n, k], 'dA');
    expectShape(dB, [H, m, k], 'dB');
    expectDistinct({ dA, dB }, { A, B, dW });
    if (dA === dB) throw new BackendError('wasm backend: dA and dB are the same tensor: pass two outputs');
    const s = this.scratch(w.mergeScratchBytes(H, m, k) >>> 0, coeff);
    w.mergeBackward(
      this.ptr(A), this.ptr(B), this.ptr(dW), H, n, m, k, kernel === 'linear' ? 1 : 0, s.coeff,
      this.ptr(dA), this.ptr(dB), s.ptr,
    );
  }

  mixture(W0: Tensor, alpha: Tensor, gamma: Tensor, beta: Tensor, W: Tensor, P: Tensor): void {
    const w = this.exports();
    const [n, m] = this.matrixDims(W0, 'W0');
    for (const [name, t] of [['alpha', alpha], ['gamma', gamma], ['beta', beta]] as const) expectSize(t, 1, name);
    expectShape(W, [n, m], 'W');
    expectShape(P, [n, m], 'P');
    expectDistinct({ W, P }, { W0, alpha, gamma, beta });
    if (W === P) throw new BackendError('wasm backend: W and P are the same tensor: pass two outputs');
    w.mixture(this.ptr(W0), n, m, this.ptr(alpha), this.ptr(gamma), this.ptr(beta), this.ptr(W), this.ptr(P));
  }

  mixtureBackward(
    dW: Tensor, W0: Tensor, P: Tensor, alpha: Tensor, gamma: Tensor,
    dW0: Tensor, dAlpha: Tensor, dGamma: Tensor, dBeta: Tensor,
  ): void {
    const w = this.exports();
    const [n, m] = this.matrixDims(W0, 'W0');
    expectShape(dW, [n, m], 'dW');
    expectShape(P, [n, m], 'P');
    expectShape(dW0, [n, m], 'dW0');
    for (const [name, t] of [['alpha', alpha], ['gamma', gamma], ['dAlpha', dAlpha], ['dGamma', dGamma], ['dBeta', dBeta]] as const) {
      expectSize(t, 1, name);
    }
    const outs = { dW0, dAlpha, dGamma, dBeta };
    expectDistinct(outs, { dW, W0, P, alpha, gamma });
    if (new Set(Object.values(outs)).size !== 4) throw new BackendError('wasm backend: dW0, dAlpha, dGamma and dBeta must be four distinct tensors');
    w.mixtureBackward(
      this.ptr(dW), this.ptr(W0), this.ptr(P), this.ptr(alpha), this.ptr(gamma), n, m,
      this.ptr(dW0), this.ptr(dAlpha), this.ptr(dGamma), this.ptr(dBeta),
    );
  }

  quantileAbs(W: Tensor, s: number, threshold: Tensor): void {
    const w = this.exports();
    this.own(W, 'W');
    expectSize(W, W.size, 'W');
    expectSize(threshold, 1, 'threshold');
    if (!(s >= 0 && s <= 1)) throw new BackendError(`wasm backend: quantile s must be in [0, 1], got ${s}`);
    const N = W.size;
    if (N === 0) throw new BackendError('wasm backend: quantile of an empty tensor is undefined: pass a tensor with at least one element');
    // torch.quantile: pos = s·(N−1) in float64, lo = ⌊pos⌋, frac = pos − lo
    const pos = s * (N - 1);
    const lo = Math.min(Math.floor(pos), N - 1);
    w.quantileAbs(this.ptr(W), N, lo, pos - lo, this.ptr(threshold));
  }

  sparsify(W: Tensor, threshold: Tensor, Ws: Tensor, kept: Tensor): void {
    const w = this.exports();
    this.own(W, 'W');
    expectSize(W, W.size, 'W');
    expectSize(threshold, 1, 'threshold');
    expectSize(Ws, W.size, 'Ws');
    expectSize(kept, 1, 'kept', 'u32');
    w.sparsify(this.ptr(W), W.size, this.ptr(threshold), this.ptr(Ws), this.ptr(kept));
  }

  sparsifyBackward(G: Tensor, W: Tensor, threshold: Tensor, dW: Tensor): void {
    const w = this.exports();
    this.own(W, 'W');
    expectSize(W, W.size, 'W');
    expectSize(G, W.size, 'G');
    expectSize(threshold, 1, 'threshold');
    expectSize(dW, W.size, 'dW');
    w.sparsifyBackward(this.ptr(G), this.ptr(W), W.size, this.ptr(threshold), this.ptr(dW));
  }

  matmul(a: Tensor, b: Tensor, out: Tensor, options: MatmulOptions = {}): void {
    const w = this.exports();
    const { transA = false, transB = false, accumulate = false } = options;
    const [ar, ac] = this.matrixDims(a, 'a');
    const [br, bc] = this.matrixDims(b, 'b');
    const [M, K] = transA ? [ac, ar] : [ar, ac];
    const [K2, N] = transB ? [bc, br] : [br, bc];
    if (K !== K2) {
      throw new BackendError(`wasm backend: matmul inner dimensions differ: op(a) is ${M}×${K} (a ${describe(a)}${transA ? ', transposed' : ''}) and op(b) is ${K2}×${N} (b ${describe(b)}${transB ? ', transposed' : ''})`);
    }
    const [or, oc] = this.matrixDims(out, 'out');
    if (or !== M || oc !== N) throw new BackendError(`wasm backend: matmul output is ${describe(out)}, expected ${M}×${N}`);
    expectDistinct({ out }, { a, b });
    const s = this.scratch(w.matmulScratchBytes() >>> 0);
    w.matmul(this.ptr(a), this.ptr(b), this.ptr(out), M, N, K, transA ? 1 : 0, transB ? 1 : 0, accumulate ? 1 : 0, s.ptr);
  }

  // ---- internals ----

  private exports(): SnellExports {
    if (!this.wasm) throw new BackendError('wasm backend: used after destroy(): create a new backend');
    return this.wasm;
  }

  /** The live WasmTensor behind a handle of this backend, or a BackendError saying what is wrong. */
  private own(t: Tensor, name: string): WasmTensor {
    this.exports();
    if (!(t instanceof WasmTensor) || t.owner !== this) {
      throw new BackendError(`wasm backend: ${name} was not created by this backend: upload it here first`);
    }
    if (!t.live) throw new BackendError(`wasm backend: ${name} (${describe(t)}) was already freed`);
    return t;
  }

  private ptr(t: Tensor): number {
    return this.own(t, 'tensor').ptr;
  }

  private allocate(shape: readonly number[], dtype: DType): WasmTensor {
    this.exports();
    if (dtype !== 'f32' && dtype !== 'u32') throw new BackendError(`wasm backend: unknown dtype "${dtype}": use 'f32' or 'u32'`);
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
    const t = new WasmTensor(shape, size, dtype, ptr, bytes, this);
    this.live.add(t);
    return t;
  }

  private fill(t: WasmTensor, data: Float32Array | Uint32Array): void {
    const expected = t.dtype === 'u32' ? Uint32Array : Float32Array;
    if (!(data instanceof expected)) {
      throw new BackendError(`wasm backend: ${describe(t)} takes a ${expected.name}, got a ${data?.constructor?.name ?? typeof data}`);
    }
    if (data.length !== t.size) {
      throw new BackendError(`wasm backend: ${describe(t)} holds ${t.size} elements but the data has ${data.length}`);
    }
    (t.dtype === 'u32' ? this.u32() : this.f32()).set(data, t.ptr >>> 2);
  }

  /** [rows, columns] of a matrix given as ≥ 2-D (leading dimensions are rows). */
  private matrixDims(t: Tensor, name: string): [number, number] {
    this.own(t, name);
    if (t.shape.length < 2 || t.dtype !== 'f32') throw new BackendError(`wasm backend: ${name} is ${describe(t)}, expected an f32 matrix (2 or more dimensions)`);
    const cols = t.shape[t.shape.length - 1];
    return [t.shape.slice(0, -1).reduce((x, y) => x * y, 1), cols];
  }

  private mergeDims(A: Tensor, B: Tensor, kernel: MergeKernel, coeff: readonly number[]) {
    this.own(A, 'A');
    this.own(B, 'B');
    if (kernel !== 'distance' && kernel !== 'linear') throw new BackendError(`wasm backend: unknown merge kernel "${kernel}": use 'distance' or 'linear'`);
    if (A.shape.length !== 3 || A.dtype !== 'f32') throw new BackendError(`wasm backend: A is ${describe(A)}, expected f32[H, n, k]`);
    const [H, n, k] = A.shape;
    if (B.shape.length !== 3 || B.dtype !== 'f32' || B.shape[0] !== H || B.shape[2] !== k) {
      throw new BackendError(`wasm backend: B is ${describe(B)}, expected f32[${H}, m, ${k}] to match A ${describe(A)}`);
    }
    if (coeff.length !== H) throw new BackendError(`wasm backend: coeff has ${coeff.length} numbers, expected one per head (H = ${H})`);
    return { H, n, m: B.shape[1], k };
  }

  /** The shared scratch block (at least `bytes`), followed by the merge coefficients as f32. */
  private scratch(bytes: number, coeff: readonly number[] = []): { ptr: number; coeff: number } {
    const total = bytes + 64 + coeff.length * 4;
    if (total > this.scratchBytes) {
      if (this.scratchBytes > 0) this.heap.release(this.scratchPtr, this.scratchBytes);
      this.scratchBytes = 0;
      const ptr = this.heap.alloc(total);
      if (ptr < 0) {
        throw new BackendError(`wasm backend: no room for ${(total / MiB).toFixed(1)} MiB of kernel scratch in the 4 GiB wasm32 memory: free tensors you no longer need`);
      }
      this.scratchPtr = ptr;
      this.scratchBytes = total;
    }
    const coeffPtr = this.scratchPtr + Math.ceil(bytes / 64) * 64;
    if (coeff.length > 0) this.f32().set(coeff, coeffPtr >>> 2);
    return { ptr: this.scratchPtr, coeff: coeffPtr };
  }

  private f32(): Float32Array {
    this.refreshViews();
    return this.f32view;
  }

  private u32(): Uint32Array {
    this.refreshViews();
    return this.u32view;
  }

  /** Re-creates the views after memory.grow (which detaches the previous ArrayBuffer). */
  private refreshViews(): void {
    const buffer = this.exports().memory.buffer;
    if (buffer !== this.buffer) {
      this.buffer = buffer;
      this.f32view = new Float32Array(buffer);
      this.u32view = new Uint32Array(buffer);
    }
  }
}
