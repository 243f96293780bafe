// torch.optim.AdamW (single-tensor form) on one parameter tensor of n elements, g = grad·gradScale:
//   p ← p·(1 − lr·wd);  m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²;
//   p ← p − (lr/(1−β1^t))·m / (sqrt(v)/sqrt(1−β2^t) + eps)
// The host passes decay = 1 − lr·wd, stepSize = lr/(1−β1^t) and bc2sqrt = sqrt(1−β2^t), computed in
// float64 as torch does in Python. Each element is updated in float64 (f64x2 on pairs) and p, m, v
// are rounded once to f32 on store. gradScale is a 1-element tensor (the clip factor) or 0 for none.

import { load2, store2 } from './memory';

export function adamw(
  p: usize, g: usize, m: usize, v: usize, n: i32, gradScale: usize,
  decay: f64, stepSize: f64, beta1: f64, beta2: f64, eps: f64, bc2sqrt: f64,
): void {
  const gs = gradScale ? <f64>load<f32>(gradScale) : 1.0;
  const gsv = f64x2.splat(gs), dv = f64x2.splat(decay), ssv = f64x2.splat(stepSize);
  const b1 = f64x2.splat(beta1), c1 = f64x2.splat(1.0 - beta1);
  const b2 = f64x2.splat(beta2), c2 = f64x2.splat(1.0 - beta2);
  const ev = f64x2.splat(eps), bv = f64x2.splat(bc2sqrt);
  let q = 0;
  for (; q + 2 <= n; q += 2) {
    const o = <usize>q << 2;
    const gi = f64x2.mul(load2(g + o), gsv);
    const mi = f64x2.add(f64x2.mul(b1, load2(m + o)), f64x2.mul(c1, gi));
    const vi = f64x2.add(f64x2.mul(b2, load2(v + o)), f64x2.mul(f64x2.mul(c2, gi), gi));
    const denom = f64x2.add(f64x2.div(f64x2.sqrt(vi), bv), ev);
    store2(p + o, f64x2.sub(f64x2.mul(load2(p + o), dv), f64x2.div(f64x2.mul(ssv, mi), denom)));
    store2(m + o, mi);
    store2(v + o, vi);
  }
  if (q < n) {
    const o = <usize>q << 2;
    const gi = <f64>load<f32>(g + o) * gs;
    const mi = beta1 * <f64>load<f32>(m + o) + (1.0 - beta1) * gi;
    const vi = beta2 * <f64>load<f32>(v + o) + (1.0 - beta2) * gi * gi;
    store<f32>(p + o, <f32>(<f64>load<f32>(p + o) * decay - stepSize * mi / (Math.sqrt(vi) / bc2sqrt + eps)));
    store<f32>(m + o, <f32>mi);
    store<f32>(v + o, <f32>vi);
  }
}
