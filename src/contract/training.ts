// Rules for the loss, the optimizer and the training noise, every tensor f32 unless stated:
//   softmaxCrossEntropy logits [B, C] with B ≥ 1 (no mean over an empty batch) and C ≥ 1, labels u32
//                      B elements; loss 1 element, dLogits B·C elements, correct u32 1 element.
//                      Label values are not checked here: one ≥ C gives that sample's loss term and
//                      gradient row NaN and never counts as correct (check labels before upload).
//   tokenCrossEntropy  logits rows [..., V] with V ≥ 1 (N rows, N = 0 allowed: the loss is then 0),
//                      labels u32 N elements (IGNORE_LABEL skips a row); loss 1 element, dLogits N·V
//                      elements, correct u32 1 element. Label values are not checked (as above).
//   sumSquares         x any shape (empty: Σ = 0); out 1 element
//   clipFactor         sumSq 1 element, maxNorm a finite number > 0; factor 1 element
//   adamw              param any shape, grad of its size, gradScale 1 element (or null); m, v of
//                      param's size; lr, eps, weightDecay finite and ≥ 0, beta1, beta2 in [0, 1),
//                      step an integer ≥ 1 (torch.optim.AdamW's ranges). param, m, v are written.
//   dropout            x any shape, p in [0, 1], seed an integer; out of x's size
//   dropPath           x with a leading sample dimension [B, …], p, seed as dropout; out of x's shape
//   maskScale          x any shape, mask of a size dividing x's (an empty mask only for an empty x),
//                      scale finite; out of x's shape
//   importance         theta any shape; grad, ipt, unc of its size; beta1, beta2 in [0, 1); skipped
//                      u32 1 element. ipt, unc and skipped are written.
// Outputs are distinct tensors, none of them an input.

import type { AdamWStep, Tensor } from '../backend.js';
import type { Check } from './checks.js';
import { describe } from './shapes.js';

export function softmaxCrossEntropy(
  c: Check,
  logits: Tensor,
  labels: Tensor,
  loss: Tensor,
  dLogits: Tensor,
  correct: Tensor,
): void {
  const [B, C] = c.dims('logits', logits, 'B, C');
  if (B < 1) c.fail(`logits is ${describe(logits)}: the mean loss over an empty batch is undefined; pass at least one row`);
  if (C < 1) c.fail(`logits is ${describe(logits)}: it needs at least one class (C ≥ 1)`);
  c.size('labels', labels, B, 'u32');
  c.scalar('loss', loss);
  c.size('dLogits', dLogits, B * C);
  c.scalar('correct', correct, 'u32');
  c.distinct({ loss, dLogits, correct }, { logits, labels });
}

export function tokenCrossEntropy(
  c: Check,
  logits: Tensor,
  labels: Tensor,
  loss: Tensor,
  dLogits: Tensor,
  correct: Tensor,
): void {
  const [N, V] = c.rows('logits', logits);
  c.size('labels', labels, N, 'u32');
  c.scalar('loss', loss);
  c.size('dLogits', dLogits, N * V);
  c.scalar('correct', correct, 'u32');
  c.distinct({ loss, dLogits, correct }, { logits, labels });
}

export function sumSquares(c: Check, x: Tensor, out: Tensor): void {
  c.dtype('x', x);
  c.scalar('out', out);
  c.distinct({ out }, { x });
}

export function clipFactor(c: Check, sumSq: Tensor, maxNorm: number, factor: Tensor): void {
  c.scalar('sumSq', sumSq);
  c.scalar('factor', factor);
  c.satisfies('maxNorm', maxNorm, Number.isFinite(maxNorm) && maxNorm > 0, 'a finite number > 0');
  c.distinct({ factor }, { sumSq });
}

export function adamw(
  c: Check,
  param: Tensor,
  grad: Tensor,
  m: Tensor,
  v: Tensor,
  gradScale: Tensor | null,
  hp: AdamWStep,
): void {
  c.dtype('param', param);
  for (const [name, t] of [
    ['grad', grad],
    ['m', m],
    ['v', v],
  ] as const)
    c.size(name, t, param.size);
  if (gradScale) c.scalar('gradScale', gradScale);
  c.distinct({ param, m, v }, { grad, gradScale });
  c.atLeast('lr', hp.lr, 0);
  c.within('beta1', hp.beta1, 0, 1, true);
  c.within('beta2', hp.beta2, 0, 1, true);
  c.atLeast('eps', hp.eps, 0);
  c.atLeast('weightDecay', hp.weightDecay, 0);
  c.satisfies('step', hp.step, Number.isInteger(hp.step) && hp.step >= 1, 'an integer ≥ 1 (t counts from 1)');
}

export function dropout(c: Check, x: Tensor, p: number, seed: number, out: Tensor): void {
  c.dtype('x', x);
  c.size('out', out, x.size);
  c.distinct({ out }, { x });
  noise(c, p, seed);
}

export function dropPath(c: Check, x: Tensor, p: number, seed: number, out: Tensor): void {
  c.dtype('x', x);
  if (x.shape.length < 1) c.fail(`x is ${describe(x)}: it needs a leading sample dimension [B, …]`);
  c.shape('out', out, x.shape);
  c.distinct({ out }, { x });
  noise(c, p, seed);
}

export function maskScale(c: Check, x: Tensor, mask: Tensor, scale: number, out: Tensor): void {
  c.dtype('x', x);
  c.dtype('mask', mask);
  c.shape('out', out, x.shape);
  c.distinct({ out }, { x, mask });
  const [n, k] = [x.size, mask.size];
  if (k === 0 ? n !== 0 : n % k !== 0)
    c.fail(`mask is ${describe(mask)}: its ${k} elements do not divide x ${describe(x)}; pass a mask of x's shape or [B]`);
  c.satisfies('scale', scale, Number.isFinite(scale), 'finite');
}

export function importance(
  c: Check,
  theta: Tensor,
  grad: Tensor,
  ipt: Tensor,
  unc: Tensor,
  beta1: number,
  beta2: number,
  skipped: Tensor,
): void {
  c.dtype('theta', theta);
  for (const [name, t] of [
    ['grad', grad],
    ['ipt', ipt],
    ['unc', unc],
  ] as const)
    c.size(name, t, theta.size);
  c.scalar('skipped', skipped, 'u32');
  c.distinct({ ipt, unc, skipped }, { theta, grad });
  c.within('beta1', beta1, 0, 1, true);
  c.within('beta2', beta2, 0, 1, true);
}

function noise(c: Check, p: number, seed: number): void {
  c.within('p', p, 0, 1);
  c.satisfies('seed', seed, Number.isInteger(seed), 'an integer (it is used mod 2^32)');
}
