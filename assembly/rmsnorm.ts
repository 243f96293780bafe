// RMSNorm over the last dimension, row by row over x [R, D] (w [D]; rstd [R]):
//   forward:  ρ = 1/sqrt(mean(x²) + eps), out = w·x·ρ; ρ is stored for the backward pass
//   backward: x̂ = x·ρ, ĝ = dy·w: dx = ρ·(ĝ − x̂·mean(ĝ·x̂)) (written);
//             dw += Σ_r dy·x̂ (accumulated; a null pointer skips it)
// Everything in float64 on pairs of elements (f64x2), rounded once on store, as layernorm.ts. The
// backward pass sums dw over the rows in a float64 scratch of D (rmsNormScratchBytes), in row order.

import { hsum2, load2, store2 } from './memory';

export function rmsNormScratchBytes(D: i32): usize {
  return <usize>D << 3;
}

export function rmsNorm(x: usize, w: usize, R: i32, D: i32, eps: f64, out: usize, rstd: usize): void {
  const even = D & ~1;
  for (let r = 0; r < R; r++) {
    const row = x + (<usize>r * <usize>D << 2);
    const orow = out + (<usize>r * <usize>D << 2);
    let acc = f64x2.splat(0);
    for (let j = 0; j < even; j += 2) {
      const v = load2(row + (<usize>j << 2));
      acc = f64x2.add(acc, f64x2.mul(v, v));
    }
    let s = hsum2(acc);
    if (even < D) {
      const v = <f64>load<f32>(row + (<usize>even << 2));
      s += v * v;
    }
    const rs = 1.0 / Math.sqrt(s / <f64>D + eps);
    store<f32>(rstd + (<usize>r << 2), <f32>rs);
    const rv = f64x2.splat(rs);
    for (let j = 0; j < even; j += 2) {
      const o = <usize>j << 2;
      store2(orow + o, f64x2.mul(f64x2.mul(load2(row + o), rv), load2(w + o)));
    }
    if (even < D) {
      const o = <usize>even << 2;
      store<f32>(orow + o, <f32>(<f64>load<f32>(row + o) * rs * <f64>load<f32>(w + o)));
    }
  }
}

export function rmsNormBackward(
  dy: usize, x: usize, w: usize, rstd: usize, R: i32, D: i32, dx: usize, dw: usize, scratch: usize,
): void {
  const even = D & ~1;
  memory.fill(scratch, 0, <usize>D << 3);
  const invD = 1.0 / <f64>D;
  for (let r = 0; r < R; r++) {
    const base = <usize>r * <usize>D << 2;
    const rs = <f64>load<f32>(rstd + (<usize>r << 2));
    const rv = f64x2.splat(rs);
    // pass 1: Σĝ·x̂ for this row; Σ dy·x̂ into the column accumulators
    let sgx = f64x2.splat(0);
    for (let j = 0; j < even; j += 2) {
      const o = <usize>j << 2;
      const g = load2(dy + base + o);
      const xh = f64x2.mul(load2(x + base + o), rv);
      sgx = f64x2.add(sgx, f64x2.mul(f64x2.mul(g, load2(w + o)), xh));
      const aw = scratch + (<usize>j << 3);
      v128.store(aw, f64x2.add(v128.load(aw), f64x2.mul(g, xh)));
    }
    let mgx = hsum2(sgx);
    if (even < D) {
      const o = <usize>even << 2;
      const g = <f64>load<f32>(dy + base + o);
      const xh = <f64>load<f32>(x + base + o) * rs;
      mgx += g * <f64>load<f32>(w + o) * xh;
      const aw = scratch + (<usize>even << 3);
      store<f64>(aw, load<f64>(aw) + g * xh);
    }
    mgx *= invD;
    // pass 2: dx = ρ·(ĝ − x̂·mean(ĝ·x̂))
    const mv = f64x2.splat(mgx);
    for (let j = 0; j < even; j += 2) {
      const o = <usize>j << 2;
      const xh = f64x2.mul(load2(x + base + o), rv);
      const gh = f64x2.mul(load2(dy + base + o), load2(w + o));
      store2(dx + base + o, f64x2.mul(rv, f64x2.sub(gh, f64x2.mul(xh, mv))));
    }
    if (even < D) {
      const o = <usize>even << 2;
      const xh = <f64>load<f32>(x + base + o) * rs;
      const gh = <f64>load<f32>(dy + base + o) * <f64>load<f32>(w + o);
      store<f32>(dx + base + o, <f32>(rs * (gh - xh * mgx)));
    }
  }
  if (dw) {
    for (let j = 0; j < D; j++) {
      const o = <usize>j << 2;
      store<f32>(dw + o, <f32>(<f64>load<f32>(dw + o) + load<f64>(scratch + (<usize>j << 3))));
    }
  }
}
