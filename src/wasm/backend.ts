// The wasm backend: the contract of src/backend.ts on the CPU, with the kernels of assembly/
// (AssemblyScript, f32x4 SIMD) working on tensors that live in the module's linear memory.
// Every primitive runs synchronously when called, so there is never queued work: read() resolves
// at once with a copy, flush() is a no-op and free() releases immediately.
// Threads: given a ThreadHost (runtimes/ pass one) and shared memory, the big primitives (matmul,
// the merge and its backward, sparsify and its backward, attention per sample, layerNorm rows, bias
// rows, GELU, dropout, zero-fill, copies and sums) are cut into per-thread calls on a ThreadPool
// (threads.ts, split.ts); the rest run on the calling thread.
// Results are the same for every thread count. Without a host or shared memory: one thread.
// Memory: one 4 GiB wasm32 address space per backend, managed by LinearAllocator; kernels that need
// scratch (packing for matmul, merge and attention, the merge backward's dB partials, dS of the
// attention backward, the float64 column sums of the layerNorm backward, sparsify's per-piece
// counts) share one block that only grows (one slice per thread). Typed-array views are re-created
// whenever the memory has grown (its old ArrayBuffer is then detached, or for shared memory, a
// longer one replaces it).

import {
  type AdamWStep, type Backend, BackendError, type DType, type MatmulOptions, type MergeKernel, type PoolMode, type Tensor,
} from '../backend.js';
import { LinearAllocator } from './alloc.js';
import { instantiateShared, instantiateSnell, SHARED_MODULE, sharedMemory, type SnellExports } from './instance.js';
import { gemmCalls, MERGE_GROUPS, pieces, ranges } from './split.js';
import { type ParallelKernel, type ThreadHost, ThreadPool } from './threads.js';
import { WasmTensor, describe, expectDistinct, expectShape, expectSize, sizeOf } from './tensor.js';

const MiB = 2 ** 20;

export interface WasmBackendOptions {
  /** Threads to run kernels on, the calling one included (default: the host's cores; 1 without a host). */
  threads?: number;
  /** How this runtime starts workers (runtimes/ pass theirs); without one the backend uses one thread. */
  host?: ThreadHost;
  /**
   * The single-thread kernels module compiled ahead (`import snell from 'snell-js/snell.wasm'` where a
   * bundler or an edge runtime gives a WebAssembly.Module), for hosts that compile no Wasm at run time.
   * It runs on one thread.
   */
  module?: WebAssembly.Module;
  /** Why this backend runs on one thread, said in `description` (e.g. an edge runtime has no workers). */
  singleThreadReason?: string;
}

/**
 * Creates a wasm backend with its own module instance and memory: shared with threads − 1 workers
 * when there is a host, more than one thread is asked for and the runtime has shared memory. When
 * workers fail to start (e.g. a content security policy refusing blob: workers), an explicit
 * `threads` is an error; the default count falls back to one thread (`description` says so).
 */
export async function createWasmBackend(options: WasmBackendOptions = {}): Promise<Backend> {
  const { host, module } = options;
  const threads = options.threads ?? (module ? 1 : host?.cores ?? 1);
  if (!Number.isInteger(threads) || threads < 1) throw new BackendError(`wasm backend: threads must be an integer ≥ 1, got ${threads}`);
  if (module && threads > 1) {
    throw new BackendError(`wasm backend: a precompiled module runs on one thread, ${threads} were asked for: leave threads unset or pass the bytes instead`);
  }
  const reason = options.singleThreadReason ?? (module ? 'precompiled module' : undefined);
  if (module) return new WasmBackend(await instantiateSnell(module), null, undefined, reason);
  const memory = host && threads > 1 ? sharedMemory() : null;
  if (host && memory) {
    const wasm = await instantiateShared(memory);
    const control = wasm.heapBase() >>> 0;
    const pool = await ThreadPool.start(host, wasm, SHARED_MODULE, control, threads).catch((e: unknown) => {
      if (options.threads !== undefined) throw e;
      return null;
    });
    if (pool) return new WasmBackend(wasm, pool, control + ThreadPool.controlBytes(threads));
  }
  return new WasmBackend(await instantiateSnell(), null, undefined, reason);
}

