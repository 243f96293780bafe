// Gradients of the merge (merge.ts) given dW [n, m]:
//   distance: K_h[i,o] = c_h·dW[i,o] / D_h[i,o], D_h = ‖A[h,i] − B[h,o]‖ (K = 0 where D = 0)
//             dA[h,i,:] = Σ_o K·(A[h,i,:] − B[h,o,:]),   dB[h,o,:] = −Σ_i K·(A[h,i,:] − B[h,o,:])
//   linear:   dA[h,i,:] = Σ_o dW[i,o]·B[h,o,:],          dB[h,o,:] = Σ_i dW[i,o]·A[h,i,:]
// dA and dB are overwritten. Same blocking as merge: four outputs o per v128, B packed by packB4 into
// [ob][h][j][lane]; dA[h,i,j] accumulates four partial lanes per (h, j) over the row (in `acc`,
// H·k v128) and is reduced once per row. Zero distances are masked to K = 0, so no NaN or Inf
// reaches the gradients.
// The rows i are cut into `groups` fixed ranges [⌊n·g/groups⌋, ⌊n·(g+1)/groups⌋), whatever the
// thread count: mergeBackward runs groups [g0, g1), accumulating group g's share of dB in its own
// packed partial (at packed + (1 + g)·packedBytes: the partials follow the packed B in the merge
// scratch), and mergeBackwardReduce sums the partials in group
// order into rows [o0, o0 + count) of dB. Threads take disjoint groups, then disjoint rows of dB,
// so every sum runs in the same order for any split.

import { madd } from './fma';
import { hsum, loadRow4 } from './memory';
import { packedBytes } from './merge';

export function mergeBackward(
  a: usize, packed: usize, dw: usize, H: i32, n: i32, m: i32, k: i32, linear: bool, coeff: usize,
  da: usize, g0: i32, g1: i32, groups: i32, acc: usize,
): void {
  const pbBytes = packedBytes(H, m, k);
  const partials = packed + pbBytes;
  const hk = <usize>H * <usize>k;
  const blocks = (m + 3) >> 2;
  for (let g = g0; g < g1; g++) {
    const pdB = partials + <usize>g * pbBytes;
    memory.fill(pdB, 0, pbBytes);
    const end = <i32>(<i64>n * (g + 1) / groups);
    for (let i = <i32>(<i64>n * g / groups); i < end; i++) {
      memory.fill(acc, 0, hk << 4);
      const grow = dw + (<usize>i * <usize>m << 2);
      let off: usize = 0; // byte offset of block ob in the packed B / dB
      for (let ob = 0; ob < blocks; ob++) {
        const gv = loadRow4(grow, ob << 2, m); // lanes past m are 0, so they contribute nothing
        for (let h = 0; h < H; h++) {
          const pa = a + (<usize>(h * n + i) * <usize>k << 2);
          const pb = packed + off;
          const pd = pdB + off;
          const ph = acc + (<usize>h * <usize>k << 4);
          if (linear) linearStep(pa, pb, pd, ph, k, gv);
          else distanceStep(pa, pb, pd, ph, k, f32x4.mul(v128.load32_splat(coeff + (<usize>h << 2)), gv));
          off += <usize>k << 4;
        }
      }
      for (let h = 0; h < H; h++) {
        const out = da + (<usize>(h * n + i) * <usize>k << 2);
        const ph = acc + (<usize>h * <usize>k << 4);
        for (let j = 0; j < k; j++) store<f32>(out + (<usize>j << 2), hsum(v128.load(ph + (<usize>j << 4))));
      }
    }
  }
}

/** dB[h, o, j] = Σ_g partial_g (in group order), for o in [o0, o0 + count): the inverse of packB4. */
export function mergeBackwardReduce(partials: usize, groups: i32, H: i32, m: i32, k: i32, db: usize, o0: i32, count: i32): void {
  const pbBytes = packedBytes(H, m, k);
  for (let h = 0; h < H; h++) {
    for (let o = o0; o < o0 + count; o++) {
      const from = partials + ((<usize>((o >> 2) * H + h) * <usize>k) << 4) + (<usize>(o & 3) << 2);
      const to = db + (<usize>(h * m + o) * <usize>k << 2);
      for (let j = 0; j < k; j++) {
        const at = from + (<usize>j << 4);
        let sum = load<f32>(at);
        for (let g = 1; g < groups; g++) sum += load<f32>(at + <usize>g * pbBytes);
        store<f32>(to + (<usize>j << 2), sum);
      }
    }
  }
}

// @ts-ignore: decorator
@inline function distanceStep(pa: usize, pb: usize, pd: usize, acc: usize, k: i32, cg: v128): void {
  let d2 = f32x4.splat(0);
  for (let j = 0; j < k; j++) {
    const e = f32x4.sub(v128.load32_splat(pa + (<usize>j << 2)), v128.load(pb + (<usize>j << 4)));
    d2 = madd(e, e, d2);
  }
  // K = c·g/D, forced to 0 where D = 0 (the division's Inf/NaN is masked away)
  const K = v128.and(f32x4.div(cg, f32x4.sqrt(d2)), f32x4.ne(d2, f32x4.splat(0)));
  for (let j = 0; j < k; j++) {
    const pj = <usize>j << 4;
    const ke = f32x4.mul(K, f32x4.sub(v128.load32_splat(pa + (<usize>j << 2)), v128.load(pb + pj)));
    v128.store(acc + pj, f32x4.add(v128.load(acc + pj), ke));
    v128.store(pd + pj, f32x4.sub(v128.load(pd + pj), ke));
  }
}

// @ts-ignore: decorator
@inline function linearStep(pa: usize, pb: usize, pd: usize, acc: usize, k: i32, g: v128): void {
  for (let j = 0; j < k; j++) {
    const pj = <usize>j << 4;
    v128.store(acc + pj, madd(g, v128.load(pb + pj), v128.load(acc + pj)));
    v128.store(pd + pj, madd(g, v128.load32_splat(pa + (<usize>j << 2)), v128.load(pd + pj)));
  }
}
