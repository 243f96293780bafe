// Inverted dropout and DropPath with the contract's counter-based hash (u32 wrapping arithmetic):
//   pcg(v) = let s = v·747796405 + 2891336453; w = ((s >> ((s >> 28) + 4)) ^ s)·277803737; (w >> 22) ^ w
//   u(seed, i) = (pcg(pcg(i) ^ seed) >> 8) / 2^24
// An element (dropout: flat index i; DropPath: sample b) is kept when u ≥ p. The host passes
// cut = ⌈p·2^24⌉ (keep ⟺ the 24-bit draw ≥ cut, exactly u ≥ p) and scale = 1/(1−p) (0 when p = 1):
// out = x·scale where kept, x·0 elsewhere, in float64 rounded once. The same call on dy is the
// backward pass. The hash's variable shifts have no SIMD form: dropout is scalar; DropPath scales
// whole samples in f64x2.

import { load2, store2 } from './memory';

// @ts-ignore: decorator
@inline function pcg(v: u32): u32 {
  const s = v * 747796405 + 2891336453;
  const w = ((s >> ((s >> 28) + 4)) ^ s) * 277803737;
  return (w >> 22) ^ w;
}

/** The 24-bit draw u(seed, i)·2^24. */
// @ts-ignore: decorator
@inline function draw(seed: u32, i: u32): u32 {
  return pcg(pcg(i) ^ seed) >> 8;
}

/** n elements; x and out point at flat index `first` of their tensors (the hash's counter). */
export function dropout(x: usize, out: usize, n: i32, first: i32, seed: u32, cut: u32, scale: f64): void {
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, <f32>(<f64>load<f32>(x + o) * (draw(seed, <u32>(first + i)) >= cut ? scale : 0.0)));
  }
}

/** x, out [B, len], mask [B]: out = x·(mask[b]·scale) in float64 rounded once. */
export function maskScale(x: usize, mask: usize, out: usize, B: i32, len: i32, scale: f64): void {
  for (let b = 0; b < B; b++) {
    const f = <f64>load<f32>(mask + (<usize>b << 2)) * scale;
    const base = <usize>b * <usize>len << 2;
    for (let j = 0; j < len; j++) {
      const o = base + (<usize>j << 2);
      store<f32>(out + o, <f32>(<f64>load<f32>(x + o) * f));
    }
  }
}

/** x, out [B, len]. */
export function dropPath(x: usize, out: usize, B: i32, len: i32, seed: u32, cut: u32, scale: f64): void {
  for (let b = 0; b < B; b++) {
    const f = draw(seed, <u32>b) >= cut ? scale : 0.0;
    const fv = f64x2.splat(f);
    const base = <usize>b * <usize>len << 2;
    let j = 0;
    for (; j + 2 <= len; j += 2) {
      const o = base + (<usize>j << 2);
      store2(out + o, f64x2.mul(load2(x + o), fv));
    }
    if (j < len) {
      const o = base + (<usize>j << 2);
      store<f32>(out + o, <f32>(<f64>load<f32>(x + o) * f));
    }
  }
}
