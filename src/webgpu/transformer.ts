// The transformer and decoder primitives of src/backend.ts on the WebGPU kernels (wgsl/elementwise, reduce,
// layernorm, attention, tokens, lookup, xent, adamw, importance): uniform parameters and dispatch sizes for arguments the contract
// (src/contract) has checked. Everything is encoded into the backend's one command encoder; scratch
// buffers (partial sums, dS) come from the buffer pool and are released right after encoding (the pool
// reuses them only after submit).

import type { AdamWStep, AttentionOptions, PoolMode, Tensor } from '../backend.js';
import { type AttentionShape, attentionShape, matrixDims } from '../contract/shapes.js';
import { f32bits } from './commands.js';
import type { KernelHost } from './host.js';
import { TRANSFORMER_KERNELS as K, WG } from './kernels.js';
import type { KernelSpec } from './pipelines.js';
import type { GpuTensor } from './pool.js';

const ceil = (a: number, b: number) => Math.ceil(a / b);

export class TransformerOps {
  constructor(private readonly host: KernelHost) {}

  // ---- elementwise.wgsl ----

  add(a: Tensor, b: Tensor, out: Tensor): void {
    this.elementwise(K.add, a.size, [a, b, out]);
  }

  addTransposed(a: Tensor, b: Tensor, out: Tensor): void {
    this.elementwise(K.addTransposed, a.size, [a, b, out], a.shape[1]);
  }

  addInto(out: Tensor, a: Tensor): void {
    this.elementwise(K.addInto, out.size, [a, out]);
  }

  addBias(out: Tensor, bias: Tensor): void {
    this.elementwise(K.addBias, out.size, [bias, out], bias.size);
  }

  copy(src: Tensor, out: Tensor): void {
    const [s, o] = [src as GpuTensor, out as GpuTensor];
    if (s.size > 0) this.host.encoder().copyBufferToBuffer(s.buffer!, 0, o.buffer!, 0, s.size * 4);
  }

  gelu(x: Tensor, out: Tensor): void {
    this.elementwise(K.gelu, x.size, [x, out]);
  }

  geluBackward(dy: Tensor, x: Tensor, dx: Tensor): void {
    this.elementwise(K.geluBackward, x.size, [dy, x, dx]);
  }

  dropout(x: Tensor, p: number, seed: number, out: Tensor): void {
    this.noise(K.dropout, x, p, seed, out, 1);
  }

  dropPath(x: Tensor, p: number, seed: number, out: Tensor): void {
    const samples = x.shape[0];
    this.noise(K.dropPath, x, p, seed, out, samples === 0 ? 1 : x.size / samples);
  }

  maskScale(x: Tensor, mask: Tensor, scale: number, out: Tensor): void {
    const n = x.size;
    if (n === 0) return;
    const hi = Math.fround(scale);
    this.elementwise(K.maskScale, n, [x, mask, out], n / mask.size, [0, 0, f32bits(hi), f32bits(scale - hi)]);
  }

  // ---- reduce.wgsl ----

  sumRows(x: Tensor, out: Tensor, accumulate = false): void {
    const [R, N] = matrixDims(x);
    this.columnSums(x, R, N, out, accumulate);
  }

  sumSquares(x: Tensor, out: Tensor, accumulate = false): void {
    const n = x.size;
    const groups = ceil(n, WG.sumSquaresElements);
    const partial = this.host.scratch(groups * 4);
    const params = this.reduceParams({ n, accumulate });
    this.host.run(K.sumSquaresPartial, {}, params, [x, { buffer: partial }], groups);
    this.host.run(K.sumSquaresTotal, {}, params, [{ buffer: partial }, out], 1);
    this.host.release(partial);
  }

  clipFactor(sumSq: Tensor, maxNorm: number, factor: Tensor): void {
    this.host.run(K.clipFactor, {}, this.reduceParams({ maxNorm }), [sumSq, factor], 1);
  }

  // ---- layernorm.wgsl ----

  layerNorm(x: Tensor, w: Tensor, b: Tensor, eps: number, out: Tensor, mean: Tensor, rstd: Tensor): void {
    const [R, D] = matrixDims(x);
    this.host.run(K.layerNorm, {}, [R, D, f32bits(eps), 0, 0], [x, w, b, out, mean, rstd], R);
  }

  layerNormBackward(
    dy: Tensor,
    x: Tensor,
    w: Tensor,
    mean: Tensor,
    rstd: Tensor,
    dx: Tensor,
    dw: Tensor | null,
    db: Tensor | null,
  ): void {
    const [R, D] = matrixDims(x);
    this.host.run(K.layerNormDx, {}, [R, D, 0, 0, 0], [dy, x, w, mean, rstd, dx], R);
    if (!dw && !db) return;
    const rpc = WG.rowsPerChunk;
    const chunks = ceil(R, rpc);
    const partial = this.host.scratch(2 * chunks * D * 4);
    this.host.run(
      K.layerNormPartial,
      {},
      [R, D, 0, rpc, chunks],
      [dy, x, mean, rstd, { buffer: partial }],
      ceil(D, WG.reduce) * chunks,
    );
    for (const [t, base] of [
      [dw, 0],
      [db, chunks * D],
    ] as const) {
      if (!t) continue;
      const params = this.reduceParams({ cols: D, chunks, base, accumulate: true });
      this.host.run(K.sumChunks, {}, params, [{ buffer: partial }, t], ceil(D, WG.reduce));
    }
    this.host.release(partial);
  }

