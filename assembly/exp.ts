// e^x on four f32 lanes for x ≤ 0, shared by the softmaxes of attention.ts and xent.ts.

/**
 * e^x on four lanes for x ≤ 0 (Cephes expf): n = round(x·log2 e) by the 1.5·2^23 trick (n is then
 * in the low mantissa bits), r = x − n·ln 2 (two-part ln 2), e^r by a degree-6 polynomial, and 2^n
 * added into the exponent bits. Relative error ≤ 2 ulp; x is clamped below at −86 (e^−86 ≈ 4e−38,
 * nothing next to the row's maximum term 1); NaN stays NaN (pmax keeps it).
 */
// @ts-ignore: decorator
@inline export function expNeg4(x: v128): v128 {
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
