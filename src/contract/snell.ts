// Rules for the SNELL kernels (H heads, n = d_in, m = d_out, k = r/H), every tensor f32 unless stated:
//   merge           A [H, n, k], B [H, m, k], coeff H numbers (either kernel), kernel 'distance' or 'linear';
//                   W [n, m]
//   mergeBackward   as merge, dW [n, m]; dA [H, n, k], dB [H, m, k]
//   mixture         W0 [n, m], alpha, gamma, beta 1-element; W, P [n, m]
//   mixtureBackward dW, W0, P [n, m], alpha, gamma 1-element; dW0 [n, m], dAlpha, dGamma, dBeta 1-element
//   quantileAbs     W any shape, not empty (no quantile of nothing); s in [0, 1]; threshold 1-element
//   sparsify        W any shape (empty: nothing kept), threshold 1-element; Ws W's size, kept u32 1-element
//   sparsifyBackward G W's size, W, threshold 1-element; dW W's size
//   keptGradient    x [..., n], dy [..., m] with as many rows, W [n, m], threshold 1-element; dW [n, m]
// Outputs (after the semicolons) are distinct tensors, none of them an input.

import type { MergeKernel, Tensor } from '../backend.js';
import type { Check } from './checks.js';
import { describe } from './shapes.js';

const KERNELS: readonly MergeKernel[] = ['distance', 'linear'];

export function merge(c: Check, A: Tensor, B: Tensor, kernel: MergeKernel, coeff: readonly number[], W: Tensor): void {
  const { n, m } = mergeDims(c, A, B, kernel, coeff);
  c.shape('W', W, [n, m]);
  c.distinct({ W }, { A, B });
}

export function mergeBackward(
  c: Check,
  A: Tensor,
  B: Tensor,
  dW: Tensor,
  kernel: MergeKernel,
  coeff: readonly number[],
  dA: Tensor,
  dB: Tensor,
): void {
  const { H, n, m, k } = mergeDims(c, A, B, kernel, coeff);
  c.shape('dW', dW, [n, m]);
  c.shape('dA', dA, [H, n, k]);
  c.shape('dB', dB, [H, m, k]);
  c.distinct({ dA, dB }, { A, B, dW });
}

export function mixture(c: Check, W0: Tensor, alpha: Tensor, gamma: Tensor, beta: Tensor, W: Tensor, P: Tensor): void {
  const [n, m] = c.dims('W0', W0, 'n, m');
  for (const [name, t] of [
    ['alpha', alpha],
    ['gamma', gamma],
    ['beta', beta],
  ] as const)
    c.scalar(name, t);
  c.shape('W', W, [n, m]);
  c.shape('P', P, [n, m]);
  c.distinct({ W, P }, { W0, alpha, gamma, beta });
}

export function mixtureBackward(
  c: Check,
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
  const [n, m] = c.dims('W0', W0, 'n, m');
  for (const [name, t] of [
    ['dW', dW],
    ['P', P],
    ['dW0', dW0],
  ] as const)
    c.shape(name, t, [n, m]);
  for (const [name, t] of [
    ['alpha', alpha],
    ['gamma', gamma],
    ['dAlpha', dAlpha],
    ['dGamma', dGamma],
    ['dBeta', dBeta],
  ] as const) {
    c.scalar(name, t);
  }
  c.distinct({ dW0, dAlpha, dGamma, dBeta }, { dW, W0, P, alpha, gamma });
}

export function quantileAbs(c: Check, W: Tensor, s: number, threshold: Tensor): void {
  c.dtype('W', W);
  c.scalar('threshold', threshold);
  c.distinct({ threshold }, { W });
  if (W.size === 0) c.fail(`W is ${describe(W)}: the quantile of no values is undefined; pass at least one element`);
  c.within('s', s, 0, 1);
}

export function sparsify(c: Check, W: Tensor, threshold: Tensor, Ws: Tensor, kept: Tensor): void {
  c.dtype('W', W);
  c.scalar('threshold', threshold);
  c.size('Ws', Ws, W.size);
  c.scalar('kept', kept, 'u32');
  c.distinct({ Ws, kept }, { W, threshold });
}

export function sparsifyBackward(c: Check, G: Tensor, W: Tensor, threshold: Tensor, dW: Tensor): void {
  c.dtype('W', W);
  c.size('G', G, W.size);
  c.scalar('threshold', threshold);
  c.size('dW', dW, W.size);
  c.distinct({ dW }, { G, W, threshold });
}

export function keptGradient(c: Check, x: Tensor, dy: Tensor, W: Tensor, threshold: Tensor, dW: Tensor): void {
  const [n, m] = c.dims('W', W, 'n, m');
  const [rows, xn] = c.rows('x', x);
  const [dyRows, dym] = c.rows('dy', dy);
  if (xn !== n) c.fail(`x is ${describe(x)}, its last dimension must be W's n = ${n}`);
  if (dym !== m) c.fail(`dy is ${describe(dy)}, its last dimension must be W's m = ${m}`);
  if (dyRows !== rows) c.fail(`dy has ${dyRows} rows but x has ${rows}: pass the gradient of x·Ws for this x`);
  c.scalar('threshold', threshold);
  c.shape('dW', dW, [n, m]);
  c.distinct({ dW }, { x, dy, W, threshold });
}

function mergeDims(c: Check, A: Tensor, B: Tensor, kernel: MergeKernel, coeff: readonly number[]) {
  c.oneOf('merge kernel', kernel, KERNELS);
  const [H, n, k] = c.dims('A', A, 'H, n, k');
  c.dtype('B', B);
  if (B.shape.length !== 3 || B.shape[0] !== H || B.shape[2] !== k) {
    c.fail(`B is ${describe(B)}, expected f32[${H}, m, ${k}] to match A ${describe(A)}`);
  }
  if (coeff.length !== H) c.fail(`coeff holds ${coeff.length} of the H = ${H} numbers: pass one per head`);
  return { H, n, m: B.shape[1], k };
}