  // ---- attention_forward.wgsl, attention_backward.wgsl ----

  attention(q: Tensor, k: Tensor, v: Tensor, heads: number, out: Tensor, probs: Tensor, options: AttentionOptions = {}): void {
    const shape = attentionShape(q, k, heads, options);
    const mask = options.keyMask ?? this.host.values([0]);
    const masked = shape.offset >= 0 || options.keyMask !== undefined;
    const blocks = shape.B * heads * ceil(shape.Tq, WG.attentionRows);
    this.host.run(K.attention, { MASKED: masked }, attentionParams(shape, heads, options), [q, k, v, out, probs, mask], blocks);
  }

  attentionBackward(
    dOut: Tensor,
    q: Tensor,
    k: Tensor,
    v: Tensor,
    probs: Tensor,
    heads: number,
    dq: Tensor,
    dk: Tensor,
    dv: Tensor,
    options: AttentionOptions = {},
  ): void {
    const shape = attentionShape(q, k, heads, options);
    const { B, Tq, Tk, kvHeads } = shape;
    const params = attentionParams(shape, heads, options);
    const dS = this.host.scratch(B * heads * Tq * Tk * 4);
    const [rows, cols] = [B * heads * ceil(Tq, WG.attentionRows), B * kvHeads * ceil(Tk, WG.attentionRows)];
    this.host.run(K.attentionRows, {}, params, [dOut, q, k, v, probs, { buffer: dS }, dq], rows);
    this.host.run(K.attentionCols, {}, params, [dOut, q, k, v, probs, { buffer: dS }, dk, dv], cols);
    this.host.release(dS);
  }

  // ---- lookup.wgsl ----

  embed(ids: Tensor, table: Tensor, out: Tensor): void {
    const [V, D] = table.shape;
    const n = ids.size * D;
    this.host.run(K.lookupEmbed, {}, [ids.size, V, D, n], [ids, table, out], ceil(n, WG.elementwise));
  }

  embedBackward(dOut: Tensor, ids: Tensor, dTable: Tensor): void {
    const [V, D] = dTable.shape;
    this.host.run(K.lookupEmbedBackward, {}, [ids.size, V, D, 0], [ids, dOut, dTable], ceil(D, WG.elementwise));
  }

  gatherRows(x: Tensor, index: Tensor, out: Tensor): void {
    const [B, T, D] = x.shape;
    this.host.run(K.lookupGather, {}, [B, T, D, B * D], [index, x, out], ceil(B * D, WG.elementwise));
  }

  gatherRowsBackward(dOut: Tensor, index: Tensor, dx: Tensor): void {
    const [B, T, D] = dx.shape;
    const n = B * T * D;
    this.host.run(K.lookupGatherBackward, {}, [B, T, D, n], [index, dOut, dx], ceil(n, WG.elementwise));
  }

  // ---- tokens.wgsl ----

  embedTokens(patches: Tensor, cls: Tensor, pos: Tensor, out: Tensor): void {
    const [B, T, D] = out.shape;
    const n = B * T * D;
    this.host.run(K.embed, {}, [B, T, D, n, 0], [patches, cls, pos, out], ceil(n, WG.elementwise));
  }

  embedTokensBackward(dOut: Tensor, dPatches: Tensor | null, dCls: Tensor | null, dPos: Tensor | null): void {
    const [B, T, D] = dOut.shape;
    if (dPatches) {
      const n = B * (T - 1) * D;
      this.host.run(K.embedPatchesBackward, {}, [B, T, D, n, 0], [dOut, dPatches], ceil(n, WG.elementwise));
    }
    for (const [t, tcount] of [
      [dCls, 1],
      [dPos, T],
    ] as const) {
      if (!t) continue;
      const n = tcount * D;
      this.host.run(K.embedSumBackward, {}, [B, T, D, n, tcount], [dOut, t], ceil(n, WG.elementwise));
    }
  }

  poolTokens(x: Tensor, mode: PoolMode, out: Tensor): void {
    const [B, T, D] = x.shape;
    this.host.run(K.pool, { MEAN: mode === 'mean' }, [B, T, D, B * D, 0], [x, out], ceil(B * D, WG.elementwise));
  }

  poolTokensBackward(dOut: Tensor, mode: PoolMode, dx: Tensor): void {
    const [B, T, D] = dx.shape;
    const n = B * T * D;
    this.host.run(K.poolBackward, { MEAN: mode === 'mean' }, [B, T, D, n, 0], [dOut, dx], ceil(n, WG.elementwise));
  }

  // ---- xent.wgsl ----