/** Distance terms (n·m·H·k) each thread should at least get before a merge or its backward is split. */
const MERGE_GRAIN = 2 ** 18;

/** Elements per thread, at least, before an elementwise kernel is split (≈ 50 µs of work each). */
const GRAIN: Partial<Record<ParallelKernel, number>> = {
  gelu: 2 ** 12, geluBackward: 2 ** 12, dropout: 2 ** 14, zero: 2 ** 18, copy: 2 ** 17, add: 2 ** 17, addInto: 2 ** 17,
};

export class WasmBackend implements Backend {
  readonly kind = 'wasm' as const;
  readonly description: string;
  readonly maxElements: number;

  private wasm: SnellExports | null;
  private readonly heap: LinearAllocator;
  private readonly live = new Set<WasmTensor>();
  private buffer: ArrayBuffer | null = null;
  private f32view = new Float32Array(0);
  private u32view = new Uint32Array(0);
  private scratchPtr = 0;
  private scratchBytes = 0;

  /** `pool` runs on `wasm`'s shared memory; the heap starts at `base` (after the pool's control block). */
  constructor(wasm: SnellExports, private readonly pool: ThreadPool | null = null, base = wasm.heapBase() >>> 0, singleThreadReason?: string) {
    this.wasm = wasm;
    this.heap = new LinearAllocator(wasm.memory, base);
    this.maxElements = Math.floor(this.heap.maxBlock / 4);
    const threads = pool?.size ?? 1;
    this.description = `wasm32 SIMD (AssemblyScript), ${threads} thread${threads > 1 ? 's' : ''}` +
      (threads === 1 && singleThreadReason ? ` (${singleThreadReason})` : '');
  }

  /** Threads the kernels run on, the calling one included. */
  get threads(): number {
    return this.pool?.size ?? 1;
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
    this.elementwise('zero', t.size, (at, n) => [t.ptr + 4 * at, n]);
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
    this.pool?.destroy();
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
    const s = this.scratch(w.mergeScratchBytes(H, m, k, 0, 0) >>> 0, coeff);
    w.packB4(this.ptr(B), H, m, k, s.ptr);
    const [pa, pw, linear] = [this.ptr(A), this.ptr(W), kernel === 'linear' ? 1 : 0];
    this.run('merge', ranges(n, pieces(n * m * H * k, MERGE_GRAIN, this.threads)).map(([i, rows]) => [
      pa, s.ptr, H, n, m, k, linear, s.coeff, pw, i, rows,
    ]));
  }

  mergeBackward(A: Tensor, B: Tensor, dW: Tensor, kernel: MergeKernel, coeff: readonly number[], dA: Tensor, dB: Tensor): void {
    const w = this.exports();
    const { H, n, m, k } = this.mergeDims(A, B, kernel, coeff);
    expectShape(dW, [n, m], 'dW');
    expectShape(dA, [H, n, k], 'dA');
    expectShape(dB, [H, m, k], 'dB');
    expectDistinct({ dA, dB }, { A, B, dW });
    if (dA === dB) throw new BackendError('wasm backend: dA and dB are the same tensor: pass two outputs');
    // scratch: packed B, MERGE_GROUPS packed dB partials, one dA accumulator per thread
    const s = this.scratch(w.mergeScratchBytes(H, m, k, MERGE_GROUPS, this.threads) >>> 0, coeff);
    const packedBytes = Math.ceil(m / 4) * H * k * 16;
    const [partials, accs] = [s.ptr + packedBytes, s.ptr + packedBytes * (1 + MERGE_GROUPS)];
    w.packB4(this.ptr(B), H, m, k, s.ptr);
    const [pa, pdw, pda, pdb, linear] = [this.ptr(A), this.ptr(dW), this.ptr(dA), this.ptr(dB), kernel === 'linear' ? 1 : 0];
    this.run('mergeBackward', ranges(MERGE_GROUPS, pieces(n * m * H * k, MERGE_GRAIN, this.threads)).map(([g, count], t) => [
      pa, s.ptr, pdw, H, n, m, k, linear, s.coeff, pda, g, g + count, MERGE_GROUPS, accs + t * H * k * 16,
    ]));
    this.run('mergeBackwardReduce', ranges(m, pieces(m * H * k * MERGE_GROUPS, 2 ** 16, this.threads)).map(([o, count]) => [
      partials, MERGE_GROUPS, H, m, k, pdb, o, count,
    ]));
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
    const [pw, pt, pws, N] = [this.ptr(W), this.ptr(threshold), this.ptr(Ws), W.size];
    const parts = ranges(N, pieces(N, 2 ** 17, this.threads), 16);
    if (parts.length === 1) {
      w.sparsify(pw, N, pt, pws, this.ptr(kept));
      return;
    }
    // each piece counts its own kept elements; the (exact, integer) counts are summed here
    const counts = this.scratch(4 * parts.length).ptr;
    this.run('sparsify', parts.map(([at, len], i) => [pw + 4 * at, len, pt, pws + 4 * at, counts + 4 * i]));
    const u32 = this.u32();
    u32[this.ptr(kept) >>> 2] = parts.reduce((sum, _, i) => sum + u32[(counts >>> 2) + i], 0);
  }

