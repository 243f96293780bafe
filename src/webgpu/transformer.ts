// The transformer primitives of src/backend.ts on the WebGPU kernels (wgsl/elementwise, reduce, layernorm,
// attention, tokens, xent, adamw): shape checks with actionable errors, uniform parameters, dispatch sizes.
// Everything is encoded into the backend's one command encoder; scratch buffers (partial sums, dS) come
// from the buffer pool and are released right after encoding (the pool reuses them only after submit).

import { BackendError } from '../backend.js';
import type { AdamWStep, PoolMode, Tensor } from '../backend.js';
import { f32bits } from './commands.js';
import { TRANSFORMER_KERNELS as K, WG } from './kernels.js';
import type { Constants, KernelSpec } from './pipelines.js';
import type { GpuTensor } from './pool.js';

/** What the transformer primitives need from the backend. */
export interface KernelHost {
  tensor(t: Tensor, op: string): GpuTensor;
  run(spec: KernelSpec, constants: Constants, params: readonly number[], buffers: ReadonlyArray<Tensor | GPUBufferBinding>, workgroups: number): void;
  /** A pooled scratch buffer of at least `bytes`; hand it back with release() once encoded. */
  scratch(bytes: number): GPUBuffer;
  release(buffer: GPUBuffer): void;
  /** The command encoder outside any compute pass (copies). */
  encoder(): GPUCommandEncoder;
  /** A 1-element f32 buffer holding 1. */
  one(): GPUBufferBinding;
}

const ceil = (a: number, b: number) => Math.ceil(a / b);
const shapeOf = (t: GpuTensor) => `[${t.shape.join(', ')}]`;

export class TransformerOps {
  constructor(private readonly host: KernelHost) {}

  // ---- elementwise.wgsl ----

  add(a: Tensor, b: Tensor, out: Tensor): void {
    const op = 'add';
    const n = this.f32(op, 'a', a).size;
    this.sized(op, { b, out }, n);
    this.distinct(op, { out }, { a, b });
    this.elementwise(K.add, n, [a, b, out]);
  }

  addInto(out: Tensor, a: Tensor): void {
    const op = 'addInto';
    const n = this.f32(op, 'out', out).size;
    this.sized(op, { a }, n);
    this.distinct(op, { out }, { a });
    this.elementwise(K.addInto, n, [a, out]);
  }

  addBias(out: Tensor, bias: Tensor): void {
    const op = 'addBias';
    const N = this.f32(op, 'bias', bias).size;
    const o = this.f32(op, 'out', out);
    if (N === 0 || o.size % N !== 0 || o.shape[o.shape.length - 1] !== N) {
      throw new BackendError(`addBias: out ${shapeOf(o)} must be [R, ${N}] for a bias of ${N} elements`);
    }
    this.distinct(op, { out }, { bias });
    this.elementwise(K.addBias, o.size, [bias, out], N);
  }

  copy(src: Tensor, out: Tensor): void {
    const s = this.host.tensor(src, 'copy');
    const o = this.host.tensor(out, 'copy');
    if (s.size !== o.size || s.dtype !== o.dtype) {
      throw new BackendError(`copy: src is ${s.dtype} ${shapeOf(s)} but out is ${o.dtype} ${shapeOf(o)}: sizes and dtypes must match`);
    }
    this.distinct('copy', { out }, { src });
    if (s.size > 0) this.host.encoder().copyBufferToBuffer(s.buffer!, 0, o.buffer!, 0, s.size * 4);
  }

  gelu(x: Tensor, out: Tensor): void {
    const n = this.f32('gelu', 'x', x).size;
    this.sized('gelu', { out }, n);
    this.distinct('gelu', { out }, { x });
    this.elementwise(K.gelu, n, [x, out]);
  }

  geluBackward(dy: Tensor, x: Tensor, dx: Tensor): void {
    const op = 'geluBackward';
    const n = this.f32(op, 'x', x).size;
    this.sized(op, { dy, dx }, n);
    this.distinct(op, { dx }, { dy, x });
    this.elementwise(K.geluBackward, n, [dy, x, dx]);
  }

  dropout(x: Tensor, p: number, seed: number, out: Tensor): void {
    const n = this.f32('dropout', 'x', x).size;
    this.sized('dropout', { out }, n);
    this.noise('dropout', K.dropout, x, p, seed, out, n, 1);
  }

  dropPath(x: Tensor, p: number, seed: number, out: Tensor): void {
    const g = this.f32('dropPath', 'x', x);
    this.sized('dropPath', { out }, g.size);
    const samples = g.shape.length > 0 ? g.shape[0] : 1;
    this.noise('dropPath', K.dropPath, x, p, seed, out, g.size, samples === 0 ? 1 : g.size / samples);
  }

