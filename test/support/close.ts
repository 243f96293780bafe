// Named tolerances and one comparison that reports the worst element.

import { expect } from 'vitest';

/** Relative L2 error allowed against float64 references (../shared/vectors/README.md). */
export const TOL = {
  /** merge outputs and gradients, float32 against float64 */
  rel: 1e-4,
  /** matmul of long reductions in float32 */
  matmul: 1e-5,
} as const;

export function relL2(ours: ArrayLike<number>, ref: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < ref.length; i++) {
    num += (ours[i] - ref[i]) ** 2;
    den += ref[i] ** 2;
  }
  return den === 0 ? Math.sqrt(num) : Math.sqrt(num / den);
}

/** Asserts relative L2 error ≤ tol; on failure names the worst index with both values. */
export function expectClose(ours: ArrayLike<number>, ref: ArrayLike<number>, tol: number, what: string): void {
  expect(ours.length, `${what}: length`).toBe(ref.length);
  const err = relL2(ours, ref);
  if (!(err <= tol)) {
    let worst = 0;
    for (let i = 0; i < ref.length; i++) {
      if (!(Math.abs(ours[i] - ref[i]) <= Math.abs(ours[worst] - ref[worst]))) worst = i;
    }
    throw new Error(`${what}: relative L2 error ${err.toExponential(3)} > ${tol}; worst at [${worst}]: ours ${ours[worst]}, ref ${ref[worst]}`);
  }
}