  sparsifyBackward(G: Tensor, W: Tensor, threshold: Tensor, dW: Tensor): void {
    this.own(W, 'W');
    expectSize(W, W.size, 'W');
    expectSize(G, W.size, 'G');
    expectSize(threshold, 1, 'threshold');
    expectSize(dW, W.size, 'dW');
    const [pg, pw, pt, pdw, N] = [this.ptr(G), this.ptr(W), this.ptr(threshold), this.ptr(dW), W.size];
    this.run('sparsifyBackward', ranges(N, pieces(N, 2 ** 17, this.threads), 16).map(([at, len]) => [
      pg + 4 * at, pw + 4 * at, len, pt, pdw + 4 * at,
    ]));
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
    const s = this.perThreadScratch(w.matmulScratchBytes() >>> 0);
    this.run('gemm', gemmCalls(this.ptr(a), this.ptr(b), this.ptr(out), M, N, K, transA, transB, accumulate, s.ptr, s.stride, this.threads));
  }

  // ---- transformer primitives (kernels in assembly/: elementwise, reduce, layernorm, attention,
  //      tokens, xent, adamw, dropout; a null optional output is passed as pointer 0) ----

  add(a: Tensor, b: Tensor, out: Tensor): void {
    const n = this.flat(a, 'a');
    expectSize(b, n, 'b');
    expectSize(out, n, 'out');
    expectDistinct({ out }, { a, b });
    this.elementwise('add', n, (at, len) => [this.ptr(a) + 4 * at, this.ptr(b) + 4 * at, this.ptr(out) + 4 * at, len]);
  }

  addInto(out: Tensor, a: Tensor): void {
    const n = this.flat(out, 'out');
    expectSize(a, n, 'a');
    expectDistinct({ out }, { a });
    this.elementwise('addInto', n, (at, len) => [this.ptr(out) + 4 * at, this.ptr(a) + 4 * at, len]);
  }

  addBias(out: Tensor, bias: Tensor): void {
    const [R, N] = this.rows(out, 'out');
    expectSize(bias, N, 'bias');
    expectDistinct({ out }, { bias });
    const [po, pb] = [this.ptr(out), this.ptr(bias)];
    this.run('addBias', ranges(R, pieces(R * N, 2 ** 17, this.threads)).map(([r, rows]) => [po + 4 * r * N, pb, rows, N]));
  }

  sumRows(x: Tensor, out: Tensor, accumulate = false): void {
    const w = this.exports();
    const [R, N] = this.rows(x, 'x');
    expectSize(out, N, 'out');
    expectDistinct({ out }, { x });
    w.sumRows(this.ptr(x), R, N, this.ptr(out), accumulate ? 1 : 0);
  }

  copy(src: Tensor, out: Tensor): void {
    this.own(src, 'src');
    expectSize(out, src.size, 'out', src.dtype);
    expectDistinct({ out }, { src });
    this.elementwise('copy', src.size, (at, n) => [this.ptr(src) + 4 * at, this.ptr(out) + 4 * at, n]);
  }