  maskScale(x: Tensor, mask: Tensor, scale: number, out: Tensor): void {
    const op = 'maskScale';
    const n = this.f32(op, 'x', x).size;
    const m = this.f32(op, 'mask', mask).size;
    this.sized(op, { out }, n);
    this.distinct(op, { out }, { x, mask });
    if (m === 0 ? n !== 0 : n % m !== 0) throw new BackendError(`maskScale: a mask of ${m} elements does not divide x of ${n}`);
    if (!Number.isFinite(scale)) throw new BackendError(`maskScale: scale must be finite, got ${scale}`);
    if (n === 0) return;
    const hi = Math.fround(scale);
    this.elementwise(K.maskScale, n, [x, mask, out], n / m, [0, 0, f32bits(hi), f32bits(scale - hi)]);
  }

  // ---- reduce.wgsl ----

  sumRows(x: Tensor, out: Tensor, accumulate = false): void {
    const op = 'sumRows';
    const N = this.f32(op, 'out', out).size;
    const g = this.f32(op, 'x', x);
    if (N === 0 || g.size % N !== 0 || g.shape[g.shape.length - 1] !== N) {
      throw new BackendError(`sumRows: x ${shapeOf(g)} must be [R, ${N}] for out of ${N} elements`);
    }
    this.distinct(op, { out }, { x });
    this.columnSums(x, g.size / N, N, out, accumulate);
  }

  sumSquares(x: Tensor, out: Tensor, accumulate = false): void {
    const op = 'sumSquares';
    const n = this.f32(op, 'x', x).size;
    this.sized(op, { out }, 1);
    this.distinct(op, { out }, { x });
    const groups = ceil(n, WG.sumSquaresElements);
    const partial = this.host.scratch(groups * 4);
    const params = this.reduceParams({ n, accumulate });
    this.host.run(K.sumSquaresPartial, {}, params, [x, { buffer: partial }], groups);
    this.host.run(K.sumSquaresTotal, {}, params, [{ buffer: partial }, out], 1);
    this.host.release(partial);
  }

  clipFactor(sumSq: Tensor, maxNorm: number, factor: Tensor): void {
    const op = 'clipFactor';
    this.sized(op, { sumSq, factor }, 1);
    if (!(maxNorm > 0) || !Number.isFinite(maxNorm)) throw new BackendError(`clipFactor: maxNorm must be a positive finite number, got ${maxNorm}`);
    this.distinct(op, { factor }, { sumSq });
    this.host.run(K.clipFactor, {}, this.reduceParams({ maxNorm }), [sumSq, factor], 1);
  }

  // ---- layernorm.wgsl ----

  layerNorm(x: Tensor, w: Tensor, b: Tensor, eps: number, out: Tensor, mean: Tensor, rstd: Tensor): void {
    const op = 'layerNorm';
    const { R, D } = this.rows(op, x, w);
    this.sized(op, { b }, D);
    this.sized(op, { out }, R * D);
    this.sized(op, { mean, rstd }, R);
    if (!(eps >= 0)) throw new BackendError(`layerNorm: eps must be ≥ 0, got ${eps}`);
    this.distinct(op, { out, mean, rstd }, { x, w, b });
    this.host.run(K.layerNorm, {}, [R, D, f32bits(eps), 0, 0], [x, w, b, out, mean, rstd], R);
  }

  layerNormBackward(dy: Tensor, x: Tensor, w: Tensor, mean: Tensor, rstd: Tensor, dx: Tensor, dw: Tensor | null, db: Tensor | null): void {
    const op = 'layerNormBackward';
    const { R, D } = this.rows(op, x, w);
    this.sized(op, { dy, dx }, R * D);
    this.sized(op, { mean, rstd }, R);
    const grads = { ...(dw ? { dw } : {}), ...(db ? { db } : {}) };
    this.sized(op, grads, D);
    this.distinct(op, { dx, ...grads }, { dy, x, w, mean, rstd });
    this.host.run(K.layerNormDx, {}, [R, D, 0, 0, 0], [dy, x, w, mean, rstd, dx], R);
    if (!dw && !db) return;
    const rpc = WG.rowsPerChunk;
    const chunks = ceil(R, rpc);
    const partial = this.host.scratch(2 * chunks * D * 4);
    this.host.run(K.layerNormPartial, {}, [R, D, 0, rpc, chunks], [dy, x, mean, rstd, { buffer: partial }], ceil(D, WG.reduce) * chunks);
    for (const [t, base] of [[dw, 0], [db, chunks * D]] as const) {
      if (!t) continue;
      const params = this.reduceParams({ cols: D, chunks, base, accumulate: true });
      this.host.run(K.sumChunks, {}, params, [{ buffer: partial }, t], ceil(D, WG.reduce));
    }
    this.host.release(partial);
  }

