// What "passing" means for the golden vectors (test/vectors/README.md).

/** Relative L2 error ‖ours − ref‖ / ‖ref‖ (absolute when ref is all zeros). */
export function relL2(ours: ArrayLike<number>, ref: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < ref.length; i++) {
    num += (ours[i] - ref[i]) ** 2;
    den += ref[i] ** 2;
  }
  return den === 0 ? Math.sqrt(num) : Math.sqrt(num / den);
}

export const TOLERANCE = {
  /** merge and block outputs and every gradient, float32 against float64 */
  output: 1e-4,
  /** entries whose keep/drop decision may differ: within this of the threshold, relative to max|W| */
  keptBand: 1e-6,
} as const;

/**
 * Entries where our keep decision (|W| > t, our float32 W and threshold) differs from the reference's
 * (|Wref| > tref) although Wref lies farther than the band from tref. Empty means the kept set passes.
 */
export function keptOutsideBand(W: Float32Array, t: number, Wref: Float32Array, tref: number): number[] {
  let max = 0;
  for (const v of Wref) max = Math.max(max, Math.abs(v));
  const band = TOLERANCE.keptBand * max;
  const bad: number[] = [];
  for (let i = 0; i < Wref.length; i++) {
    const ours = Math.abs(W[i]) > t;
    const ref = Math.abs(Wref[i]) > tref;
    if (ours !== ref && Math.abs(Math.abs(Wref[i]) - tref) > band) bad.push(i);
  }
  return bad;
}
