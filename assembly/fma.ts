// madd(a, b, c) = a·b + c on the four f32 lanes, the step of every dot product and rank-1 update.
// Two builds of the same kernels differ here only:
//   plain   (--enable simd)                f32x4.mul then f32x4.add: a·b rounded, then the sum rounded
//   relaxed (--enable simd,relaxed-simd)   f32x4.relaxed_madd: one fused multiply-add where the CPU has
//                                          one (rounded once), else the engine's mul + add
// Within one build every element sees the same operations in the same order whatever the thread
// split, so results stay bit-identical across thread counts; the two builds differ by rounding.

/** Whether this build uses relaxed_madd (1) or separate multiply and add (0). */
export function relaxedSimd(): bool {
  return ASC_FEATURE_RELAXED_SIMD;
}

// @ts-ignore: decorator
@inline export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(c, f32x4.mul(a, b));
}