  // ---- attention.wgsl ----

  attention(q: Tensor, k: Tensor, v: Tensor, heads: number, out: Tensor, probs: Tensor): void {
    const op = 'attention';
    const s = this.attentionShapes(op, q, heads, probs);
    this.sized(op, { k, v, out }, s.B * s.T * s.D);
    this.distinct(op, { out, probs }, { q, k, v });
    this.host.run(K.attention, {}, s.params, [q, k, v, out, probs], s.B * heads * ceil(s.T, WG.attentionRows));
  }

  attentionBackward(dOut: Tensor, q: Tensor, k: Tensor, v: Tensor, probs: Tensor, heads: number, dq: Tensor, dk: Tensor, dv: Tensor): void {
    const op = 'attentionBackward';
    const s = this.attentionShapes(op, q, heads, probs);
    this.sized(op, { dOut, k, v, dq, dk, dv }, s.B * s.T * s.D);
    this.distinct(op, { dq, dk, dv }, { dOut, q, k, v, probs });
    const dS = this.host.scratch(s.B * heads * s.T * s.T * 4);
    const blocks = s.B * heads * ceil(s.T, WG.attentionRows);
    this.host.run(K.attentionRows, {}, s.params, [dOut, k, v, probs, { buffer: dS }, dq], blocks);
    this.host.run(K.attentionCols, {}, s.params, [dOut, q, probs, { buffer: dS }, dk, dv], blocks);
    this.host.release(dS);
  }

  // ---- tokens.wgsl ----

  embedTokens(patches: Tensor, cls: Tensor, pos: Tensor, out: Tensor): void {
    const op = 'embedTokens';
    const D = this.f32(op, 'cls', cls).size;
    const p = this.f32(op, 'pos', pos);
    const o = this.f32(op, 'out', out);
    if (D === 0 || p.size % D !== 0 || p.size === 0 || o.size % p.size !== 0) {
      throw new BackendError(`embedTokens: cls [${D}], pos ${shapeOf(p)} and out ${shapeOf(o)} must be [D], [T, D] and [B, T, D]`);
    }
    const T = p.size / D;
    const B = o.size / p.size;
    this.sized(op, { patches }, B * (T - 1) * D);
    this.distinct(op, { out }, { patches, cls, pos });
    const n = B * T * D;
    this.host.run(K.embed, {}, [B, T, D, n, 0], [patches, cls, pos, out], ceil(n, WG.elementwise));
  }

  embedTokensBackward(dOut: Tensor, dPatches: Tensor | null, dCls: Tensor | null, dPos: Tensor | null): void {
    const op = 'embedTokensBackward';
    const g = this.f32(op, 'dOut', dOut);
    if (g.shape.length !== 3) throw new BackendError(`embedTokensBackward: dOut ${shapeOf(g)} must be [B, T, D]`);
    const [B, T, D] = g.shape;
    if (dPatches) this.sized(op, { dPatches }, B * (T - 1) * D);
    if (dCls) this.sized(op, { dCls }, D);
    if (dPos) this.sized(op, { dPos }, T * D);
    const outs = { ...(dPatches ? { dPatches } : {}), ...(dCls ? { dCls } : {}), ...(dPos ? { dPos } : {}) };
    this.distinct(op, outs, { dOut });
    if (dPatches) {
      const n = B * (T - 1) * D;
      this.host.run(K.embedPatchesBackward, {}, [B, T, D, n, 0], [dOut, dPatches], ceil(n, WG.elementwise));
    }
    for (const [t, tcount] of [[dCls, 1], [dPos, T]] as const) {
      if (!t || T === 0) continue;
      const n = tcount * D;
      this.host.run(K.embedSumBackward, {}, [B, T, D, n, tcount], [dOut, t], ceil(n, WG.elementwise));
    }
  }

  poolTokens(x: Tensor, mode: PoolMode, out: Tensor): void {
    const op = 'poolTokens';
    const { B, T, D } = this.poolShapes(op, x, mode, out);
    this.distinct(op, { out }, { x });
    this.host.run(K.pool, { MEAN: mode === 'mean' }, [B, T, D, B * D, 0], [x, out], ceil(B * D, WG.elementwise));
  }

