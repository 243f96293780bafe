// The tables of rotary position embedding (Hugging Face's rotate-half RoPE) that Backend.rope reads:
// for positions p = 0 … P−1 and frequencies c = 0 … hd/2−1,
//   cos[p, c] = cos(p·θ^(−2c/hd)),  sin[p, c] = sin(p·θ^(−2c/hd))      (shape [P, hd/2], row-major)
// computed in float64 and rounded once to float32. They are built on the host and uploaded once per
// model, not computed in the kernels: θ^(−2c/hd) and the sine of an angle in the thousands lose
// digits in float32 (WGSL's sin and cos are only accurate near [−π, π]), while a rounded float64
// table is accurate to half an ulp at every position and is the same numbers on both backends.

/** cos and sin tables [positions, headDim/2] for heads of even width headDim and base theta. */
export function ropeTables(
  headDim: number,
  positions: number,
  theta: number,
): { cos: Float32Array; sin: Float32Array; shape: [number, number] } {
  if (!Number.isInteger(headDim) || headDim < 2 || headDim % 2 !== 0) {
    throw new RangeError(`ropeTables: headDim must be an even integer ≥ 2, got ${headDim}`);
  }
  if (!Number.isInteger(positions) || positions < 1) {
    throw new RangeError(`ropeTables: positions must be an integer ≥ 1 (the longest sequence), got ${positions}`);
  }
  if (!(Number.isFinite(theta) && theta > 0)) throw new RangeError(`ropeTables: theta must be a finite number > 0, got ${theta}`);
  const half = headDim / 2;
  const cos = new Float32Array(positions * half);
  const sin = new Float32Array(positions * half);
  for (let c = 0; c < half; c++) {
    const invFreq = theta ** ((-2 * c) / headDim);
    for (let p = 0; p < positions; p++) {
      cos[p * half + c] = Math.cos(p * invFreq);
      sin[p * half + c] = Math.sin(p * invFreq);
    }
  }
  return { cos, sin, shape: [positions, half] };
}
