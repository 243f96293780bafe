// The wasm backend's primitives on the kernels of assembly/ (AssemblyScript, f32x4 SIMD), working on
// tensors in the module's linear memory (memory.ts). The contract (src/contract) has checked every
// argument before a call gets here. Every primitive runs synchronously when called, so there is
// never queued work: read() resolves with a copy taken at the call, flush() is a no-op and free()
// releases at once.
// Threads: given a pool (threads.ts), the big primitives (matmul, the merge and its backward,
// sparsify and its backward, attention per sample, layerNorm rows, bias rows, GELU, dropout,
// zero-fill, copies and sums) are cut into per-thread calls (split.ts); the rest run on the calling
// thread. Results are the same for every thread count.

import { type AdamWStep, BackendError, type DType, type MatmulOptions, type MergeKernel, type PoolMode, type Tensor } from '../backend.js';
import type { Executor } from '../contract/checked.js';
import type { TensorState } from '../contract/checks.js';
import { matrixDims } from '../contract/shapes.js';
import type { SnellExports } from './instance.js';
import { WasmMemory } from './memory.js';
import { gemmCalls, MERGE_GROUPS, pieces, ranges } from './split.js';
import type { ParallelKernel, ThreadPool } from './threads.js';
import { WasmTensor } from './tensor.js';

/** Distance terms (n·m·H·k) each thread should at least get before a merge or its backward is split. */
const MERGE_GRAIN = 2 ** 18;

/** Elements per thread, at least, before an elementwise kernel is split (≈ 50 µs of work each). */
const GRAIN: Partial<Record<ParallelKernel, number>> = {
  gelu: 2 ** 12, geluBackward: 2 ** 12, dropout: 2 ** 14, zero: 2 ** 18, copy: 2 ** 17, add: 2 ** 17, addInto: 2 ** 17,
};

const ptr = (t: Tensor): number => (t as WasmTensor).ptr;
/** A null optional output is passed to the kernels as pointer 0. */
const ptrOrNull = (t: Tensor | null): number => (t ? ptr(t) : 0);

export class WasmExecutor implements Executor {
  readonly kind = 'wasm' as const;
  readonly description: string;
  readonly maxElements: number;
  readonly lost = false;
  readonly memory: WasmMemory;
  private wasm: SnellExports | null;