  poolTokensBackward(dOut: Tensor, mode: PoolMode, dx: Tensor): void {
    const op = 'poolTokensBackward';
    const { B, T, D } = this.poolShapes(op, dx, mode, dOut);
    this.distinct(op, { dx }, { dOut });
    const n = B * T * D;
    this.host.run(K.poolBackward, { MEAN: mode === 'mean' }, [B, T, D, n, 0], [dOut, dx], ceil(n, WG.elementwise));
  }

  // ---- xent.wgsl ----

  softmaxCrossEntropy(logits: Tensor, labels: Tensor, loss: Tensor, dLogits: Tensor, correct: Tensor): void {
    const op = 'softmaxCrossEntropy';
    const l = this.f32(op, 'logits', logits);
    if (l.shape.length !== 2 || l.shape[1] === 0) throw new BackendError(`softmaxCrossEntropy: logits ${shapeOf(l)} must be [B, C] with C ≥ 1`);
    const [B, C] = l.shape;
    this.u32(op, 'labels', labels, B);
    this.u32(op, 'correct', correct, 1);
    this.sized(op, { loss }, 1);
    this.sized(op, { dLogits }, B * C);
    this.distinct(op, { loss, dLogits, correct }, { logits, labels });
    const partial = this.host.scratch(2 * B * 4);
    this.host.run(K.xentRows, {}, [B, C], [logits, labels, dLogits, { buffer: partial }], B);
    this.host.run(K.xentTotal, {}, [B, C], [{ buffer: partial }, loss, correct], 1);
    this.host.release(partial);
  }

  // ---- adamw.wgsl ----

