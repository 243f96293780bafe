// IEEE 754 binary16 conversions for safetensors I/O.
// half → float is exact. float → half rounds to nearest, ties to even, on the float32 value: normals
// keep 10 fraction bits; magnitudes below 2^−14 become subnormals (unit 2^−24), below or at 2^−25
// zero (2^−25 itself is a tie and goes to the even 0); at or above 65520 (the midpoint past 65504, the
// largest half) infinity; NaN stays a quiet NaN with its sign.

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** binary16 bits → number (subnormals, infinities and NaN included). */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** number → binary16 bits, via float32, rounding to nearest even. */
export function floatToHalf(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 | (mant >>> 13) : 0);
  if (exp > 142) return sign | 0x7c00; // ≥ 2^16: infinity
  if (exp >= 113) {
    // normal half: rebias the exponent, round 23 fraction bits to 10 (a carry may reach infinity, as it should)
    let h = ((exp - 112) << 10) | (mant >>> 13);
    const rem = mant & 0x1fff;
    if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
    return sign | h;
  }
  if (exp < 102) return sign; // below 2^−25: zero
  // subnormal half: the 24-bit significand shifted down to units of 2^−24
  const m = mant | 0x800000;
  const shift = 126 - exp;
  let h = m >>> shift;
  const rem = m & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  if (rem > half || (rem === half && h & 1)) h++;
  return sign | h;
}
