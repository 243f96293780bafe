// Multi-head softmax attention, q, out [B, Tq, H·hd], k, v [B, Tk, KV·hd], heads interleaved in the
// feature dimension (head n is columns n·hd .. n·hd + hd − 1, as timm and Hugging Face lay them out);
// query head n reads key/value head g = ⌊n/(H/KV)⌋ (grouped-query attention; KV = H for the ViT):
//   forward:  S = Q_n·K_gᵀ; P = softmax(S·hd^−½) over the allowed keys (probs [B, H, Tq, Tk], kept);
//             out_n = P·V_g
//   backward: dV_g = Σ_n Pᵀ·dO_n; dP = dO_n·V_gᵀ; dS = P⊙(dP − rowsum(dP⊙P))·hd^−½; dQ_n = dS·K_g;
//             dK_g = Σ_n dSᵀ·Q_n (the sums over the group's query heads in head order)
// per (b, n). A call takes the units u0 … u0 + units − 1 of the B·KV units u = b·KV + g, each one
// key/value head g of sequence b with its query heads g·H/KV …, so threads split over sequences and
// heads alike and a key/value head's sums stay in one call. Allowed keys of query i: j ≤ offset + i when offset ≥ 0 (causal; offset < 0: all), and
// mask[b·Tk + j] ≠ 0 or j = 0 when mask ≠ 0 (key padding; key 0 always allowed, so no row is empty).
// Forbidden keys get P = 0 exactly; the backward needs no mask (their dS is P·(…) = 0).
// Every product runs on the packed SIMD gemm of matmul.ts directly on the strided head slices, so
// nothing is gathered. The softmax runs in f32x4 with a Cephes style exp (max subtracted first, ≤ 2 ulp)
// and sums in float64; an unmasked row (the ViT) takes softmaxRow alone, a causal row softmaxRow over its
// allowed prefix, a padded one softmaxMaskedRow. Scratch (attentionScratchBytes): the gemm packing
// buffers, then dS [Tq, Tk] for the backward pass.

import { gemm, matmulScratchBytes } from './matmul';
import { expNeg4 } from './exp';
import { hsum2 } from './memory';

export function attentionScratchBytes(Tq: i32, Tk: i32): usize {
  return matmulScratchBytes() + ((<usize>Tq * <usize>Tk << 2) + 63 & ~(<usize>63));
}

export function attention(
  q: usize, k: usize, v: usize, Tq: i32, Tk: i32, H: i32, KV: i32, hd: i32, offset: i32, mask: usize,
  out: usize, probs: usize, scratch: usize, u0: i32, units: i32,
): void {
  const Dq = H * hd, Dk = KV * hd, group = H / KV;
  const scale = <f32>(1.0 / Math.sqrt(<f64>hd));
  const tt = <usize>Tq * <usize>Tk << 2;
  for (let u = u0; u < u0 + units; u++) {
    const b = u / KV;
    const m = mask ? mask + (<usize>b * <usize>Tk << 2) : 0;
    for (let n = u % KV * group; n < (u % KV + 1) * group; n++) {
      const oq = (<usize>b * <usize>Tq * <usize>Dq + <usize>(n * hd)) << 2;
      const ok = (<usize>b * <usize>Tk * <usize>Dk + <usize>(n / group * hd)) << 2;
      const P = probs + <usize>(b * H + n) * tt;
      gemm(q + oq, Dq, k + ok, Dk, P, Tk, Tq, Tk, hd, false, true, false, scratch);
      for (let i = 0; i < Tq; i++) {
        const row = P + (<usize>i * <usize>Tk << 2);
        const len = offset < 0 ? Tk : min(Tk, offset + i + 1);
        if (m) softmaxMaskedRow(row, len, m, scale);
        else softmaxRow(row, len, scale);
        if (len < Tk) memory.fill(row + (<usize>len << 2), 0, <usize>(Tk - len) << 2);
      }
      gemm(P, Tk, v + ok, Dk, out + oq, Dq, Tq, hd, Tk, false, false, false, scratch);
    }
  }
}

