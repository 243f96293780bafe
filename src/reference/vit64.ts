// Float64 plain-loop reference of the ViT trunk of the train_* / alloc_train_* vectors (the vectors
// README), forward and backward, written for clarity: tokens x [B, T, D] in, `depth` pre-LN blocks,
// final LayerNorm, mean over tokens, linear head, mean cross-entropy over the batch.
//
// Rows r = b·T + t. Every frozen linear P (weight [out, in]) has a SNELLA branch beside it:
//   P(u) = u·weightᵀ + bias + u·W_sparse,   W0 = merge(In_Qs [H, in, k], Out_Qs [H, out, k]) (distance kernel),
//   W = W0 + α·softmax(W0/γ over out) + β,  W_sparse = W·|W|·[|W| > quantile(|W|, s)]   (|W| a constant in backward)
// with the layer's own sparsity s. Block: x1 = x + proj(Attn(q(u), k(u), v(u))), u = LN1(x);
//   y = x1 + fc2(GELU_erf(fc1(LN2(x1)))). Attention: heads of D/heads consecutive features, scale (D/heads)^-0.5.
// Gradients are returned for the trainable tensors only: each branch's In_Qs, Out_Qs, alpha, gamma,
// beta and the head's weight and bias.

import {
  matmul64,
  merge64,
  mergeBackward64,
  mixture64,
  mixtureBackward64,
  quantileAbs64,
  sparsify64,
  sparsifyBackward64,
} from './snell64.js';
import {
  attention64,
  attentionBackward64,
  gelu64,
  geluGrad64,
  layerNorm64,
  layerNormBackward64,
  softmaxCrossEntropy64,
} from './transformer64.js';

type Arr = ArrayLike<number>;
export type Params64 = ReadonlyMap<string, Arr>;

export interface VitTrunk64 {
  dim: number;
  heads: number;
  depth: number;
  tokens: number;
  batch: number;
  classes: number;
  mlpRatio: number;
  eps: number;
}

/** The adapted linears of one block in the vectors' layer order, with their branch paths. */
export function branchPaths(b: number): Array<{ linear: string; branch: string }> {
  return [
    ...['q', 'k', 'v', 'proj'].map((P) => ({
      linear: `blocks.${b}.attn.${P}`,
      branch: `blocks.${b}.attn.additional_${P}.learnable`,
    })),
    ...['fc1', 'fc2'].map((P) => ({ linear: `blocks.${b}.mlp.${P}`, branch: `blocks.${b}.mlp.additional_${P}.learnable` })),
  ];
}

function get(p: Params64, name: string): Arr {
  const t = p.get(name);
  if (!t) throw new Error(`reference ViT: tensor "${name}" is missing`);
  return t;
}

/** One frozen linear with its SNELLA branch, ready for forward and backward on rows of width n. */
class AdaptedLinear {
  readonly W0: Float64Array;
  readonly W: Float64Array;
  readonly P: Float64Array;
  readonly thr: number;
  readonly Ws: Float64Array;
  readonly H: number;
  readonly k: number;

  constructor(
    private readonly p: Params64,
    private readonly linear: string,
    readonly branch: string,
    readonly n: number,
    readonly m: number,
    sparsity: number,
  ) {
    const coeff = get(p, `${branch}.shared_coeff_fc`);
    this.H = coeff.length;
    this.k = get(p, `${branch}.In_Qs`).length / (this.H * n);
    this.W0 = merge64(get(p, `${branch}.In_Qs`), get(p, `${branch}.Out_Qs`), this.H, n, m, this.k, 'distance', coeff);
    ({ W: this.W, P: this.P } = mixture64(this.W0, n, m, this.scalar('alpha'), this.scalar('gamma'), this.scalar('beta')));
    this.thr = quantileAbs64(this.W, sparsity);
    this.Ws = sparsify64(this.W, this.thr).Ws;
  }

  private scalar(name: string): number {
    return get(this.p, `${this.branch}.${name}`)[0]!;
  }

  forward(u: Arr, R: number): Float64Array {
    const y = matmul64(u, get(this.p, `${this.linear}.weight`), R, this.n, this.m, false, true);
    const br = matmul64(u, this.Ws, R, this.n, this.m);
    const bias = get(this.p, `${this.linear}.bias`);
    for (let i = 0; i < y.length; i++) y[i] += bias[i % this.m]! + br[i]!;
    return y;
  }

  /** du for the upstream gradient dy [R, m]; the branch's parameter gradients go into `grads`. */
  backward(u: Arr, dy: Arr, R: number, grads: Map<string, Float64Array>): Float64Array {
    const { n, m } = this;
    const du = matmul64(dy, get(this.p, `${this.linear}.weight`), R, m, n);
    const viaBranch = matmul64(dy, this.Ws, R, m, n, false, true);
    for (let i = 0; i < du.length; i++) du[i] += viaBranch[i]!;
    const dW = sparsifyBackward64(matmul64(u, dy, n, R, m, true, false), this.W, this.thr);
    const mix = mixtureBackward64(dW, this.W0, this.P, n, m, this.scalar('alpha'), this.scalar('gamma'));
    const coeff = get(this.p, `${this.branch}.shared_coeff_fc`);
    const A = get(this.p, `${this.branch}.In_Qs`);
    const B = get(this.p, `${this.branch}.Out_Qs`);
    const { dA, dB } = mergeBackward64(A, B, mix.dW0, this.H, n, m, this.k, 'distance', coeff);
    grads.set(`${this.branch}.In_Qs`, dA);
    grads.set(`${this.branch}.Out_Qs`, dB);
    grads.set(`${this.branch}.alpha`, Float64Array.of(mix.dAlpha));
    grads.set(`${this.branch}.gamma`, Float64Array.of(mix.dGamma));
    grads.set(`${this.branch}.beta`, Float64Array.of(mix.dBeta));
    return du;
  }
}

