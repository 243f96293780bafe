// The contract in front of an executing backend. Each call, in this order:
//   1. the device must be usable (not destroyed, not lost): the executor says why not;
//   2. the primitive's rule (tensors.ts, snell.ts, matmul.ts, elementwise.ts, transformer.ts,
//      training.ts, decoder.ts, lookup.ts) checks every argument and throws `<op>: …` at the first broken one;
//   3. the executor runs the call, trusting its arguments.
// read() and flush() report every failure as a rejected promise, never as a synchronous throw.
// free() on a lost device checks nothing: its tensors are gone, and cleaning up after a loss must
// not throw.

import type {
  AdamWStep,
  AttentionOptions,
  Backend,
  BackendKind,
  DType,
  MatmulOptions,
  MergeKernel,
  PoolMode,
  Tensor,
} from '../backend.js';
import { Check, type TensorState } from './checks.js';
import * as decoder from './decoder.js';
import * as lookup from './lookup.js';
import * as elementwise from './elementwise.js';
import { matmul } from './matmul.js';
import * as snell from './snell.js';
import * as tensors from './tensors.js';
import * as training from './training.js';
import * as transformer from './transformer.js';

/** A backend that runs primitives whose arguments the contract has checked. */
export interface Executor extends Backend {
  /** Throws why the device can run nothing more (destroyed, lost, a device error), if it cannot. */
  ensureUsable(): void;
  /** True once the device is gone and every tensor with it (a lost GPU). */
  readonly lost: boolean;
  /** Whether `t` is one of this backend's tensors, and whether it was freed. */
  holds(t: Tensor): TensorState;
}

export class CheckedBackend<E extends Executor = Executor> implements Backend {
  readonly kind: BackendKind;
  readonly description: string;
  readonly maxElements: number;
  private readonly state = (t: Tensor): TensorState => this.executor.holds(t);
  /** A checker for one call of `op`, once the device is known to be usable. */
  private readonly check = (op: string): Check => {
    this.executor.ensureUsable();
    return new Check(op, this.state);
  };

  constructor(protected readonly executor: E) {
    this.kind = executor.kind;
    this.description = executor.description;
    this.maxElements = executor.maxElements;
  }

  upload(data: Float32Array | Uint32Array, shape: readonly number[], dtype?: DType): Tensor {
    return this.executor.upload(data, shape, tensors.upload(this.check('upload'), data, shape, dtype));
  }
  zeros(shape: readonly number[], dtype: DType = 'f32'): Tensor {
    tensors.zeros(this.check('zeros'), shape, dtype);
    return this.executor.zeros(shape, dtype);
  }
  write(t: Tensor, data: Float32Array | Uint32Array): void {
    tensors.write(this.check('write'), t, data);
    this.executor.write(t, data);
  }
  async read(t: Tensor): Promise<Float32Array | Uint32Array> {
    tensors.read(this.check('read'), t);
    return this.executor.read(t);
  }
  free(t: Tensor): void {
    if (!this.executor.lost) tensors.free(this.check('free'), t);
    this.executor.free(t);
  }
  async flush(): Promise<void> {
    this.executor.ensureUsable();
    await this.executor.flush();
  }
  destroy(): void {
    this.executor.destroy();
  }