  layerNorm(x: Tensor, wt: Tensor, b: Tensor, eps: number, out: Tensor, mean: Tensor, rstd: Tensor): void {
    const [R, D] = this.rows(x, 'x');
    expectSize(wt, D, 'w');
    expectSize(b, D, 'b');
    expectSize(out, R * D, 'out');
    expectSize(mean, R, 'mean');
    expectSize(rstd, R, 'rstd');
    if (!(eps >= 0 && Number.isFinite(eps))) throw new BackendError(`wasm backend: layerNorm eps must be a finite number ≥ 0, got ${eps}`);
    this.distinctOutputs({ out, mean, rstd }, { x, w: wt, b });
    const [px, pw, pb, po, pm, pr] = [x, wt, b, out, mean, rstd].map((t) => this.ptr(t));
    this.run('layerNorm', ranges(R, pieces(R * D, 2 ** 15, this.threads)).map(([r, n]) => [
      px + 4 * r * D, pw, pb, n, D, eps, po + 4 * r * D, pm + 4 * r, pr + 4 * r,
    ]));
  }

  layerNormBackward(dy: Tensor, x: Tensor, wt: Tensor, mean: Tensor, rstd: Tensor, dx: Tensor, dw: Tensor | null, db: Tensor | null): void {
    const w = this.exports();
    const [R, D] = this.rows(x, 'x');
    expectSize(dy, R * D, 'dy');
    expectSize(wt, D, 'w');
    expectSize(mean, R, 'mean');
    expectSize(rstd, R, 'rstd');
    expectSize(dx, R * D, 'dx');
    if (dw) expectSize(dw, D, 'dw');
    if (db) expectSize(db, D, 'db');
    this.distinctOutputs({ dx, ...(dw ? { dw } : {}), ...(db ? { db } : {}) }, { dy, x, w: wt, mean, rstd });
    const s = this.scratch(w.layerNormScratchBytes(D) >>> 0);
    w.layerNormBackward(
      this.ptr(dy), this.ptr(x), this.ptr(wt), this.ptr(mean), this.ptr(rstd), R, D,
      this.ptr(dx), dw ? this.ptr(dw) : 0, db ? this.ptr(db) : 0, s.ptr,
    );
  }

  gelu(x: Tensor, out: Tensor): void {
    const n = this.flat(x, 'x');
    expectSize(out, n, 'out');
    expectDistinct({ out }, { x });
    this.elementwise('gelu', n, (at, len) => [this.ptr(x) + 4 * at, this.ptr(out) + 4 * at, len]);
  }

  geluBackward(dy: Tensor, x: Tensor, dx: Tensor): void {
    const n = this.flat(x, 'x');
    expectSize(dy, n, 'dy');
    expectSize(dx, n, 'dx');
    expectDistinct({ dx }, { dy, x });
    this.elementwise('geluBackward', n, (at, len) => [this.ptr(dy) + 4 * at, this.ptr(x) + 4 * at, this.ptr(dx) + 4 * at, len]);
  }

  attention(q: Tensor, k: Tensor, v: Tensor, heads: number, out: Tensor, probs: Tensor): void {
    const w = this.exports();
    const [B, T, D] = this.tokens(q, 'q');
    this.attentionHeads(D, heads);
    for (const [name, t] of [['k', k], ['v', v], ['out', out]] as const) expectShape(t, [B, T, D], name);
    expectSize(probs, B * heads * T * T, 'probs');
    this.distinctOutputs({ out, probs }, { q, k, v });
    const s = this.perThreadScratch(w.attentionScratchBytes(T) >>> 0);
    const [pq, pk, pv, po, pp] = [q, k, v, out, probs].map((t) => this.ptr(t));
    this.run('attention', ranges(B, this.threads).map(([b, n], i) => {
      const at = 4 * b * T * D;
      return [pq + at, pk + at, pv + at, n, T, D, heads, po + at, pp + 4 * b * heads * T * T, s.ptr + i * s.stride];
    }));
  }

