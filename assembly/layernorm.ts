// LayerNorm over the last dimension, row by row over x [R, D] (w, b [D]; mean, rstd [R]):
//   forward:  μ = mean(x), ρ = 1/sqrt(mean((x − μ)²) + eps) (biased variance, two passes),
//             out = (x − μ)·ρ·w + b; μ and ρ are stored for the backward pass
//   backward: x̂ = (x − μ)·ρ, ĝ = dy·w: dx = ρ·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)) (written);
//             dw += Σ_r dy·x̂, db += Σ_r dy (accumulated; a null pointer skips it)
// Everything in float64 on pairs of elements (f64x2), rounded once on store. The backward pass sums
// dw and db over the rows in a float64 scratch of 2·D (layerNormScratchBytes).

import { hsum2, load2, store2 } from './memory';

export function layerNormScratchBytes(D: i32): usize {
  return <usize>D << 4;
}

export function layerNorm(x: usize, w: usize, b: usize, R: i32, D: i32, eps: f64, out: usize, mean: usize, rstd: usize): void {
  const even = D & ~1;
  for (let r = 0; r < R; r++) {
    const row = x + (<usize>r * <usize>D << 2);
    const orow = out + (<usize>r * <usize>D << 2);
    let acc = f64x2.splat(0);
    for (let j = 0; j < even; j += 2) acc = f64x2.add(acc, load2(row + (<usize>j << 2)));
    let s = hsum2(acc);
    if (even < D) s += <f64>load<f32>(row + (<usize>even << 2));
    const mu = s / <f64>D;
    const mv = f64x2.splat(mu);
    acc = f64x2.splat(0);
    for (let j = 0; j < even; j += 2) {
      const d = f64x2.sub(load2(row + (<usize>j << 2)), mv);
      acc = f64x2.add(acc, f64x2.mul(d, d));
    }
    s = hsum2(acc);
    if (even < D) {
      const d = <f64>load<f32>(row + (<usize>even << 2)) - mu;
      s += d * d;
    }
    const rs = 1.0 / Math.sqrt(s / <f64>D + eps);
    store<f32>(mean + (<usize>r << 2), <f32>mu);
    store<f32>(rstd + (<usize>r << 2), <f32>rs);
    const rv = f64x2.splat(rs);
    for (let j = 0; j < even; j += 2) {
      const o = <usize>j << 2;
      store2(orow + o, f64x2.add(f64x2.mul(f64x2.mul(f64x2.sub(load2(row + o), mv), rv), load2(w + o)), load2(b + o)));
    }
    if (even < D) {
      const o = <usize>even << 2;
      store<f32>(orow + o, <f32>((<f64>load<f32>(row + o) - mu) * rs * <f64>load<f32>(w + o) + <f64>load<f32>(b + o)));
    }
  }
}

export function layerNormBackward(
  dy: usize, x: usize, w: usize, mean: usize, rstd: usize, R: i32, D: i32,
  dx: usize, dw: usize, db: usize, scratch: usize,
): void {
  const even = D & ~1;
  const accW = scratch;
  const accB = scratch + (<usize>D << 3);
  memory.fill(scratch, 0, <usize>D << 4);
  const invD = 1.0 / <f64>D;
  for (let r = 0; r < R; r++) {
    const base = <usize>r * <usize>D << 2;
    const mu = <f64>load<f32>(mean + (<usize>r << 2));
    const rs = <f64>load<f32>(rstd + (<usize>r << 2));
    const mv = f64x2.splat(mu);
    const rv = f64x2.splat(rs);
    // pass 1: Σĝ, Σĝ·x̂ for this row; Σ dy·x̂ and Σ dy into the column accumulators
    let sg = f64x2.splat(0);
    let sgx = f64x2.splat(0);
    for (let j = 0; j < even; j += 2) {
      const o = <usize>j << 2;
      const g = load2(dy + base + o);
      const xh = f64x2.mul(f64x2.sub(load2(x + base + o), mv), rv);
      const gh = f64x2.mul(g, load2(w + o));
      sg = f64x2.add(sg, gh);
      sgx = f64x2.add(sgx, f64x2.mul(gh, xh));
      const aw = accW + (<usize>j << 3);
      const ab = accB + (<usize>j << 3);
      v128.store(aw, f64x2.add(v128.load(aw), f64x2.mul(g, xh)));
      v128.store(ab, f64x2.add(v128.load(ab), g));
    }
    let mg = hsum2(sg);
    let mgx = hsum2(sgx);
    if (even < D) {
      const o = <usize>even << 2;
      const g = <f64>load<f32>(dy + base + o);
      const xh = (<f64>load<f32>(x + base + o) - mu) * rs;
      const gh = g * <f64>load<f32>(w + o);
      mg += gh;
      mgx += gh * xh;
      const aw = accW + (<usize>even << 3);
      const ab = accB + (<usize>even << 3);
      store<f64>(aw, load<f64>(aw) + g * xh);
      store<f64>(ab, load<f64>(ab) + g);
    }
    mg *= invD;
    mgx *= invD;
    // pass 2: dx = ρ·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂))
    const mgv = f64x2.splat(mg);
    const mgxv = f64x2.splat(mgx);
    for (let j = 0; j < even; j += 2) {
      const o = <usize>j << 2;
      const xh = f64x2.mul(f64x2.sub(load2(x + base + o), mv), rv);
      const gh = f64x2.mul(load2(dy + base + o), load2(w + o));
      store2(dx + base + o, f64x2.mul(rv, f64x2.sub(f64x2.sub(gh, mgv), f64x2.mul(xh, mgxv))));
    }
    if (even < D) {
      const o = <usize>even << 2;
      const xh = (<f64>load<f32>(x + base + o) - mu) * rs;
      const gh = <f64>load<f32>(dy + base + o) * <f64>load<f32>(w + o);
      store<f32>(dx + base + o, <f32>(rs * (gh - mg - xh * mgx)));
    }
  }
  if (dw) addAcc(dw, accW, D);
  if (db) addAcc(db, accB, D);
}

/** dst[j] = f32(dst[j] + acc[j]) with acc in float64. */
function addAcc(dst: usize, acc: usize, D: i32): void {
  for (let j = 0; j < D; j++) {
    const o = <usize>j << 2;
    store<f32>(dst + o, <f32>(<f64>load<f32>(dst + o) + load<f64>(acc + (<usize>j << 3))));
  }
}