  merge(A: Tensor, B: Tensor, kernel: MergeKernel, coeff: readonly number[], W: Tensor): void {
    snell.merge(this.check('merge'), A, B, kernel, coeff, W);
    this.executor.merge(A, B, kernel, coeff, W);
  }
  mergeBackward(A: Tensor, B: Tensor, dW: Tensor, kernel: MergeKernel, coeff: readonly number[], dA: Tensor, dB: Tensor): void {
    snell.mergeBackward(this.check('mergeBackward'), A, B, dW, kernel, coeff, dA, dB);
    this.executor.mergeBackward(A, B, dW, kernel, coeff, dA, dB);
  }
  mixture(W0: Tensor, alpha: Tensor, gamma: Tensor, beta: Tensor, W: Tensor, P: Tensor): void {
    snell.mixture(this.check('mixture'), W0, alpha, gamma, beta, W, P);
    this.executor.mixture(W0, alpha, gamma, beta, W, P);
  }
  mixtureBackward(
    dW: Tensor,
    W0: Tensor,
    P: Tensor,
    alpha: Tensor,
    gamma: Tensor,
    dW0: Tensor,
    dAlpha: Tensor,
    dGamma: Tensor,
    dBeta: Tensor,
  ): void {
    snell.mixtureBackward(this.check('mixtureBackward'), dW, W0, P, alpha, gamma, dW0, dAlpha, dGamma, dBeta);
    this.executor.mixtureBackward(dW, W0, P, alpha, gamma, dW0, dAlpha, dGamma, dBeta);
  }
  quantileAbs(W: Tensor, s: number, threshold: Tensor): void {
    snell.quantileAbs(this.check('quantileAbs'), W, s, threshold);
    this.executor.quantileAbs(W, s, threshold);
  }
  sparsify(W: Tensor, threshold: Tensor, Ws: Tensor, kept: Tensor): void {
    snell.sparsify(this.check('sparsify'), W, threshold, Ws, kept);
    this.executor.sparsify(W, threshold, Ws, kept);
  }
  sparsifyBackward(G: Tensor, W: Tensor, threshold: Tensor, dW: Tensor): void {
    snell.sparsifyBackward(this.check('sparsifyBackward'), G, W, threshold, dW);
    this.executor.sparsifyBackward(G, W, threshold, dW);
  }
  keptGradient(x: Tensor, dy: Tensor, W: Tensor, threshold: Tensor, dW: Tensor): void {
    snell.keptGradient(this.check('keptGradient'), x, dy, W, threshold, dW);
    this.executor.keptGradient(x, dy, W, threshold, dW);
  }
  matmul(a: Tensor, b: Tensor, out: Tensor, options: MatmulOptions = {}): void {
    matmul(this.check('matmul'), a, b, out, options);
    this.executor.matmul(a, b, out, options);
  }

  add(a: Tensor, b: Tensor, out: Tensor): void {
    elementwise.add(this.check('add'), a, b, out);
    this.executor.add(a, b, out);
  }
  addTransposed(a: Tensor, b: Tensor, out: Tensor): void {
    elementwise.addTransposed(this.check('addTransposed'), a, b, out);
    this.executor.addTransposed(a, b, out);
  }
  addInto(out: Tensor, a: Tensor): void {
    elementwise.addInto(this.check('addInto'), out, a);
    this.executor.addInto(out, a);
  }
  addBias(out: Tensor, bias: Tensor): void {
    elementwise.addBias(this.check('addBias'), out, bias);
    this.executor.addBias(out, bias);
  }
  sumRows(x: Tensor, out: Tensor, accumulate = false): void {
    elementwise.sumRows(this.check('sumRows'), x, out);
    this.executor.sumRows(x, out, accumulate);
  }
  copy(src: Tensor, out: Tensor): void {
    elementwise.copy(this.check('copy'), src, out);
    this.executor.copy(src, out);
  }
  gelu(x: Tensor, out: Tensor): void {
    elementwise.gelu(this.check('gelu'), x, out);
    this.executor.gelu(x, out);
  }
  geluBackward(dy: Tensor, x: Tensor, dx: Tensor): void {
    elementwise.geluBackward(this.check('geluBackward'), dy, x, dx);
    this.executor.geluBackward(dy, x, dx);
  }