  attentionBackward(dOut: Tensor, q: Tensor, k: Tensor, v: Tensor, probs: Tensor, heads: number, dq: Tensor, dk: Tensor, dv: Tensor): void {
    const w = this.exports();
    const [B, T, D] = this.tokens(q, 'q');
    this.attentionHeads(D, heads);
    for (const [name, t] of [['dOut', dOut], ['k', k], ['v', v], ['dq', dq], ['dk', dk], ['dv', dv]] as const) expectShape(t, [B, T, D], name);
    expectSize(probs, B * heads * T * T, 'probs');
    this.distinctOutputs({ dq, dk, dv }, { dOut, q, k, v, probs });
    const s = this.perThreadScratch(w.attentionScratchBytes(T) >>> 0);
    const [pdo, pq, pk, pv, pp, pdq, pdk, pdv] = [dOut, q, k, v, probs, dq, dk, dv].map((t) => this.ptr(t));
    this.run('attentionBackward', ranges(B, this.threads).map(([b, n], i) => {
      const at = 4 * b * T * D;
      return [pdo + at, pq + at, pk + at, pv + at, pp + 4 * b * heads * T * T, n, T, D, heads, pdq + at, pdk + at, pdv + at, s.ptr + i * s.stride];
    }));
  }

  embedTokens(patches: Tensor, cls: Tensor, pos: Tensor, out: Tensor): void {
    const w = this.exports();
    const [B, T, D] = this.tokens(out, 'out');
    expectSize(patches, B * (T - 1) * D, 'patches');
    expectSize(cls, D, 'cls');
    expectSize(pos, T * D, 'pos');
    expectDistinct({ out }, { patches, cls, pos });
    w.embedTokens(this.ptr(patches), this.ptr(cls), this.ptr(pos), this.ptr(out), B, T, D);
  }

  embedTokensBackward(dOut: Tensor, dPatches: Tensor | null, dCls: Tensor | null, dPos: Tensor | null): void {
    const w = this.exports();
    const [B, T, D] = this.tokens(dOut, 'dOut');
    if (dPatches) expectSize(dPatches, B * (T - 1) * D, 'dPatches');
    if (dCls) expectSize(dCls, D, 'dCls');
    if (dPos) expectSize(dPos, T * D, 'dPos');
    const outs: Record<string, Tensor> = {};
    if (dPatches) outs.dPatches = dPatches;
    if (dCls) outs.dCls = dCls;
    if (dPos) outs.dPos = dPos;
    this.distinctOutputs(outs, { dOut });
    w.embedTokensBackward(this.ptr(dOut), dPatches ? this.ptr(dPatches) : 0, dCls ? this.ptr(dCls) : 0, dPos ? this.ptr(dPos) : 0, B, T, D);
  }

  poolTokens(x: Tensor, mode: PoolMode, out: Tensor): void {
    const w = this.exports();
    const [B, T, D] = this.tokens(x, 'x');
    expectSize(out, B * D, 'out');
    expectDistinct({ out }, { x });
    w.poolTokens(this.ptr(x), poolMode(mode), this.ptr(out), B, T, D);
  }

  poolTokensBackward(dOut: Tensor, mode: PoolMode, dx: Tensor): void {
    const w = this.exports();
    const [B, T, D] = this.tokens(dx, 'dx');
    expectSize(dOut, B * D, 'dOut');
    expectDistinct({ dx }, { dOut });
    w.poolTokensBackward(this.ptr(dOut), poolMode(mode), this.ptr(dx), B, T, D);
  }

  softmaxCrossEntropy(logits: Tensor, labels: Tensor, loss: Tensor, dLogits: Tensor, correct: Tensor): void {
    const w = this.exports();
    const [B, C] = this.matrixDims(logits, 'logits');
    expectSize(labels, B, 'labels', 'u32');
    expectSize(loss, 1, 'loss');
    expectSize(dLogits, B * C, 'dLogits');
    expectSize(correct, 1, 'correct', 'u32');
    this.distinctOutputs({ loss, dLogits, correct }, { logits, labels });
    if (B === 0) throw new BackendError('wasm backend: softmaxCrossEntropy of an empty batch is undefined: pass at least one row of logits');
    const at = this.ptr(labels) >>> 2;
    const u = this.u32();
    for (let i = 0; i < B; i++) {
      if (u[at + i] >= C) throw new BackendError(`wasm backend: label ${u[at + i]} of sample ${i} is out of range for ${C} classes: labels must be in [0, ${C})`);
    }
    w.softmaxCrossEntropy(this.ptr(logits), this.ptr(labels), B, C, this.ptr(loss), this.ptr(dLogits), this.ptr(correct));
  }

