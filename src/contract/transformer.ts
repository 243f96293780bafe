// Rules for the ViT primitives (R rows, D features, B samples, T tokens, nh heads), every tensor f32:
//   layerNorm          x rows [..., D] with D ≥ 1 (R = x.size/D rows), w, b D elements, eps a finite
//                      number ≥ 0 (torch allows 0); out R·D elements, mean, rstd R elements
//   layerNormBackward  dy R·D, x, w, mean, rstd as above; dx R·D; dw, db D elements (or null)
//   attention          q [B, Tq, D] with Tq ≥ 1; heads a positive integer dividing D into heads of
//                      width hd ≥ 1; options.kvHeads (KV, default heads) a positive integer dividing
//                      heads; k, v [B, Tk, KV·hd] with Tk = Tq unless options.causal (then Tk ≥ Tq and
//                      options.offset, default Tk − Tq, an integer in [0, Tk − Tq]; offset without
//                      causal is refused); options.keyMask u32 [B, Tk]; out [B, Tq, D], probs
//                      B·nh·Tq·Tk elements
//   attentionBackward  the same q, k, v, heads, options; dOut [B, Tq, D], probs as above; dq of q's
//                      shape, dk, dv of k's
//   embedTokens        out [B, T, D] with T ≥ 1; patches B·(T−1)·D, cls D, pos T·D elements
//   embedTokensBackward dOut [B, T, D] with T ≥ 1; dPatches, dCls, dPos as above (or null)
//   poolTokens         x [B, T, D] with T ≥ 1, mode 'cls' or 'mean'; out [B, D]
//   poolTokensBackward dOut [B, D], mode; dx [B, T, D] with T ≥ 1
// Outputs (after the semicolons) are distinct tensors, none of them an input; inputs may repeat
// (self-attention passes one tensor as q, k and v).

import type { AttentionOptions, PoolMode, Tensor } from '../backend.js';
import type { Check } from './checks.js';
import { type AttentionShape, attentionShape, describe } from './shapes.js';

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

export function attention(
  c: Check,
  q: Tensor,
  k: Tensor,
  v: Tensor,
  heads: number,
  out: Tensor,
  probs: Tensor,
  options: AttentionOptions = {},
): void {
  const g = attentionGeometry(c, q, k, heads, options);
  c.shape('v', v, [g.B, g.Tk, g.kvHeads * g.hd]);
  c.shape('out', out, [g.B, g.Tq, g.D]);
  c.size('probs', probs, g.B * heads * g.Tq * g.Tk);
  c.distinct({ out, probs }, { q, k, v, keyMask: options.keyMask ?? null });
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
  options: AttentionOptions = {},
): void {
  const g = attentionGeometry(c, q, k, heads, options);
  const kv = [g.B, g.Tk, g.kvHeads * g.hd];
  c.shape('dOut', dOut, [g.B, g.Tq, g.D]);
  c.shape('v', v, kv);
  c.size('probs', probs, g.B * heads * g.Tq * g.Tk);
  c.shape('dq', dq, [g.B, g.Tq, g.D]);
  c.shape('dk', dk, kv);
  c.shape('dv', dv, kv);
  c.distinct({ dq, dk, dv }, { dOut, q, k, v, probs, keyMask: options.keyMask ?? null });
}

function attentionGeometry(c: Check, q: Tensor, k: Tensor, heads: number, options: AttentionOptions): AttentionShape {
  const [B, Tq, D] = c.tokens('q', q);
  attentionHeads(c, heads, D);
  const { kvHeads = heads, causal = false, keyMask } = options;
  c.satisfies(
    'kvHeads',
    kvHeads,
    Number.isInteger(kvHeads) && kvHeads >= 1 && heads % kvHeads === 0,
    `a positive integer dividing heads = ${heads} (each key/value head serves heads/kvHeads query heads)`,
  );
  const hd = D / heads;
  let Tk = Tq;
  if (causal) {
    [, Tk] = c.dims('k', k, 'B, Tk, D');
    c.shape('k', k, [B, Tk, kvHeads * hd]);
    if (Tk < Tq) c.fail(`k is ${describe(k)}: causal attention needs at least as many keys as queries (Tk ≥ Tq = ${Tq})`);
    const offset = options.offset ?? Tk - Tq;
    c.satisfies(
      'offset',
      offset,
      Number.isInteger(offset) && offset >= 0 && offset <= Tk - Tq,
      `an integer in [0, Tk − Tq] = [0, ${Tk - Tq}] (query i sits at position offset + i < Tk)`,
    );
  } else {
    if (options.offset !== undefined) c.fail('offset places the queries of causal attention: pass causal: true, or no offset');
    c.shape('k', k, [B, Tq, kvHeads * hd]);
  }
  if (keyMask) c.shape('keyMask', keyMask, [B, Tk], 'u32');
  return attentionShape(q, k, heads, options);
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