  /** `pool` runs on `wasm`'s shared memory; the heap starts at `base` (after the pool's control block). */
  constructor(wasm: SnellExports, private readonly pool: ThreadPool | null = null, base = wasm.heapBase() >>> 0, singleThreadReason?: string) {
    this.wasm = wasm;
    this.memory = new WasmMemory(wasm.memory, base, this);
    this.maxElements = this.memory.maxElements;
    const threads = pool?.size ?? 1;
    this.description = `wasm32 SIMD (AssemblyScript), ${threads} thread${threads > 1 ? 's' : ''}` +
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

  // ---- SNELL kernels ----

  merge(A: Tensor, B: Tensor, kernel: MergeKernel, coeff: readonly number[], W: Tensor): void {
    const w = this.exports();
    const [H, n, k] = A.shape;
    const m = B.shape[1];
    const s = this.memory.scratch(w.mergeScratchBytes(H, m, k, 0, 0) >>> 0, coeff);
    w.packB4(ptr(B), H, m, k, s.ptr);
    const [pa, pw, linear] = [ptr(A), ptr(W), kernel === 'linear' ? 1 : 0];
    this.run('merge', ranges(n, pieces(n * m * H * k, MERGE_GRAIN, this.threads)).map(([i, rows]) => [
      pa, s.ptr, H, n, m, k, linear, s.coeff, pw, i, rows,
    ]));
  }

  mergeBackward(A: Tensor, B: Tensor, dW: Tensor, kernel: MergeKernel, coeff: readonly number[], dA: Tensor, dB: Tensor): void {
    const w = this.exports();
    const [H, n, k] = A.shape;
    const m = B.shape[1];
    // scratch: packed B, MERGE_GROUPS packed dB partials, one dA accumulator per thread
    const s = this.memory.scratch(w.mergeScratchBytes(H, m, k, MERGE_GROUPS, this.threads) >>> 0, coeff);
    const packedBytes = Math.ceil(m / 4) * H * k * 16;
    const [partials, accs] = [s.ptr + packedBytes, s.ptr + packedBytes * (1 + MERGE_GROUPS)];
    w.packB4(ptr(B), H, m, k, s.ptr);
    const [pa, pdw, pda, pdb, linear] = [ptr(A), ptr(dW), ptr(dA), ptr(dB), kernel === 'linear' ? 1 : 0];
    this.run('mergeBackward', ranges(MERGE_GROUPS, pieces(n * m * H * k, MERGE_GRAIN, this.threads)).map(([g, count], t) => [
      pa, s.ptr, pdw, H, n, m, k, linear, s.coeff, pda, g, g + count, MERGE_GROUPS, accs + t * H * k * 16,
    ]));
    this.run('mergeBackwardReduce', ranges(m, pieces(m * H * k * MERGE_GROUPS, 2 ** 16, this.threads)).map(([o, count]) => [
      partials, MERGE_GROUPS, H, m, k, pdb, o, count,
    ]));
  }

  mixture(W0: Tensor, alpha: Tensor, gamma: Tensor, beta: Tensor, W: Tensor, P: Tensor): void {
    const [n, m] = W0.shape;
    this.exports().mixture(ptr(W0), n, m, ptr(alpha), ptr(gamma), ptr(beta), ptr(W), ptr(P));
  }

  mixtureBackward(dW: Tensor, W0: Tensor, P: Tensor, alpha: Tensor, gamma: Tensor, dW0: Tensor, dAlpha: Tensor, dGamma: Tensor, dBeta: Tensor): void {
    const [n, m] = W0.shape;
    this.exports().mixtureBackward(ptr(dW), ptr(W0), ptr(P), ptr(alpha), ptr(gamma), n, m, ptr(dW0), ptr(dAlpha), ptr(dGamma), ptr(dBeta));
  }

  quantileAbs(W: Tensor, s: number, threshold: Tensor): void {
    const N = W.size;
    // torch.quantile: pos = s·(N−1) in float64, lo = ⌊pos⌋, frac = pos − lo
    const pos = s * (N - 1);
    const lo = Math.min(Math.floor(pos), N - 1);
    this.exports().quantileAbs(ptr(W), N, lo, pos - lo, ptr(threshold));
  }

  sparsify(W: Tensor, threshold: Tensor, Ws: Tensor, kept: Tensor): void {
    const w = this.exports();
    const [pw, pt, pws, N] = [ptr(W), ptr(threshold), ptr(Ws), W.size];
    const parts = ranges(N, pieces(N, 2 ** 17, this.threads), 16);
    if (parts.length === 1) {
      w.sparsify(pw, N, pt, pws, ptr(kept));
      return;
    }
    // each piece counts its own kept elements; the (exact, integer) counts are summed here
    const counts = this.memory.scratch(4 * parts.length).ptr;
    this.run('sparsify', parts.map(([at, len], i) => [pw + 4 * at, len, pt, pws + 4 * at, counts + 4 * i]));
    const u32 = this.memory.u32();
    u32[ptr(kept) >>> 2] = parts.reduce((sum, _, i) => sum + u32[(counts >>> 2) + i], 0);
  }

  sparsifyBackward(G: Tensor, W: Tensor, threshold: Tensor, dW: Tensor): void {
    const [pg, pw, pt, pdw, N] = [ptr(G), ptr(W), ptr(threshold), ptr(dW), W.size];
    this.run('sparsifyBackward', ranges(N, pieces(N, 2 ** 17, this.threads), 16).map(([at, len]) => [
      pg + 4 * at, pw + 4 * at, len, pt, pdw + 4 * at,
    ]));
  }

  matmul(a: Tensor, b: Tensor, out: Tensor, options: MatmulOptions = {}): void {
    const w = this.exports();
    const { transA = false, transB = false, accumulate = false } = options;
    const [ar, ac] = matrixDims(a);
    const [br, bc] = matrixDims(b);
    const [M, K] = transA ? [ac, ar] : [ar, ac];
    const N = transB ? br : bc;
    const s = this.perThreadScratch(w.matmulScratchBytes() >>> 0);
    this.run('gemm', gemmCalls(ptr(a), ptr(b), ptr(out), M, N, K, transA, transB, accumulate, s.ptr, s.stride, this.threads));
  }

  // ---- transformer primitives (kernels in assembly/: elementwise, reduce, layernorm, attention,
  //      tokens, xent, adamw, dropout) ----

  add(a: Tensor, b: Tensor, out: Tensor): void {
    this.elementwise('add', a.size, (at, len) => [ptr(a) + 4 * at, ptr(b) + 4 * at, ptr(out) + 4 * at, len]);
  }

  addInto(out: Tensor, a: Tensor): void {
    this.elementwise('addInto', out.size, (at, len) => [ptr(out) + 4 * at, ptr(a) + 4 * at, len]);
  }

  addBias(out: Tensor, bias: Tensor): void {
    const [R, N] = matrixDims(out);
    const [po, pb] = [ptr(out), ptr(bias)];
    this.run('addBias', ranges(R, pieces(R * N, 2 ** 17, this.threads)).map(([r, rows]) => [po + 4 * r * N, pb, rows, N]));
  }

  sumRows(x: Tensor, out: Tensor, accumulate = false): void {
    const [R, N] = matrixDims(x);
    this.exports().sumRows(ptr(x), R, N, ptr(out), accumulate ? 1 : 0);
  }

  copy(src: Tensor, out: Tensor): void {
    this.elementwise('copy', src.size, (at, n) => [ptr(src) + 4 * at, ptr(out) + 4 * at, n]);
  }

  layerNorm(x: Tensor, wt: Tensor, b: Tensor, eps: number, out: Tensor, mean: Tensor, rstd: Tensor): void {
    const [R, D] = matrixDims(x);
    const [px, pw, pb, po, pm, pr] = [x, wt, b, out, mean, rstd].map(ptr);
    this.run('layerNorm', ranges(R, pieces(R * D, 2 ** 15, this.threads)).map(([r, n]) => [
      px + 4 * r * D, pw, pb, n, D, eps, po + 4 * r * D, pm + 4 * r, pr + 4 * r,
    ]));
  }

  layerNormBackward(dy: Tensor, x: Tensor, wt: Tensor, mean: Tensor, rstd: Tensor, dx: Tensor, dw: Tensor | null, db: Tensor | null): void {
    const w = this.exports();
    const [R, D] = matrixDims(x);
    const s = this.memory.scratch(w.layerNormScratchBytes(D) >>> 0);
    w.layerNormBackward(ptr(dy), ptr(x), ptr(wt), ptr(mean), ptr(rstd), R, D, ptr(dx), ptrOrNull(dw), ptrOrNull(db), s.ptr);
  }

  gelu(x: Tensor, out: Tensor): void {
    this.elementwise('gelu', x.size, (at, len) => [ptr(x) + 4 * at, ptr(out) + 4 * at, len]);
  }

  geluBackward(dy: Tensor, x: Tensor, dx: Tensor): void {
    this.elementwise('geluBackward', x.size, (at, len) => [ptr(dy) + 4 * at, ptr(x) + 4 * at, ptr(dx) + 4 * at, len]);
  }

  attention(q: Tensor, k: Tensor, v: Tensor, heads: number, out: Tensor, probs: Tensor): void {
    const [B, T, D] = q.shape;
    const s = this.perThreadScratch(this.exports().attentionScratchBytes(T) >>> 0);
    const [pq, pk, pv, po, pp] = [q, k, v, out, probs].map(ptr);
    this.run('attention', ranges(B, this.threads).map(([b, n], i) => {
      const at = 4 * b * T * D;
      return [pq + at, pk + at, pv + at, n, T, D, heads, po + at, pp + 4 * b * heads * T * T, s.ptr + i * s.stride];
    }));
  }

  attentionBackward(dOut: Tensor, q: Tensor, k: Tensor, v: Tensor, probs: Tensor, heads: number, dq: Tensor, dk: Tensor, dv: Tensor): void {
    const [B, T, D] = q.shape;
    const s = this.perThreadScratch(this.exports().attentionScratchBytes(T) >>> 0);
    const [pdo, pq, pk, pv, pp, pdq, pdk, pdv] = [dOut, q, k, v, probs, dq, dk, dv].map(ptr);
    this.run('attentionBackward', ranges(B, this.threads).map(([b, n], i) => {
      const at = 4 * b * T * D;
      return [pdo + at, pq + at, pk + at, pv + at, pp + 4 * b * heads * T * T, n, T, D, heads, pdq + at, pdk + at, pdv + at, s.ptr + i * s.stride];
    }));
  }

  embedTokens(patches: Tensor, cls: Tensor, pos: Tensor, out: Tensor): void {
    const [B, T, D] = out.shape;
    this.exports().embedTokens(ptr(patches), ptr(cls), ptr(pos), ptr(out), B, T, D);
  }

  embedTokensBackward(dOut: Tensor, dPatches: Tensor | null, dCls: Tensor | null, dPos: Tensor | null): void {
    const [B, T, D] = dOut.shape;
    this.exports().embedTokensBackward(ptr(dOut), ptrOrNull(dPatches), ptrOrNull(dCls), ptrOrNull(dPos), B, T, D);
  }

  poolTokens(x: Tensor, mode: PoolMode, out: Tensor): void {
    const [B, T, D] = x.shape;
    this.exports().poolTokens(ptr(x), mode === 'cls' ? 0 : 1, ptr(out), B, T, D);
  }

  poolTokensBackward(dOut: Tensor, mode: PoolMode, dx: Tensor): void {
    const [B, T, D] = dx.shape;
    this.exports().poolTokensBackward(ptr(dOut), mode === 'cls' ? 0 : 1, ptr(dx), B, T, D);
  }

  softmaxCrossEntropy(logits: Tensor, labels: Tensor, loss: Tensor, dLogits: Tensor, correct: Tensor): void {
    const [B, C] = logits.shape;
    this.exports().softmaxCrossEntropy(ptr(logits), ptr(labels), B, C, ptr(loss), ptr(dLogits), ptr(correct));
  }

  sumSquares(x: Tensor, out: Tensor, accumulate = false): void {
    this.exports().sumSquares(ptr(x), x.size, ptr(out), accumulate ? 1 : 0);
  }

  clipFactor(sumSq: Tensor, maxNorm: number, factor: Tensor): void {
    this.exports().clipFactor(ptr(sumSq), maxNorm, ptr(factor));
  }

  adamw(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, gradScale: Tensor | null, hp: AdamWStep): void {
    const { lr, beta1, beta2, eps, weightDecay, step } = hp;
    // torch computes these in Python floats (float64)
    const bc1 = 1 - beta1 ** step;
    const bc2 = 1 - beta2 ** step;
    this.exports().adamw(
      ptr(param), ptr(grad), ptr(m), ptr(v), param.size, ptrOrNull(gradScale),
      1 - lr * weightDecay, lr / bc1, beta1, beta2, eps, Math.sqrt(bc2),
    );
  }

  dropout(x: Tensor, p: number, seed: number, out: Tensor): void {
    const { seed32, cut, scale } = dropParams(p, seed);
    const [px, po] = [ptr(x), ptr(out)];
    if (p === 0) this.elementwise('copy', x.size, (at, len) => [px + 4 * at, po + 4 * at, len]);
    else this.elementwise('dropout', x.size, (at, len) => [px + 4 * at, po + 4 * at, len, at, seed32, cut, scale]);
  }

  dropPath(x: Tensor, p: number, seed: number, out: Tensor): void {
    const w = this.exports();
    const [n, B] = [x.size, x.shape[0]];
    const { seed32, cut, scale } = dropParams(p, seed);
    if (p === 0) w.copy(ptr(x), ptr(out), n);
    else w.dropPath(ptr(x), ptr(out), B, B === 0 ? 0 : n / B, seed32, cut, scale);
  }

  maskScale(x: Tensor, mask: Tensor, scale: number, out: Tensor): void {
    const [n, m] = [x.size, mask.size];
    this.exports().maskScale(ptr(x), ptr(mask), ptr(out), m, m === 0 ? 0 : n / m, scale);
  }

  // ---- internals ----

  /** Runs one call per piece: on the pool when there are several, else here. */
  private run(kernel: ParallelKernel, calls: number[][]): void {
    const w = this.exports();
    if (this.pool) this.pool.run(kernel, calls);
    else for (const args of calls) (w[kernel] as (...a: number[]) => void)(...args);
  }

  /** An elementwise kernel over n elements, cut into pieces of GRAIN[kernel] or more (16-aligned). */
  private elementwise(kernel: ParallelKernel, n: number, args: (at: number, count: number) => number[]): void {
    this.run(kernel, ranges(n, pieces(n, GRAIN[kernel] ?? n, this.threads), 16).map(([at, count]) => args(at, count)));
  }

  /** The scratch block as one 64-byte aligned slice of `bytes` per thread. */
  private perThreadScratch(bytes: number): { ptr: number; stride: number } {
    const stride = Math.ceil(bytes / 64) * 64;
    return { ptr: this.memory.scratch(stride * this.threads).ptr, stride };
  }

  private exports(): SnellExports {
    if (!this.wasm) throw new BackendError('wasm backend: used after destroy(): create a new backend');
    return this.wasm;
  }
}

/**
 * Dropout's arguments for the kernels: the seed as u32, cut = ⌈p·2^24⌉ (keep ⟺ the hash's 24-bit draw
 * ≥ cut, which is exactly u ≥ p for the float64 p) and scale = 1/(1−p), 0 when everything drops.
 */
function dropParams(p: number, seed: number): { seed32: number; cut: number; scale: number } {
  return { seed32: seed >>> 0, cut: Math.ceil(p * 2 ** 24), scale: p < 1 ? 1 / (1 - p) : 0 };
}