  sumSquares(x: Tensor, out: Tensor, accumulate = false): void {
    const w = this.exports();
    const n = this.flat(x, 'x');
    expectSize(out, 1, 'out');
    expectDistinct({ out }, { x });
    w.sumSquares(this.ptr(x), n, this.ptr(out), accumulate ? 1 : 0);
  }

  clipFactor(sumSq: Tensor, maxNorm: number, factor: Tensor): void {
    const w = this.exports();
    this.own(sumSq, 'sumSq');
    expectSize(sumSq, 1, 'sumSq');
    expectSize(factor, 1, 'factor');
    if (!(maxNorm > 0 && Number.isFinite(maxNorm))) throw new BackendError(`wasm backend: clipFactor maxNorm must be a finite number > 0, got ${maxNorm}`);
    expectDistinct({ factor }, { sumSq });
    w.clipFactor(this.ptr(sumSq), maxNorm, this.ptr(factor));
  }

  adamw(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, gradScale: Tensor | null, hp: AdamWStep): void {
    const w = this.exports();
    const n = this.flat(param, 'param');
    for (const [name, t] of [['grad', grad], ['m', m], ['v', v]] as const) expectSize(t, n, name);
    if (gradScale) expectSize(gradScale, 1, 'gradScale');
    const ins: Record<string, Tensor> = { grad };
    if (gradScale) ins.gradScale = gradScale;
    this.distinctOutputs({ param, m, v }, ins);
    const { lr, beta1, beta2, eps, weightDecay, step } = hp;
    const bad = (
      [['lr', lr >= 0], ['beta1', beta1 >= 0 && beta1 < 1], ['beta2', beta2 >= 0 && beta2 < 1], ['eps', eps >= 0], ['weightDecay', weightDecay >= 0]] as const
    ).find(([name, ok]) => !ok || !Number.isFinite(hp[name]));
    if (bad) throw new BackendError(`wasm backend: AdamW ${bad[0]} = ${hp[bad[0]]} is out of range (lr, eps, weightDecay ≥ 0; betas in [0, 1))`);
    if (!Number.isInteger(step) || step < 1) throw new BackendError(`wasm backend: AdamW step must be an integer ≥ 1 (t counts from 1), got ${step}`);
    // torch computes these in Python floats (float64)
    const bc1 = 1 - beta1 ** step;
    const bc2 = 1 - beta2 ** step;
    w.adamw(
      this.ptr(param), this.ptr(grad), this.ptr(m), this.ptr(v), n, gradScale ? this.ptr(gradScale) : 0,
      1 - lr * weightDecay, lr / bc1, beta1, beta2, eps, Math.sqrt(bc2),
    );
  }

  dropout(x: Tensor, p: number, seed: number, out: Tensor): void {
    const n = this.flat(x, 'x');
    expectSize(out, n, 'out');
    expectDistinct({ out }, { x });
    const { seed32, cut, scale } = dropParams(p, seed);
    const [px, po] = [this.ptr(x), this.ptr(out)];
    if (p === 0) this.elementwise('copy', n, (at, len) => [px + 4 * at, po + 4 * at, len]);
    else this.elementwise('dropout', n, (at, len) => [px + 4 * at, po + 4 * at, len, at, seed32, cut, scale]);
  }

  dropPath(x: Tensor, p: number, seed: number, out: Tensor): void {
    const w = this.exports();
    const n = this.flat(x, 'x');
    if (x.shape.length < 1) throw new BackendError(`wasm backend: dropPath input is ${describe(x)}: it needs a leading sample dimension`);
    const B = x.shape[0];
    expectShape(out, x.shape, 'out');
    expectDistinct({ out }, { x });
    const { seed32, cut, scale } = dropParams(p, seed);
    if (p === 0) w.copy(this.ptr(x), this.ptr(out), n);
    else w.dropPath(this.ptr(x), this.ptr(out), B, B === 0 ? 0 : n / B, seed32, cut, scale);
  }

