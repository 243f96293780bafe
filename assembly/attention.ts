// Multi-head softmax attention, q, k, v, out [B, T, D] with nh heads interleaved in the feature
// dimension (head h is columns h·hd .. h·hd + hd − 1, hd = D/nh, as timm lays them out):
//   forward:  S = Q·Kᵀ; P = softmax(S·hd^−½) over keys (probs [B, nh, T, T], kept); out = P·V
//   backward: dV = Pᵀ·dO; dP = dO·Vᵀ; dS = P⊙(dP − rowsum(dP⊙P))·hd^−½; dQ = dS·K; dK = dSᵀ·Q
// per (b, h). Every product runs on the packed SIMD gemm of matmul.ts directly on the strided head
// slices (leading dimension D), so nothing is gathered. The softmax runs in f32x4 with a Cephes
// style exp (max subtracted first, ≤ 2 ulp) and sums in float64. Scratch (attentionScratchBytes):
// the gemm packing buffers, then dS [T, T] for the backward pass.

import { gemm, matmulScratchBytes } from './matmul';
import { hsum2 } from './memory';

export function attentionScratchBytes(T: i32): usize {
  return matmulScratchBytes() + ((<usize>T * <usize>T << 2) + 63 & ~(<usize>63));
}

export function attention(q: usize, k: usize, v: usize, B: i32, T: i32, D: i32, nh: i32, out: usize, probs: usize, scratch: usize): void {
  const hd = D / nh;
  const scale = <f32>(1.0 / Math.sqrt(<f64>hd));
  const tt = <usize>T * <usize>T << 2;
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < nh; h++) {
      const off = (<usize>b * <usize>T * <usize>D + <usize>(h * hd)) << 2;
      const P = probs + <usize>(b * nh + h) * tt;
      gemm(q + off, D, k + off, D, P, T, T, T, hd, false, true, false, scratch);
      for (let i = 0; i < T; i++) softmaxRow(P + (<usize>i * <usize>T << 2), T, scale);
      gemm(P, T, v + off, D, out + off, D, T, hd, T, false, false, false, scratch);
    }
  }
}

export function attentionBackward(
  dO: usize, q: usize, k: usize, v: usize, probs: usize, B: i32, T: i32, D: i32, nh: i32,
  dq: usize, dk: usize, dv: usize, scratch: usize,
): void {
  const hd = D / nh;
  const scale = <f32>(1.0 / Math.sqrt(<f64>hd));
  const tt = <usize>T * <usize>T << 2;
  const dS = scratch + matmulScratchBytes();
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < nh; h++) {
      const off = (<usize>b * <usize>T * <usize>D + <usize>(h * hd)) << 2;
      const P = probs + <usize>(b * nh + h) * tt;
      gemm(P, T, dO + off, D, dv + off, D, T, hd, T, true, false, false, scratch); // dV = Pᵀ·dO
      gemm(dO + off, D, v + off, D, dS, T, T, T, hd, false, true, false, scratch); // dP = dO·Vᵀ
      for (let i = 0; i < T; i++) {
        const o = <usize>i * <usize>T << 2;
        softmaxGradRow(P + o, dS + o, T, scale);
      }
      gemm(dS, T, k + off, D, dq + off, D, T, hd, T, false, false, false, scratch); // dQ = dS·K
      gemm(dS, T, q + off, D, dk + off, D, T, hd, T, true, false, false, scratch); // dK = dSᵀ·Q
    }
  }
}

