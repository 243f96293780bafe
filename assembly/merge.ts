// The kernelized merge, W [n, m] from A [H, n, k] and B [H, m, k]:
//   distance: W[i,o] = Σ_h c_h·sqrt(Σ_j (A[h,i,j] − B[h,o,j])²)   (SNELL's kernel)
//   linear:   W[i,o] = Σ_h Σ_j A[h,i,j]·B[h,o,j]                    (LoRA)
// f32 throughout. SIMD runs over four outputs o at a time: B is first packed, transposed, into
// blocks of four rows ([ob][h][j][lane], lanes past m zero), so the inner loop is one contiguous
// v128 load per (h, j) and A[h,i,j] is a broadcast load. Ties and zero distances need no rule: a zero
// distance gives sqrt(0) = 0. The caller packs B once (packB4) and splits the rows of W between
// threads (merge writes rows [i0, i0 + rows)). Scratch: mergeScratchBytes (packed B, and for the
// backward the per-group packed dB partials and a dA accumulator per thread, see merge_backward.ts).

import { madd } from './fma';
import { storeRow4 } from './memory';

/**
 * Bytes of scratch for H heads, m outputs and head width k: packed B, then `groups` packed dB
 * partials and `threads` dA accumulators of H·k lanes of four (merge uses only the packed B).
 */
export function mergeScratchBytes(H: i32, m: i32, k: i32, groups: i32, threads: i32): usize {
  return packedBytes(H, m, k) * <usize>(1 + groups) + ((<usize>threads * <usize>H * <usize>k) << 4);
}

// @ts-ignore: decorator
@inline export function packedBytes(H: i32, m: i32, k: i32): usize {
  return (<usize>((m + 3) >> 2) * <usize>H * <usize>k) << 4;
}

/** Packs B [H, m, k] into blocks of four outputs: dst[((ob·H + h)·k + j)·4 + lane] = B[h, 4·ob + lane, j]. */
export function packB4(b: usize, H: i32, m: i32, k: i32, dst: usize): void {
  const blocks = (m + 3) >> 2;
  for (let ob = 0; ob < blocks; ob++) {
    for (let h = 0; h < H; h++) {
      const out = dst + ((<usize>(ob * H + h) * <usize>k) << 4);
      for (let lane = 0; lane < 4; lane++) {
        const o = (ob << 2) + lane;
        const src = b + ((<usize>(h * m + o) * <usize>k) << 2);
        for (let j = 0; j < k; j++) {
          store<f32>(out + (<usize>((j << 2) + lane) << 2), o < m ? load<f32>(src + (<usize>j << 2)) : 0);
        }
      }
    }
  }
}

/**
 * Rows [i0, i0 + rows) of W = merge(A, B) from B packed by packB4 (`packed`); `linear` picks LoRA's
 * kernel, `coeff` holds H f32 (unused for linear).
 */
export function merge(a: usize, packed: usize, H: i32, n: i32, m: i32, k: i32, linear: bool, coeff: usize, w: usize, i0: i32, rows: i32): void {
  const blocks = (m + 3) >> 2;
  const stride = <usize>H * <usize>k << 4;
  for (let i = i0; i < i0 + rows; i++) {
    const row = w + (<usize>i * <usize>m << 2);
    let pb = packed;
    for (let ob = 0; ob < blocks; ob++) {
      const acc = linear ? linearBlock(a, pb, H, n, i, k) : distanceBlock(a, pb, H, n, i, k, coeff);
      storeRow4(row, ob << 2, m, acc);
      pb += stride;
    }
  }
}

/** Σ_h c_h·‖A[h,i] − B[h,o]‖ for the four outputs of one packed block. */
// @ts-ignore: decorator
@inline function distanceBlock(a: usize, pb: usize, H: i32, n: i32, i: i32, k: i32, coeff: usize): v128 {
  let w = f32x4.splat(0);
  for (let h = 0; h < H; h++) {
    const pa = a + (<usize>(h * n + i) * <usize>k << 2);
    let d0 = f32x4.splat(0);
    let d1 = f32x4.splat(0);
    let j = 0;
    for (; j + 1 < k; j += 2) {
      const e0 = f32x4.sub(v128.load32_splat(pa + (<usize>j << 2)), v128.load(pb + (<usize>j << 4)));
      const e1 = f32x4.sub(v128.load32_splat(pa + (<usize>j << 2), 4), v128.load(pb + (<usize>j << 4), 16));
      d0 = madd(e0, e0, d0);
      d1 = madd(e1, e1, d1);
    }
    if (j < k) {
      const e0 = f32x4.sub(v128.load32_splat(pa + (<usize>j << 2)), v128.load(pb + (<usize>j << 4)));
      d0 = madd(e0, e0, d0);
    }
    w = f32x4.add(w, f32x4.mul(v128.load32_splat(coeff + (<usize>h << 2)), f32x4.sqrt(f32x4.add(d0, d1))));
    pb += <usize>k << 4;
  }
  return w;
}

/** Σ_h A[h,i]·B[h,o] for the four outputs of one packed block. */
// @ts-ignore: decorator
@inline function linearBlock(a: usize, pb: usize, H: i32, n: i32, i: i32, k: i32): v128 {
  let w0 = f32x4.splat(0);
  let w1 = f32x4.splat(0);
  for (let h = 0; h < H; h++) {
    const pa = a + (<usize>(h * n + i) * <usize>k << 2);
    let j = 0;
    for (; j + 1 < k; j += 2) {
      w0 = madd(v128.load32_splat(pa + (<usize>j << 2)), v128.load(pb + (<usize>j << 4)), w0);
      w1 = madd(v128.load32_splat(pa + (<usize>j << 2), 4), v128.load(pb + (<usize>j << 4), 16), w1);
    }
    if (j < k) w0 = madd(v128.load32_splat(pa + (<usize>j << 2)), v128.load(pb + (<usize>j << 4)), w0);
    pb += <usize>k << 4;
  }
  return f32x4.add(w0, w1);
}