  softmaxCrossEntropy(logits: Tensor, labels: Tensor, loss: Tensor, dLogits: Tensor, correct: Tensor): void {
    const [B, C] = logits.shape;
    const partial = this.host.scratch(2 * B * 4);
    this.host.run(K.xentRows, {}, [B, C], [logits, labels, dLogits, { buffer: partial }], B);
    this.host.run(K.xentTotal, {}, [B, C], [{ buffer: partial }, loss, correct], 1);
    this.host.release(partial);
  }

  tokenCrossEntropy(logits: Tensor, labels: Tensor, loss: Tensor, dLogits: Tensor, correct: Tensor): void {
    const [N, V] = matrixDims(logits);
    const [partial, counted] = [this.host.scratch(Math.max(2 * N, 1) * 4), this.host.scratch(4)];
    this.host.run(K.tokenCount, {}, [N, V], [labels, { buffer: counted }], 1);
    this.host.run(K.tokenRows, {}, [N, V], [logits, labels, dLogits, { buffer: partial }, { buffer: counted }], N);
    this.host.run(K.tokenTotal, {}, [N, V], [{ buffer: partial }, loss, correct, { buffer: counted }], 1);
    this.host.release(partial);
    this.host.release(counted);
  }

  // ---- adamw.wgsl ----

  adamw(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, gradScale: Tensor | null, hp: AdamWStep): void {
    const { lr, beta1, beta2, eps, weightDecay, step } = hp;
    // Bias corrections in float64 on the host, as torch computes them (Python floats).
    const stepSize = lr / (1 - beta1 ** step);
    const invBc2 = 1 / Math.sqrt(1 - beta2 ** step);
    const params = [
      param.size,
      ...[1 - lr * weightDecay, beta1, 1 - beta1, beta2, 1 - beta2, stepSize, invBc2, eps].map(f32bits),
    ];
    this.host.run(K.adamw, {}, params, [param, grad, m, v, gradScale ?? this.host.values([1])], ceil(param.size, WG.elementwise));
  }
  // ---- importance.wgsl ----

  importance(theta: Tensor, grad: Tensor, ipt: Tensor, unc: Tensor, beta1: number, beta2: number, skipped: Tensor): void {
    const params = [theta.size, ...[beta1, 1 - beta1, beta2, 1 - beta2].map(f32bits)];
    this.host.run(K.importance, {}, params, [theta, grad, ipt, unc, skipped], ceil(theta.size, WG.elementwise));
  }

  // ---- helpers ----

  private elementwise(spec: KernelSpec, n: number, buffers: Tensor[], cols = 1, rng: readonly number[] = [0, 0, 0, 0]): void {
    this.host.run(spec, {}, [n, cols, ...rng], buffers, ceil(n, WG.elementwise));
  }

  private noise(spec: KernelSpec, x: Tensor, p: number, seed: number, out: Tensor, cols: number): void {
    if (p === 0) {
      this.copy(x, out); // keep everything, scale 1: an exact copy
      return;
    }
    const keepFrom = Math.ceil(p * 2 ** 24); // u ≥ p ⇔ (hash >> 8) ≥ ⌈p·2^24⌉, exactly
    const s = p < 1 ? 1 / (1 - p) : 0;
    const hi = Math.fround(s);
    this.elementwise(spec, x.size, [x, out], cols, [keepFrom, seed >>> 0, f32bits(hi), f32bits(s - hi)]);
  }

  /** Two-stage column sums of x [R, N] into out [N]: fixed order, no atomics. */
  private columnSums(x: Tensor, R: number, N: number, out: Tensor, accumulate: boolean): void {
    const rpc = WG.rowsPerChunk;
    const chunks = ceil(R, rpc);
    const partial = this.host.scratch(chunks * N * 4);
    const params = this.reduceParams({ rows: R, cols: N, rpc, chunks, accumulate });
    this.host.run(K.sumRowsPartial, {}, params, [x, { buffer: partial }], ceil(N, WG.reduce) * chunks);
    this.host.run(K.sumChunks, {}, params, [{ buffer: partial }, out], ceil(N, WG.reduce));
    this.host.release(partial);
  }

  private reduceParams(o: {
    rows?: number;
    cols?: number;
    rpc?: number;
    chunks?: number;
    base?: number;
    accumulate?: boolean;
    n?: number;
    maxNorm?: number;
  }): number[] {
    return [
      o.rows ?? 0,
      o.cols ?? 0,
      o.rpc ?? 1,
      o.chunks ?? 0,
      o.base ?? 0,
      o.accumulate ? 1 : 0,
      o.n ?? 0,
      f32bits(o.maxNorm ?? 0),
    ];
  }
}

/** The attention kernels' uniform p (attention_prelude.wgsl). */
function attentionParams(s: AttentionShape, heads: number, options: AttentionOptions): number[] {
  const { B, Tq, Tk, D, hd, kvHeads, offset } = s;
  const keyed = options.keyMask ? 1 : 0;
  return [
    B,
    Tq,
    Tk,
    D,
    kvHeads * hd,
    heads,
    heads / kvHeads,
    hd,
    f32bits(hd ** -0.5),
    offset >= 0 ? 1 : 0,
    Math.max(offset, 0),
    keyed,
  ];
}