  layerNorm(x: Tensor, w: Tensor, b: Tensor, eps: number, out: Tensor, mean: Tensor, rstd: Tensor): void {
    transformer.layerNorm(this.check('layerNorm'), x, w, b, eps, out, mean, rstd);
    this.executor.layerNorm(x, w, b, eps, out, mean, rstd);
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
    transformer.layerNormBackward(this.check('layerNormBackward'), dy, x, w, mean, rstd, dx, dw, db);
    this.executor.layerNormBackward(dy, x, w, mean, rstd, dx, dw, db);
  }
  attention(q: Tensor, k: Tensor, v: Tensor, heads: number, out: Tensor, probs: Tensor, options?: AttentionOptions): void {
    transformer.attention(this.check('attention'), q, k, v, heads, out, probs, options);
    this.executor.attention(q, k, v, heads, out, probs, options);
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
    options?: AttentionOptions,
  ): void {
    transformer.attentionBackward(this.check('attentionBackward'), dOut, q, k, v, probs, heads, dq, dk, dv, options);
    this.executor.attentionBackward(dOut, q, k, v, probs, heads, dq, dk, dv, options);
  }
  embedTokens(patches: Tensor, cls: Tensor, pos: Tensor, out: Tensor): void {
    transformer.embedTokens(this.check('embedTokens'), patches, cls, pos, out);
    this.executor.embedTokens(patches, cls, pos, out);
  }
  embedTokensBackward(dOut: Tensor, dPatches: Tensor | null, dCls: Tensor | null, dPos: Tensor | null): void {
    transformer.embedTokensBackward(this.check('embedTokensBackward'), dOut, dPatches, dCls, dPos);
    this.executor.embedTokensBackward(dOut, dPatches, dCls, dPos);
  }
  poolTokens(x: Tensor, mode: PoolMode, out: Tensor): void {
    transformer.poolTokens(this.check('poolTokens'), x, mode, out);
    this.executor.poolTokens(x, mode, out);
  }
  poolTokensBackward(dOut: Tensor, mode: PoolMode, dx: Tensor): void {
    transformer.poolTokensBackward(this.check('poolTokensBackward'), dOut, mode, dx);
    this.executor.poolTokensBackward(dOut, mode, dx);
  }

  embed(ids: Tensor, table: Tensor, out: Tensor): void {
    lookup.embed(this.check('embed'), ids, table, out);
    this.executor.embed(ids, table, out);
  }
  embedBackward(dOut: Tensor, ids: Tensor, dTable: Tensor): void {
    lookup.embedBackward(this.check('embedBackward'), dOut, ids, dTable);
    this.executor.embedBackward(dOut, ids, dTable);
  }
  gatherRows(x: Tensor, index: Tensor, out: Tensor): void {
    lookup.gatherRows(this.check('gatherRows'), x, index, out);
    this.executor.gatherRows(x, index, out);
  }
  gatherRowsBackward(dOut: Tensor, index: Tensor, dx: Tensor): void {
    lookup.gatherRowsBackward(this.check('gatherRowsBackward'), dOut, index, dx);
    this.executor.gatherRowsBackward(dOut, index, dx);
  }

