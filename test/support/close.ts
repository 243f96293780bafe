// Named tolerances and one comparison that reports the worst element.

import { expect } from 'vitest';
import { relL2, TOLERANCE } from '../../src/conformance/compare.js';

/** Relative L2 error allowed against float64 references (test/vectors/README.md). */
export const TOL = {
  /** merge outputs and gradients, float32 against float64 */
  rel: TOLERANCE.output,
  /** matmul of long reductions in float32 */
  matmul: 1e-5,
} as const;

/** Asserts relative L2 error ≤ tol; on failure names the worst index with both values. */
export function expectClose(ours: ArrayLike<number>, ref: ArrayLike<number>, tol: number, what: string): void {
  expect(ours.length, `${what}: length`).toBe(ref.length);
  const err = relL2(ours, ref);
  if (!(err <= tol)) {
    let worst = 0;
    for (let i = 0; i < ref.length; i++) {
      if (!(Math.abs(ours[i] - ref[i]) <= Math.abs(ours[worst] - ref[worst]))) worst = i;
    }
    throw new Error(
      `${what}: relative L2 error ${err.toExponential(3)} > ${tol}; worst at [${worst}]: ours ${ours[worst]}, ref ${ref[worst]}`,
    );
  }
}