/** In place: row = softmax(row·scale), scale > 0. */
function softmaxRow(row: usize, T: i32, scale: f32): void {
  let mv = f32x4.splat(-Infinity);
  let j = 0;
  for (; j + 4 <= T; j += 4) mv = f32x4.pmax(mv, v128.load(row + (<usize>j << 2)));
  let top = max(max(f32x4.extract_lane(mv, 0), f32x4.extract_lane(mv, 1)), max(f32x4.extract_lane(mv, 2), f32x4.extract_lane(mv, 3)));
  for (; j < T; j++) top = max(top, load<f32>(row + (<usize>j << 2)));
  const m4 = f32x4.splat(top);
  const s4 = f32x4.splat(scale);
  let a0 = f64x2.splat(0), a1 = f64x2.splat(0);
  j = 0;
  for (; j + 4 <= T; j += 4) {
    const p = row + (<usize>j << 2);
    const e = expNeg4(f32x4.mul(f32x4.sub(v128.load(p), m4), s4));
    v128.store(p, e);
    a0 = f64x2.add(a0, f64x2.promote_low_f32x4(e));
    a1 = f64x2.add(a1, f64x2.promote_low_f32x4(i64x2.shuffle(e, e, 1, 1)));
  }
  let sum = hsum2(f64x2.add(a0, a1));
  for (; j < T; j++) {
    const p = row + (<usize>j << 2);
    const e = f32x4.extract_lane(expNeg4(f32x4.splat((load<f32>(p) - top) * scale)), 0);
    store<f32>(p, e);
    sum += <f64>e;
  }
  const inv = <f32>(1.0 / sum);
  const iv = f32x4.splat(inv);
  j = 0;
  for (; j + 4 <= T; j += 4) {
    const p = row + (<usize>j << 2);
    v128.store(p, f32x4.mul(v128.load(p), iv));
  }
  for (; j < T; j++) {
    const p = row + (<usize>j << 2);
    store<f32>(p, load<f32>(p) * inv);
  }
}

/** In place on d (= dP on entry): d = P⊙(d − Σ d⊙P)·scale. */
function softmaxGradRow(P: usize, d: usize, T: i32, scale: f32): void {
  let a0 = f64x2.splat(0), a1 = f64x2.splat(0);
  let j = 0;
  for (; j + 4 <= T; j += 4) {
    const o = <usize>j << 2;
    const x = f32x4.mul(v128.load(P + o), v128.load(d + o));
    a0 = f64x2.add(a0, f64x2.promote_low_f32x4(x));
    a1 = f64x2.add(a1, f64x2.promote_low_f32x4(i64x2.shuffle(x, x, 1, 1)));
  }
  let dot = hsum2(f64x2.add(a0, a1));
  for (; j < T; j++) {
    const o = <usize>j << 2;
    dot += <f64>(load<f32>(P + o) * load<f32>(d + o));
  }
  const dv = f32x4.splat(<f32>dot);
  const s4 = f32x4.splat(scale);
  j = 0;
  for (; j + 4 <= T; j += 4) {
    const o = <usize>j << 2;
    v128.store(d + o, f32x4.mul(f32x4.mul(v128.load(P + o), f32x4.sub(v128.load(d + o), dv)), s4));
  }
  for (; j < T; j++) {
    const o = <usize>j << 2;
    store<f32>(d + o, load<f32>(P + o) * (load<f32>(d + o) - <f32>dot) * scale);
  }
}

/**
 * e^x on four lanes for x ≤ 0 (Cephes expf): n = round(x·log2 e) by the 1.5·2^23 trick (n is then
 * in the low mantissa bits), r = x − n·ln 2 (two-part ln 2), e^r by a degree-6 polynomial, and 2^n
 * added into the exponent bits. Relative error ≤ 2 ulp; x is clamped below at −86 (e^−86 ≈ 4e−38,
 * nothing next to the row's maximum term 1); NaN stays NaN (pmax keeps it).
 */
// @ts-ignore: decorator
@inline function expNeg4(x: v128): v128 {
  x = f32x4.pmax(x, f32x4.splat(-86));
  const magic = f32x4.splat(12582912.0);
  const t = f32x4.add(f32x4.mul(x, f32x4.splat(1.44269504088896341)), magic);
  const n = f32x4.sub(t, magic);
  let r = f32x4.sub(x, f32x4.mul(n, f32x4.splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(-2.12194440e-4)));
  let p = f32x4.splat(1.9875691500e-4);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(5.0000001201e-1));
  const y = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(p, r), r), r), f32x4.splat(1));
  return i32x4.add(y, i32x4.shl(i32x4.sub(t, magic), 23));
}