  tokenCrossEntropy(logits: Tensor, labels: Tensor, loss: Tensor, dLogits: Tensor, correct: Tensor): void {
    training.tokenCrossEntropy(this.check('tokenCrossEntropy'), logits, labels, loss, dLogits, correct);
    this.executor.tokenCrossEntropy(logits, labels, loss, dLogits, correct);
  }
  softmaxCrossEntropy(logits: Tensor, labels: Tensor, loss: Tensor, dLogits: Tensor, correct: Tensor): void {
    training.softmaxCrossEntropy(this.check('softmaxCrossEntropy'), logits, labels, loss, dLogits, correct);
    this.executor.softmaxCrossEntropy(logits, labels, loss, dLogits, correct);
  }
  sumSquares(x: Tensor, out: Tensor, accumulate = false): void {
    training.sumSquares(this.check('sumSquares'), x, out);
    this.executor.sumSquares(x, out, accumulate);
  }
  clipFactor(sumSq: Tensor, maxNorm: number, factor: Tensor): void {
    training.clipFactor(this.check('clipFactor'), sumSq, maxNorm, factor);
    this.executor.clipFactor(sumSq, maxNorm, factor);
  }
  adamw(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, gradScale: Tensor | null, hp: AdamWStep): void {
    training.adamw(this.check('adamw'), param, grad, m, v, gradScale, hp);
    this.executor.adamw(param, grad, m, v, gradScale, hp);
  }
  dropout(x: Tensor, p: number, seed: number, out: Tensor): void {
    training.dropout(this.check('dropout'), x, p, seed, out);
    this.executor.dropout(x, p, seed, out);
  }
  dropPath(x: Tensor, p: number, seed: number, out: Tensor): void {
    training.dropPath(this.check('dropPath'), x, p, seed, out);
    this.executor.dropPath(x, p, seed, out);
  }
  maskScale(x: Tensor, mask: Tensor, scale: number, out: Tensor): void {
    training.maskScale(this.check('maskScale'), x, mask, scale, out);
    this.executor.maskScale(x, mask, scale, out);
  }
  importance(theta: Tensor, grad: Tensor, ipt: Tensor, unc: Tensor, beta1: number, beta2: number, skipped: Tensor): void {
    training.importance(this.check('importance'), theta, grad, ipt, unc, beta1, beta2, skipped);
    this.executor.importance(theta, grad, ipt, unc, beta1, beta2, skipped);
  }

  rmsNorm(x: Tensor, w: Tensor, eps: number, out: Tensor, rstd: Tensor): void {
    decoder.rmsNorm(this.check('rmsNorm'), x, w, eps, out, rstd);
    this.executor.rmsNorm(x, w, eps, out, rstd);
  }
  rmsNormBackward(dy: Tensor, x: Tensor, w: Tensor, rstd: Tensor, dx: Tensor, dw: Tensor | null): void {
    decoder.rmsNormBackward(this.check('rmsNormBackward'), dy, x, w, rstd, dx, dw);
    this.executor.rmsNormBackward(dy, x, w, rstd, dx, dw);
  }
  rope(x: Tensor, cos: Tensor, sin: Tensor, heads: number, offset: number, out: Tensor): void {
    decoder.rope(this.check('rope'), ['x', 'out'], x, cos, sin, heads, offset, out);
    this.executor.rope(x, cos, sin, heads, offset, out);
  }
  ropeBackward(dy: Tensor, cos: Tensor, sin: Tensor, heads: number, offset: number, dx: Tensor): void {
    decoder.rope(this.check('ropeBackward'), ['dy', 'dx'], dy, cos, sin, heads, offset, dx);
    this.executor.ropeBackward(dy, cos, sin, heads, offset, dx);
  }
  siluMul(gate: Tensor, up: Tensor, out: Tensor): void {
    decoder.siluMul(this.check('siluMul'), gate, up, out);
    this.executor.siluMul(gate, up, out);
  }
  siluMulBackward(dy: Tensor, gate: Tensor, up: Tensor, dGate: Tensor, dUp: Tensor): void {
    decoder.siluMulBackward(this.check('siluMulBackward'), dy, gate, up, dGate, dUp);
    this.executor.siluMulBackward(dy, gate, up, dGate, dUp);
  }
  geluTanh(x: Tensor, out: Tensor): void {
    decoder.geluTanh(this.check('geluTanh'), x, out);
    this.executor.geluTanh(x, out);
  }
  geluTanhBackward(dy: Tensor, x: Tensor, dx: Tensor): void {
    decoder.geluTanhBackward(this.check('geluTanhBackward'), dy, x, dx);
    this.executor.geluTanhBackward(dy, x, dx);
  }
  sliceColumns(x: Tensor, start: number, out: Tensor): void {
    decoder.sliceColumns(this.check('sliceColumns'), x, start, out);
    this.executor.sliceColumns(x, start, out);
  }
  addColumns(dx: Tensor, start: number, d: Tensor): void {
    decoder.addColumns(this.check('addColumns'), dx, start, d);
    this.executor.addColumns(dx, start, d);
  }
}