const add = (a: Arr, b: Arr) => Float64Array.from(a, (v, i) => v + b[i]!);

/**
 * Mean cross-entropy of the trunk on tokens x [B, T, D] with integer labels [B], and its gradients.
 * `sparsity(branch)` gives each branch's current s.
 */
export function vitTrunkLoss64(
  p: Params64,
  c: VitTrunk64,
  x: Arr,
  labels: Arr,
  sparsity: (branch: string) => number,
): { loss: number; grads: Map<string, Float64Array> } {
  const { dim: D, heads, tokens: T, batch: B, classes: C, eps } = c;
  const R = B * T;
  const Hd = c.mlpRatio * D;
  const widths = [
    [D, D],
    [D, D],
    [D, D],
    [D, D],
    [D, Hd],
    [Hd, D],
  ] as const; // [in, out] of q, k, v, proj, fc1, fc2
  const blocks = Array.from({ length: c.depth }, (_, b) =>
    branchPaths(b).map(
      ({ linear, branch }, i) => new AdaptedLinear(p, linear, branch, widths[i]![0], widths[i]![1], sparsity(branch)),
    ),
  );
  const norm = (u: Arr, name: string) => layerNorm64(u, get(p, `${name}.weight`), get(p, `${name}.bias`), R, D, eps).out;

  const caches: Array<Record<'x' | 'u' | 'q' | 'k' | 'v' | 'o' | 'x1' | 'u2' | 'pre' | 'h', Float64Array>> = [];
  let h0 = Float64Array.from(x);
  blocks.forEach(([lq, lk, lv, lp, l1, l2], b) => {
    const u = norm(h0, `blocks.${b}.norm1`);
    const [q, k, v] = [lq!.forward(u, R), lk!.forward(u, R), lv!.forward(u, R)];
    const o = attention64(q, k, v, B, T, D, heads).out;
    const x1 = add(h0, lp!.forward(o, R));
    const u2 = norm(x1, `blocks.${b}.norm2`);
    const pre = l1!.forward(u2, R);
    const h = Float64Array.from(pre, gelu64);
    caches.push({ x: h0, u, q, k, v, o, x1, u2, pre, h });
    h0 = add(x1, l2!.forward(h, R));
  });
  const z = norm(h0, 'norm');
  const pooled = new Float64Array(B * D);
  for (let r = 0; r < R; r++) for (let d = 0; d < D; d++) pooled[Math.floor(r / T) * D + d] += z[r * D + d]! / T;
  const headW = get(p, 'head.weight');
  const logits = matmul64(pooled, headW, B, D, C, false, true);
  const headB = get(p, 'head.bias');
  for (let i = 0; i < logits.length; i++) logits[i] += headB[i % C]!;
  const { loss, dLogits } = softmaxCrossEntropy64(logits, labels, B, C);

  const grads = new Map<string, Float64Array>();
  grads.set('head.weight', matmul64(dLogits, pooled, C, B, D, true, false));
  grads.set(
    'head.bias',
    Float64Array.from({ length: C }, (_, j) => {
      let s = 0;
      for (let b = 0; b < B; b++) s += dLogits[b * C + j]!;
      return s;
    }),
  );
  const dPooled = matmul64(dLogits, headW, B, C, D);
  const dz = Float64Array.from({ length: R * D }, (_, i) => dPooled[Math.floor(i / (T * D)) * D + (i % D)]! / T);
  let dy = layerNormBackward64(dz, h0, get(p, 'norm.weight'), R, D, eps).dx;
  for (let b = c.depth - 1; b >= 0; b--) {
    const [lq, lk, lv, lp, l1, l2] = blocks[b]!;
    const s = caches[b]!;
    const dh = l2!.backward(s.h, dy, R, grads);
    const dPre = Float64Array.from(dh, (g, i) => g * geluGrad64(s.pre[i]!));
    const du2 = l1!.backward(s.u2, dPre, R, grads);
    const dx1 = add(dy, layerNormBackward64(du2, s.x1, get(p, `blocks.${b}.norm2.weight`), R, D, eps).dx);
    const dO = lp!.backward(s.o, dx1, R, grads);
    const { dq, dk, dv } = attentionBackward64(dO, s.q, s.k, s.v, B, T, D, heads);
    const du = add(add(lq!.backward(s.u, dq, R, grads), lk!.backward(s.u, dk, R, grads)), lv!.backward(s.u, dv, R, grads));
    dy = add(dx1, layerNormBackward64(du, s.x, get(p, `blocks.${b}.norm1.weight`), R, D, eps).dx);
  }
  return { loss, grads };
}