  adamw(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, gradScale: Tensor | null, hp: AdamWStep): void {
    const op = 'adamw';
    const n = this.f32(op, 'param', param).size;
    this.sized(op, { grad, m, v }, n);
    if (gradScale) this.sized(op, { gradScale }, 1);
    const { lr, beta1, beta2, eps, weightDecay, step } = hp;
    if (!Number.isInteger(step) || step < 1) throw new BackendError(`adamw: step must be an integer ≥ 1 (t counts from 1), got ${step}`);
    if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1)) throw new BackendError(`adamw: betas must lie in [0, 1), got (${beta1}, ${beta2})`);
    if (![lr, eps, weightDecay].every(Number.isFinite)) throw new BackendError(`adamw: lr, eps and weightDecay must be finite, got ${lr}, ${eps}, ${weightDecay}`);
    this.distinct(op, { param, m, v }, { grad, ...(gradScale ? { gradScale } : {}) });
    // Bias corrections in float64 on the host, as torch computes them (Python floats).
    const stepSize = lr / (1 - beta1 ** step);
    const invBc2 = 1 / Math.sqrt(1 - beta2 ** step);
    const params = [n, ...[1 - lr * weightDecay, beta1, 1 - beta1, beta2, 1 - beta2, stepSize, invBc2, eps].map(f32bits)];
    this.host.run(K.adamw, {}, params, [param, grad, m, v, gradScale ?? this.host.one()], ceil(n, WG.elementwise));
  }

  // ---- helpers ----

  private elementwise(spec: KernelSpec, n: number, buffers: Tensor[], cols = 1, rng: readonly number[] = [0, 0, 0, 0]): void {
    this.host.run(spec, {}, [n, cols, ...rng], buffers, ceil(n, WG.elementwise));
  }

  private noise(op: string, spec: KernelSpec, x: Tensor, p: number, seed: number, out: Tensor, n: number, cols: number): void {
    if (!(p >= 0 && p <= 1)) throw new BackendError(`${op}: p must lie in [0, 1], got ${p}`);
    if (!Number.isInteger(seed)) throw new BackendError(`${op}: seed must be an integer (it is used as a u32), got ${seed}`);
    this.distinct(op, { out }, { x });
    if (p === 0) return this.copy(x, out); // keep everything, scale 1: an exact copy
    const keepFrom = Math.ceil(p * 2 ** 24); // u ≥ p ⇔ (hash >> 8) ≥ ⌈p·2^24⌉, exactly
    const s = p < 1 ? 1 / (1 - p) : 0;
    const hi = Math.fround(s);
    this.elementwise(spec, n, [x, out], cols, [keepFrom, seed >>> 0, f32bits(hi), f32bits(s - hi)]);
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

  private reduceParams(o: { rows?: number; cols?: number; rpc?: number; chunks?: number; base?: number; accumulate?: boolean; n?: number; maxNorm?: number }): number[] {
    return [o.rows ?? 0, o.cols ?? 0, o.rpc ?? 1, o.chunks ?? 0, o.base ?? 0, o.accumulate ? 1 : 0, o.n ?? 0, f32bits(o.maxNorm ?? 0)];
  }

  /** x seen as [R, D] rows of the LayerNorm with weight w [D]. */
  private rows(op: string, x: Tensor, w: Tensor): { R: number; D: number } {
    const D = this.f32(op, 'w', w).size;
    const g = this.f32(op, 'x', x);
    if (D === 0 || g.shape[g.shape.length - 1] !== D) throw new BackendError(`${op}: x ${shapeOf(g)} must end in D = ${D}, the size of w`);
    return { R: g.size / D, D };
  }

  private attentionShapes(op: string, q: Tensor, heads: number, probs: Tensor) {
    const g = this.f32(op, 'q', q);
    const pr = this.f32(op, 'probs', probs);
    let B: number;
    let T: number;
    const D = g.shape[g.shape.length - 1] ?? 1;
    if (g.shape.length === 3) [B, T] = g.shape;
    else if (pr.shape.length === 4) [B, , T] = pr.shape;
    else throw new BackendError(`${op}: q ${shapeOf(g)} must be [B, T, D] (or probs [B, heads, T, T] must say B and T)`);
    if (!Number.isInteger(heads) || heads < 1 || D % heads !== 0) {
      throw new BackendError(`${op}: heads = ${heads} must be a positive integer dividing D = ${D}`);
    }
    if (g.size !== B * T * D) throw new BackendError(`${op}: q ${shapeOf(g)} does not hold B·T·D = ${B}·${T}·${D} elements`);
    if (pr.size !== B * heads * T * T) {
      throw new BackendError(`${op}: probs ${shapeOf(pr)} must be [B, heads, T, T] = [${B}, ${heads}, ${T}, ${T}]`);
    }
    const hd = D / heads;
    return { B, T, D, params: [B, T, D, heads, hd, f32bits(hd ** -0.5)] };
  }

  /** tokens [B, T, D] and pooled [B, D]. */
  private poolShapes(op: string, tokens: Tensor, mode: PoolMode, pooled: Tensor): { B: number; T: number; D: number } {
    if (mode !== 'cls' && mode !== 'mean') throw new BackendError(`${op}: unknown pool mode "${mode}": use 'cls' or 'mean'`);
    const t = this.f32(op, 'tokens', tokens);
    const p = this.f32(op, 'pooled', pooled);
    const ok = t.shape.length === 3 && p.shape.length === 2 && t.shape[0] === p.shape[0] && t.shape[2] === p.shape[1] && t.shape[1] > 0;
    if (!ok) throw new BackendError(`${op}: tokens ${shapeOf(t)} and pooled ${shapeOf(p)} must be [B, T, D] (T ≥ 1) and [B, D]`);
    const [B, T, D] = t.shape;
    return { B, T, D };
  }

  private f32(op: string, name: string, t: Tensor): GpuTensor {
    const g = this.host.tensor(t, `${op} (${name})`);
    if (g.dtype !== 'f32') throw new BackendError(`${op}: ${name} must be an f32 tensor, got ${g.dtype} ${shapeOf(g)}`);
    return g;
  }

  private u32(op: string, name: string, t: Tensor, size: number): void {
    const g = this.host.tensor(t, `${op} (${name})`);
    if (g.dtype !== 'u32' || g.size !== size) throw new BackendError(`${op}: ${name} must be a u32 tensor of ${size} elements, got ${g.dtype} ${shapeOf(g)}`);
  }

  /** Every named f32 tensor has `size` elements. */
  private sized(op: string, named: Record<string, Tensor>, size: number): void {
    for (const [name, t] of Object.entries(named)) {
      const g = this.f32(op, name, t);
      if (g.size !== size) throw new BackendError(`${op}: ${name} has shape ${shapeOf(g)} (${g.size} elements), expected ${size} elements`);
    }
  }

  /** Outputs share no buffer with each other or with an input (WebGPU forbids a written binding that aliases another). */
  private distinct(op: string, outputs: Record<string, Tensor>, inputs: Record<string, Tensor>): void {
    const all = [...Object.entries(outputs), ...Object.entries(inputs)].map(([name, t]) => [name, this.host.tensor(t, `${op} (${name})`).buffer] as const);
    Object.keys(outputs).forEach((name, i) => {
      const other = all.find(([, buffer], j) => j !== i && buffer === all[i][1]);
      if (other) {
        throw new BackendError(`${op}: ${name} and ${other[0]} are the same tensor; outputs must not alias other operands here (use a separate output tensor)`);
      }
    });
  }
}
