// Rules for the ViT primitives (R rows, D features, B samples, T tokens, nh heads), every tensor f32:
//   layerNorm          x rows [..., D] with D ≥ 1 (R = x.size/D rows), w, b D elements, eps a finite
//                      number ≥ 0 (torch allows 0); out R·D elements, mean, rstd R elements
//   layerNormBackward  dy R·D, x, w, mean, rstd as above; dx R·D; dw, db D elements (or null)
//   attention          q [B, T, D] with T ≥ 1, k, v [B, T, D]; heads a positive integer dividing D
//                      into heads of width ≥ 1; out [B, T, D], probs B·nh·T·T elements
//   attentionBackward  dOut, q, k, v [B, T, D], probs B·nh·T·T; dq, dk, dv [B, T, D]
//   embedTokens        out [B, T, D] with T ≥ 1; patches B·(T−1)·D, cls D, pos T·D elements
//   embedTokensBackward dOut [B, T, D] with T ≥ 1; dPatches, dCls, dPos as above (or null)
//   poolTokens         x [B, T, D] with T ≥ 1, mode 'cls' or 'mean'; out [B, D]
//   poolTokensBackward dOut [B, D], mode; dx [B, T, D] with T ≥ 1
// Outputs (after the semicolons) are distinct tensors, none of them an input; inputs may repeat
// (self-attention passes one tensor as q, k and v).

import type { PoolMode, Tensor } from '../backend.js';
import type { Check } from './checks.js';

const POOL_MODES: readonly PoolMode[] = ['cls', 'mean'];

export function layerNorm(c: Check, x: Tensor, w: Tensor, b: Tensor, eps: number, out: Tensor, mean: Tensor, rstd: Tensor): void {
  const [R, D] = c.rows('x', x);
  c.size('w', w, D);
  c.size('b', b, D);
  c.size('out', out, R * D);
  c.size('mean', mean, R);
  c.size('rstd', rstd, R);
  c.atLeast('eps', eps, 0);
  c.distinct({ out, mean, rstd }, { x, w, b });
}

export function layerNormBackward(
  c: Check,
  dy: Tensor,
  x: Tensor,
  w: Tensor,
  mean: Tensor,
  rstd: Tensor,
  dx: Tensor,
  dw: Tensor | null,
  db: Tensor | null,
): void {
  const [R, D] = c.rows('x', x);
  c.size('dy', dy, R * D);
  c.size('w', w, D);
  c.size('mean', mean, R);
  c.size('rstd', rstd, R);
  c.size('dx', dx, R * D);
  if (dw) c.size('dw', dw, D);
  if (db) c.size('db', db, D);
  c.distinct({ dx, dw, db }, { dy, x, w, mean, rstd });
}

export function attention(c: Check, q: Tensor, k: Tensor, v: Tensor, heads: number, out: Tensor, probs: Tensor): void {
  const [B, T, D] = c.tokens('q', q);
  attentionHeads(c, heads, D);
  for (const [name, t] of [
    ['k', k],
    ['v', v],
    ['out', out],
  ] as const)
    c.shape(name, t, [B, T, D]);
  c.size('probs', probs, B * heads * T * T);
  c.distinct({ out, probs }, { q, k, v });
}

export function attentionBackward(
  c: Check,
  dOut: Tensor,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  probs: Tensor,
  heads: number,
  dq: Tensor,
  dk: Tensor,
  dv: Tensor,
): void {
  const [B, T, D] = c.tokens('q', q);
  attentionHeads(c, heads, D);
  for (const [name, t] of [
    ['dOut', dOut],
    ['k', k],
    ['v', v],
    ['dq', dq],
    ['dk', dk],
    ['dv', dv],
  ] as const)
    c.shape(name, t, [B, T, D]);
  c.size('probs', probs, B * heads * T * T);
  c.distinct({ dq, dk, dv }, { dOut, q, k, v, probs });
}

export function embedTokens(c: Check, patches: Tensor, cls: Tensor, pos: Tensor, out: Tensor): void {
  const [B, T, D] = c.tokens('out', out);
  c.size('patches', patches, B * (T - 1) * D);
  c.size('cls', cls, D);
  c.size('pos', pos, T * D);
  c.distinct({ out }, { patches, cls, pos });
}

export function embedTokensBackward(
  c: Check,
  dOut: Tensor,
  dPatches: Tensor | null,
  dCls: Tensor | null,
  dPos: Tensor | null,
): void {
  const [B, T, D] = c.tokens('dOut', dOut);
  if (dPatches) c.size('dPatches', dPatches, B * (T - 1) * D);
  if (dCls) c.size('dCls', dCls, D);
  if (dPos) c.size('dPos', dPos, T * D);
  c.distinct({ dPatches, dCls, dPos }, { dOut });
}

export function poolTokens(c: Check, x: Tensor, mode: PoolMode, out: Tensor): void {
  c.oneOf('pooling mode', mode, POOL_MODES);
  const [B, , D] = c.tokens('x', x);
  c.shape('out', out, [B, D]);
  c.distinct({ out }, { x });
}

export function poolTokensBackward(c: Check, dOut: Tensor, mode: PoolMode, dx: Tensor): void {
  c.oneOf('pooling mode', mode, POOL_MODES);
  const [B, , D] = c.tokens('dx', dx);
  c.shape('dOut', dOut, [B, D]);
  c.distinct({ dx }, { dOut });
}

function attentionHeads(c: Check, heads: number, D: number): void {
  c.satisfies(
    'heads',
    heads,
    Number.isInteger(heads) && heads >= 1 && D % heads === 0 && D >= heads,
    `a positive integer dividing the feature dimension D = ${D} (heads of width D/heads ≥ 1)`,
  );
}