export function attentionBackward(
  dO: usize, q: usize, k: usize, v: usize, probs: usize, Tq: i32, Tk: i32, H: i32, KV: i32, hd: i32,
  dq: usize, dk: usize, dv: usize, scratch: usize, u0: i32, units: i32,
): void {
  const Dq = H * hd, Dk = KV * hd, group = H / KV;
  const scale = <f32>(1.0 / Math.sqrt(<f64>hd));
  const tt = <usize>Tq * <usize>Tk << 2;
  const dS = scratch + matmulScratchBytes();
  for (let u = u0; u < u0 + units; u++) {
    const b = u / KV;
    for (let n = u % KV * group; n < (u % KV + 1) * group; n++) {
      const oq = (<usize>b * <usize>Tq * <usize>Dq + <usize>(n * hd)) << 2;
      const ok = (<usize>b * <usize>Tk * <usize>Dk + <usize>(n / group * hd)) << 2;
      const sum = n % group != 0; // the group's first query head writes dk, dv; the others add
      const P = probs + <usize>(b * H + n) * tt;
      gemm(P, Tk, dO + oq, Dq, dv + ok, Dk, Tk, hd, Tq, true, false, sum, scratch); // dV += Pᵀ·dO
      gemm(dO + oq, Dq, v + ok, Dk, dS, Tk, Tq, Tk, hd, false, true, false, scratch); // dP = dO·Vᵀ
      for (let i = 0; i < Tq; i++) {
        const o = <usize>i * <usize>Tk << 2;
        softmaxGradRow(P + o, dS + o, Tk, scale);
      }
      gemm(dS, Tk, k + ok, Dk, dq + oq, Dq, Tq, hd, Tk, false, false, false, scratch); // dQ = dS·K
      gemm(dS, Tk, q + oq, Dq, dk + ok, Dk, Tk, hd, Tq, true, false, sum, scratch); // dK += dSᵀ·Q
    }
  }
}

/**
 * In place over the first T entries: row = softmax(row·scale) over the keys j with mask[j] ≠ 0 or
 * j = 0, the others 0 exactly; scale > 0.
 */
function softmaxMaskedRow(row: usize, T: i32, mask: usize, scale: f32): void {
  const zero = i32x4.splat(0);
  const first = i32x4(-1, 0, 0, 0); // key 0 is always allowed
  let mv = f32x4.splat(-Infinity);
  let j = 0;
  for (; j + 4 <= T; j += 4) {
    const ok = v128.or(i32x4.ne(v128.load(mask + (<usize>j << 2)), zero), j == 0 ? first : zero);
    mv = f32x4.pmax(mv, v128.bitselect(v128.load(row + (<usize>j << 2)), f32x4.splat(-Infinity), ok));
  }
  let top = max(max(f32x4.extract_lane(mv, 0), f32x4.extract_lane(mv, 1)), max(f32x4.extract_lane(mv, 2), f32x4.extract_lane(mv, 3)));
  for (; j < T; j++) if (j == 0 || load<u32>(mask + (<usize>j << 2)) != 0) top = max(top, load<f32>(row + (<usize>j << 2)));
  const m4 = f32x4.splat(top);
  const s4 = f32x4.splat(scale);
  let a0 = f64x2.splat(0), a1 = f64x2.splat(0);
  j = 0;
  for (; j + 4 <= T; j += 4) {
    const p = row + (<usize>j << 2);
    const ok = v128.or(i32x4.ne(v128.load(mask + (<usize>j << 2)), zero), j == 0 ? first : zero);
    const e = v128.and(expNeg4(f32x4.mul(f32x4.sub(v128.load(p), m4), s4)), ok);
    v128.store(p, e);
    a0 = f64x2.add(a0, f64x2.promote_low_f32x4(e));
    a1 = f64x2.add(a1, f64x2.promote_low_f32x4(i64x2.shuffle(e, e, 1, 1)));
  }
  let sum = hsum2(f64x2.add(a0, a1));
  for (; j < T; j++) {
    const p = row + (<usize>j << 2);
    const ok = j == 0 || load<u32>(mask + (<usize>j << 2)) != 0;
    const e = ok ? f32x4.extract_lane(expNeg4(f32x4.splat((load<f32>(p) - top) * scale)), 0) : <f32>0;
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
