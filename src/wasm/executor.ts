// The wasm backend as the contract's Executor: the SNELL primitives (snell-ops.ts) and the decoder
// primitives (decoder-ops.ts) on its runtime (runtime.ts), plus the transformer and training
// primitives here, on the kernels of assembly/ (elementwise, reduce, layernorm, attention, tokens,
// lookup, xent, adamw, dropout, importance). The contract (src/contract) has checked every argument
// before a call gets here.

import type { AdamWStep, AttentionOptions, PoolMode, Tensor } from '../backend.js';
import type { Executor } from '../contract/checked.js';
import { attentionShape, matrixDims } from '../contract/shapes.js';
import { ptr, ptrOrNull } from './runtime.js';
import { WasmDecoderOps } from './decoder-ops.js';
import { pieces, ranges } from './split.js';

export class WasmExecutor extends WasmDecoderOps implements Executor {
  add(a: Tensor, b: Tensor, out: Tensor): void {
    this.elementwise('add', a.size, (at, len) => [ptr(a) + 4 * at, ptr(b) + 4 * at, ptr(out) + 4 * at, len]);
  }

  addInto(out: Tensor, a: Tensor): void {
    this.elementwise('addInto', out.size, (at, len) => [ptr(out) + 4 * at, ptr(a) + 4 * at, len]);
  }

  addTransposed(a: Tensor, b: Tensor, out: Tensor): void {
    const [r, c] = a.shape;
    const [pa, pb, po] = [ptr(a), ptr(b), ptr(out)];
    this.run(
      'addTransposed',
      ranges(r, pieces(r * c, 2 ** 17, this.threads), 32).map(([i, rows]) => [pa, pb, po, r, c, i, rows]),
    );
  }

  addBias(out: Tensor, bias: Tensor): void {
    const [R, N] = matrixDims(out);
    const [po, pb] = [ptr(out), ptr(bias)];
    this.run(
      'addBias',
      ranges(R, pieces(R * N, 2 ** 17, this.threads)).map(([r, rows]) => [po + 4 * r * N, pb, rows, N]),
    );
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
    this.run(
      'layerNorm',
      ranges(R, pieces(R * D, 2 ** 15, this.threads)).map(([r, n]) => [
        px + 4 * r * D,
        pw,
        pb,
        n,
        D,
        eps,
        po + 4 * r * D,
        pm + 4 * r,
        pr + 4 * r,
      ]),
    );
  }

  layerNormBackward(
    dy: Tensor,
    x: Tensor,
    wt: Tensor,
    mean: Tensor,
    rstd: Tensor,
    dx: Tensor,
    dw: Tensor | null,
    db: Tensor | null,
  ): void {
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

  attention(q: Tensor, k: Tensor, v: Tensor, heads: number, out: Tensor, probs: Tensor, options: AttentionOptions = {}): void {
    const { B, Tq, Tk, hd, kvHeads, offset } = attentionShape(q, k, heads, options);
    const s = this.perThreadScratch(this.exports().attentionScratchBytes(Tq, Tk) >>> 0);
    const [pq, pk, pv, po, pp] = [q, k, v, out, probs].map(ptr);
    const mask = options.keyMask ? ptr(options.keyMask) : 0;
    this.run(
      'attention',
      ranges(B * kvHeads, this.threads).map(([u, n], i) => [
        pq,
        pk,
        pv,
        Tq,
        Tk,
        heads,
        kvHeads,
        hd,
        offset,
        mask,
        po,
        pp,
        s.ptr + i * s.stride,
        u,
        n,
      ]),
    );
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
    const { B, Tq, Tk, hd, kvHeads } = attentionShape(q, k, heads, options);
    const s = this.perThreadScratch(this.exports().attentionScratchBytes(Tq, Tk) >>> 0);
    const [pdo, pq, pk, pv, pp, pdq, pdk, pdv] = [dOut, q, k, v, probs, dq, dk, dv].map(ptr);
    this.run(
      'attentionBackward',
      ranges(B * kvHeads, this.threads).map(([u, n], i) => [
        pdo,
        pq,
        pk,
        pv,
        pp,
        Tq,
        Tk,
        heads,
        kvHeads,
        hd,
        pdq,
        pdk,
        pdv,
        s.ptr + i * s.stride,
        u,
        n,
      ]),
    );
  }

  embed(ids: Tensor, table: Tensor, out: Tensor): void {
    const [V, D] = table.shape;
    this.exports().embed(ptr(ids), ptr(table), V, D, ids.size, ptr(out));
  }

  embedBackward(dOut: Tensor, ids: Tensor, dTable: Tensor): void {
    const [V, D] = dTable.shape;
    this.exports().embedBackward(ptr(dOut), ptr(ids), ids.size, V, D, ptr(dTable));
  }

  gatherRows(x: Tensor, index: Tensor, out: Tensor): void {
    const [B, T, D] = x.shape;
    this.exports().gatherRows(ptr(x), ptr(index), B, T, D, ptr(out));
  }

  gatherRowsBackward(dOut: Tensor, index: Tensor, dx: Tensor): void {
    const [B, T, D] = dx.shape;
    this.exports().gatherRowsBackward(ptr(dOut), ptr(index), B, T, D, ptr(dx));
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

  tokenCrossEntropy(logits: Tensor, labels: Tensor, loss: Tensor, dLogits: Tensor, correct: Tensor): void {
    const [N, V] = matrixDims(logits);
    const partial = this.memory.scratch(16 * N).ptr;
    const [pl, py, pd] = [ptr(logits), ptr(labels), ptr(dLogits)];
    this.run(
      'tokenCrossEntropyRows',
      ranges(N, pieces(N * V, 2 ** 16, this.threads)).map(([r, n]) => [pl, py, N, V, r, n, pd, partial]),
    );
    this.exports().tokenCrossEntropyTotal(partial, py, N, ptr(loss), ptr(correct));
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
      ptr(param),
      ptr(grad),
      ptr(m),
      ptr(v),
      param.size,
      ptrOrNull(gradScale),
      1 - lr * weightDecay,
      lr / bc1,
      beta1,
      beta2,
      eps,
      Math.sqrt(bc2),
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

  importance(theta: Tensor, grad: Tensor, ipt: Tensor, unc: Tensor, beta1: number, beta2: number, skipped: Tensor): void {
    this.exports().importance(ptr(theta), ptr(grad), ptr(ipt), ptr(unc), theta.size, beta1, beta2, ptr(skipped));
  }
}

/**
 * Dropout's arguments for the kernels: the seed as u32, cut = ⌈p·2^24⌉ (keep ⟺ the hash's 24-bit draw
 * ≥ cut, which is exactly u ≥ p for the float64 p) and scale = 1/(1−p), 0 when everything drops.
 */
function dropParams(p: number, seed: number): { seed32: number; cut: number; scale: number } {
  return { seed32: seed >>> 0, cut: Math.ceil(p * 2 ** 24), scale: p < 1 ? 1 / (1 - p) : 0 };
}
