// Gradients of the merge (merge.ts) given dW [n, m]:
//   distance: K_h[i,o] = c_h·dW[i,o] / D_h[i,o], D_h = ‖A[h,i] − B[h,o]‖ (K = 0 where D = 0)
//             dA[h,i,:] = Σ_o K·(A[h,i,:] − B[h,o,:]),   dB[h,o,:] = −Σ_i K·(A[h,i,:] − B[h,o,:])
//   linear:   dA[h,i,:] = Σ_o dW[i,o]·B[h,o,:],          dB[h,o,:] = Σ_i dW[i,o]·A[h,i,:]
// dA and dB are overwritten. Same blocking as merge: four outputs o per v128, B packed into
// [ob][h][j][lane]; dB accumulates in the same packed layout (scratch) and is unpacked at the end;
// dA[h,i,j] accumulates four partial lanes per (h, j) over the row and is reduced once per row.
// Zero distances are masked to K = 0, so no NaN or Inf reaches the gradients.

import { hsum, loadRow4 } from './memory';
import { packB4, packedBytes } from './merge';

export function mergeBackward(
  a: usize, b: usize, dw: usize, H: i32, n: i32, m: i32, k: i32, linear: bool, coeff: usize,
  da: usize, db: usize, scratch: usize,
): void {
  const pbBytes = packedBytes(H, m, k);
  const pB = scratch;
  const pdB = scratch + pbBytes;
  const accA = pdB + pbBytes;
  const hk = <usize>H * <usize>k;
  packB4(b, H, m, k, pB);
  memory.fill(pdB, 0, pbBytes);
  const blocks = (m + 3) >> 2;
  for (let i = 0; i < n; i++) {
    memory.fill(accA, 0, hk << 4);
    const grow = dw + (<usize>i * <usize>m << 2);
    let off: usize = 0; // byte offset of block ob in the packed B / dB
    for (let ob = 0; ob < blocks; ob++) {
      const g = loadRow4(grow, ob << 2, m); // lanes past m are 0, so they contribute nothing
      for (let h = 0; h < H; h++) {
        const pa = a + (<usize>(h * n + i) * <usize>k << 2);
        const pb = pB + off;
        const pd = pdB + off;
        const acc = accA + (<usize>h * <usize>k << 4);
        if (linear) linearStep(pa, pb, pd, acc, k, g);
        else distanceStep(pa, pb, pd, acc, k, f32x4.mul(v128.load32_splat(coeff + (<usize>h << 2)), g));
        off += <usize>k << 4;
      }
    }
    for (let h = 0; h < H; h++) {
      const out = da + (<usize>(h * n + i) * <usize>k << 2);
      const acc = accA + (<usize>h * <usize>k << 4);
      for (let j = 0; j < k; j++) store<f32>(out + (<usize>j << 2), hsum(v128.load(acc + (<usize>j << 4))));
    }
  }
  unpack4(pdB, H, m, k, db);
}

// @ts-ignore: decorator
@inline function distanceStep(pa: usize, pb: usize, pd: usize, acc: usize, k: i32, cg: v128): void {
  let d2 = f32x4.splat(0);
  for (let j = 0; j < k; j++) {
    const e = f32x4.sub(v128.load32_splat(pa + (<usize>j << 2)), v128.load(pb + (<usize>j << 4)));
    d2 = f32x4.add(d2, f32x4.mul(e, e));
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
    v128.store(acc + pj, f32x4.add(v128.load(acc + pj), f32x4.mul(g, v128.load(pb + pj))));
    v128.store(pd + pj, f32x4.add(v128.load(pd + pj), f32x4.mul(g, v128.load32_splat(pa + (<usize>j << 2)))));
  }
}

/** Inverse of packB4: dst[h, o, j] = src[((ob·H + h)·k + j)·4 + lane] for o = 4·ob + lane < m. */
function unpack4(src: usize, H: i32, m: i32, k: i32, dst: usize): void {
  for (let h = 0; h < H; h++) {
    for (let o = 0; o < m; o++) {
      const from = src + ((<usize>((o >> 2) * H + h) * <usize>k) << 4) + (<usize>(o & 3) << 2);
      const to = dst + (<usize>(h * m + o) * <usize>k << 2);
      for (let j = 0; j < k; j++) store<f32>(to + (<usize>j << 2), load<f32>(from + (<usize>j << 4)));
    }
  }
}