  maskScale(x: Tensor, mask: Tensor, scale: number, out: Tensor): void {
    const n = this.flat(x, 'x');
    const m = this.flat(mask, 'mask');
    expectShape(out, x.shape, 'out');
    expectDistinct({ out }, { x, mask });
    if (m === 0 ? n !== 0 : n % m !== 0) throw new BackendError(`wasm backend: maskScale mask of ${m} elements does not divide x ${describe(x)}`);
    if (!Number.isFinite(scale)) throw new BackendError(`wasm backend: maskScale scale must be finite, got ${scale}`);
    this.exports().maskScale(this.ptr(x), this.ptr(mask), this.ptr(out), m, m === 0 ? 0 : n / m, scale);
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
    return { ptr: this.scratch(stride * this.threads).ptr, stride };
  }

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

  /** Element count of an f32 tensor of this backend. */
  private flat(t: Tensor, name: string): number {
    this.own(t, name);
    expectSize(t, t.size, name);
    return t.size;
  }

  /** [rows, features] of an f32 tensor: the last dimension is the feature dimension. */
  private rows(t: Tensor, name: string): [number, number] {
    this.own(t, name);
    if (t.shape.length < 1 || t.dtype !== 'f32') throw new BackendError(`wasm backend: ${name} is ${describe(t)}, expected f32 rows [..., N]`);
    const N = t.shape[t.shape.length - 1];
    return [N === 0 ? 0 : t.size / N, N];
  }

  /** [B, T, D] of an f32 token tensor. */
  private tokens(t: Tensor, name: string): [number, number, number] {
    this.own(t, name);
    if (t.shape.length !== 3 || t.dtype !== 'f32') throw new BackendError(`wasm backend: ${name} is ${describe(t)}, expected f32[B, T, D]`);
    if (t.shape[1] < 1) throw new BackendError(`wasm backend: ${name} is ${describe(t)}: it needs at least one token (T ≥ 1)`);
    return [t.shape[0], t.shape[1], t.shape[2]];
  }

  private attentionHeads(D: number, heads: number): void {
    if (!Number.isInteger(heads) || heads < 1 || D % heads !== 0) {
      throw new BackendError(`wasm backend: ${heads} attention heads do not divide the feature dimension ${D}: pass a head count that divides it`);
    }
  }

  /** expectDistinct, plus: no two outputs share storage. */
  private distinctOutputs(outs: Record<string, Tensor>, ins: Record<string, Tensor>): void {
    for (const [name, t] of Object.entries({ ...outs, ...ins })) this.own(t, name);
    expectDistinct(outs, ins);
    const seen = new Map<Tensor, string>();
    for (const [name, t] of Object.entries(outs)) {
      const other = seen.get(t);
      if (other) throw new BackendError(`wasm backend: outputs ${other} and ${name} are the same tensor: pass separate outputs`);
      seen.set(t, name);
    }
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

function poolMode(mode: PoolMode): number {
  if (mode !== 'cls' && mode !== 'mean') throw new BackendError(`wasm backend: unknown pooling mode "${mode}": use 'cls' or 'mean'`);
  return mode === 'cls' ? 0 : 1;
}

/**
 * Dropout's arguments for the kernels: the seed as u32, cut = ⌈p·2^24⌉ (keep ⟺ the hash's 24-bit draw
 * ≥ cut, which is exactly u ≥ p for the float64 p) and scale = 1/(1−p), 0 when everything drops.
 */
function dropParams(p: number, seed: number): { seed32: number; cut: number; scale: number } {
  if (!(p >= 0 && p <= 1)) throw new BackendError(`wasm backend: dropout probability must be in [0, 1], got ${p}`);
  if (!Number.isInteger(seed)) throw new BackendError(`wasm backend: dropout seed must be an integer (used mod 2^32), got ${seed}`);
  return { seed32: seed >>> 0, cut: Math.ceil(p * 2 ** 24), scale: p < 1 ? 1 / (1 - p) : 0 };
}
