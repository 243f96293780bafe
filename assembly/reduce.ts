// Reductions, accumulated in float64 and rounded once on store:
//   sumRows:     out[j] (+)= Σ_r x[r, j]          x [R, N]   (the gradient of a bias)
//   sumStrided:  dst[j] = (dst[j] if accumulating) + scale·Σ_c src[c·stride + j], j < n
//                (sumRows, the batch sums of embedTokensBackward, mean pooling)
//   sumSquares:  out[0] (+)= Σ x²
//   clipFactor:  factor = min(1, maxNorm/(sqrt(sumSq) + 1e-6))   (torch.nn.utils.clip_grad_norm_)
// sumStrided walks 16 columns at a time down the c axis (eight f64x2 accumulators), so every cache
// line of src is read once, then 2 columns, then a scalar tail.

import { hsum2, load2, store2 } from './memory';

export function sumStrided(src: usize, stride: i32, count: i32, n: i32, dst: usize, accumulate: bool, scale: f64): void {
  const step = <usize>stride << 2;
  const sv = f64x2.splat(scale);
  let j = 0;
  for (; j + 16 <= n; j += 16) {
    let a0 = f64x2.splat(0), a1 = f64x2.splat(0), a2 = f64x2.splat(0), a3 = f64x2.splat(0);
    let a4 = f64x2.splat(0), a5 = f64x2.splat(0), a6 = f64x2.splat(0), a7 = f64x2.splat(0);
    let p = src + (<usize>j << 2);
    for (let c = 0; c < count; c++) {
      a0 = f64x2.add(a0, load2(p)); a1 = f64x2.add(a1, load2(p + 8));
      a2 = f64x2.add(a2, load2(p + 16)); a3 = f64x2.add(a3, load2(p + 24));
      a4 = f64x2.add(a4, load2(p + 32)); a5 = f64x2.add(a5, load2(p + 40));
      a6 = f64x2.add(a6, load2(p + 48)); a7 = f64x2.add(a7, load2(p + 56));
      p += step;
    }
    const d = dst + (<usize>j << 2);
    finish2(d, a0, sv, accumulate); finish2(d + 8, a1, sv, accumulate);
    finish2(d + 16, a2, sv, accumulate); finish2(d + 24, a3, sv, accumulate);
    finish2(d + 32, a4, sv, accumulate); finish2(d + 40, a5, sv, accumulate);
    finish2(d + 48, a6, sv, accumulate); finish2(d + 56, a7, sv, accumulate);
  }
  for (; j + 2 <= n; j += 2) {
    let a = f64x2.splat(0);
    let p = src + (<usize>j << 2);
    for (let c = 0; c < count; c++) {
      a = f64x2.add(a, load2(p));
      p += step;
    }
    finish2(dst + (<usize>j << 2), a, sv, accumulate);
  }
  if (j < n) {
    let a = 0.0;
    let p = src + (<usize>j << 2);
    for (let c = 0; c < count; c++) {
      a += <f64>load<f32>(p);
      p += step;
    }
    const d = dst + (<usize>j << 2);
    store<f32>(d, <f32>((accumulate ? <f64>load<f32>(d) : 0.0) + scale * a));
  }
}

// @ts-ignore: decorator
@inline function finish2(d: usize, a: v128, scale: v128, accumulate: bool): void {
  const s = f64x2.mul(a, scale);
  store2(d, accumulate ? f64x2.add(load2(d), s) : s);
}

export function sumRows(x: usize, R: i32, N: i32, out: usize, accumulate: bool): void {
  sumStrided(x, N, R, N, out, accumulate, 1.0);
}

export function sumSquares(x: usize, n: i32, out: usize, accumulate: bool): void {
  let a0 = f64x2.splat(0), a1 = f64x2.splat(0);
  let q = 0;
  for (; q + 4 <= n; q += 4) {
    const lo = load2(x + (<usize>q << 2));
    const hi = load2(x + (<usize>q << 2) + 8);
    a0 = f64x2.add(a0, f64x2.mul(lo, lo));
    a1 = f64x2.add(a1, f64x2.mul(hi, hi));
  }
  let s = hsum2(f64x2.add(a0, a1));
  for (; q < n; q++) {
    const v = <f64>load<f32>(x + (<usize>q << 2));
    s += v * v;
  }
  store<f32>(out, <f32>((accumulate ? <f64>load<f32>(out) : 0.0) + s));
}

export function clipFactor(sumSq: usize, maxNorm: f64, factor: usize): void {
  store<f32>(factor, <f32>Math.min(1.0, maxNorm / (Math.sqrt(<f64>load<f32>(sumSq)) + 1e-6)));
}
