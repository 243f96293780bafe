// SNELLA's split of a budget b between layers by their importance scores S_l, in float32 where the
// authors' code is float32 (f = rounding to float32, Σ_f a float32 sum, see f32sum.ts):
//   p_l = f(f(S_l) / Σ_f S)                        the layer's share
//   a_l = min(N_l, trunc(f(f(b)·p_l)))              the first split; a_l = N_l saturates the layer
//   while δ = f(f(b) - Σ_f a) > 0:                  hand the remainder to the unsaturated layers U
//     a_l ← f(a_l + min(f(f(δ·p_l) / Σ_f p_U), f(N_l - a_l)))   for l in U
//   k_l = trunc(a_l),   s_l = clamp(1 - k_l/N_l, 0, 1)   (float64)
// A split that cannot be made (every score zero, or a non-finite one) is reported, not attempted:
// the reference divides by zero there. Where the reference would spin (a pass that moves nothing) or
// divide 0 by 0 (every open layer scores zero), the loop stops with what it has.

import { f32sum } from './f32sum.js';

const f = Math.fround;

export type Split = { ok: true; share: Float32Array; kept: number[]; sparsity: number[] } | { ok: false; reason: string };

export function splitBudget(scores: readonly number[], volumes: readonly number[], budget: number): Split {
  if (scores.length !== volumes.length) throw new Error(`splitBudget: ${scores.length} scores for ${volumes.length} layers`);
  const S = scores.map(f);
  if (S.some((s) => !Number.isFinite(s) || s < 0))
    return { ok: false, reason: 'a layer score is not a finite non-negative number' };
  const total = f32sum(S);
  if (total === 0) return { ok: false, reason: 'every layer score is zero (no adapter has moved yet)' };
  const share = Float32Array.from(S, (s) => s / total);
  const b = f(budget);
  const N = volumes.map(f);
  const a = N.map((n, l) => Math.min(n, Math.trunc(f(b * share[l]!))));
  let remainder = f(b - f32sum(a));
  while (remainder > 0) {
    const open = a.flatMap((al, l) => (f(N[l]! - al) !== 0 ? [l] : []));
    const openShare = f32sum(open.map((l) => share[l]!));
    if (openShare === 0) break; // every open layer scores zero: nothing can take the remainder
    let moved = false;
    for (const l of open) {
      const next = f(a[l]! + Math.min(f(f(remainder * share[l]!) / openShare), f(N[l]! - a[l]!)));
      moved ||= next !== a[l];
      a[l] = next;
    }
    if (!moved) break; // the remainder is below what float32 can still hand out
    remainder = f(b - f32sum(a));
  }
  const kept = a.map(Math.trunc);
  const sparsity = kept.map((k, l) => Math.min(Math.max(1 - k / volumes[l]!, 0), 1));
  return { ok: true, share, kept, sparsity };
}
