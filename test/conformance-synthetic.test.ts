// The runner on vectors it was not written against: other head counts, 1×1, ties at the threshold,
// zero distances, snella with s = 0 (still sparsified: the minimum is dropped). Inputs are float32-representable and references float64.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../src/backend.js';
import { runConformance } from '../src/conformance/run.js';
import { BACKENDS } from './support/backends.js';
import { makeMergeVector, randomSpec } from './support/make-vector.js';

function cases() {
  const oneByOne = randomSpec('snell', 1, 1, 2, 2, 1, 0.5, 1);
  const fourHeads = randomSpec('snell', 37, 29, 12, 4, 5, 0.8, 2);
  // duplicated output rows of B: whole columns of W tie, so ties straddle the threshold
  const ties = randomSpec('snell', 16, 12, 4, 2, 3, 0.4, 3); // pos = 0.4·191 = 76.4 falls inside a group of 4 equal values
  for (let h = 0; h < 2; h++)
    for (let o = 1; o < 12; o++) for (let j = 0; j < 2; j++) ties.B[(h * 12 + o) * 2 + j] = ties.B[(h * 12 + (o % 3)) * 2 + j];
  // B rows equal to A rows: zero distances, whose gradient is 0
  const zero = randomSpec('klora', 6, 6, 4, 2, 4, 0, 4);
  zero.B.set(zero.A);
  const snellaDense = { ...randomSpec('snella', 20, 33, 6, 2, 3, 0, 5), mix: { alpha: 0.75, gamma: 1.5, beta: -0.125 } };
  const snellaSparse = { ...randomSpec('snella', 50, 17, 8, 2, 4, 0.95, 6), mix: { alpha: 1, gamma: 1, beta: 0 } };
  return [oneByOne, fourHeads, ties, zero, snellaDense, snellaSparse];
}

for (const [kind, make] of BACKENDS) {
  describe(`synthetic vectors on ${kind}`, () => {
    let backend: Backend;
    beforeAll(async () => {
      backend = await make();
    });
    afterAll(() => backend?.destroy());

    it('every case passes', async () => {
      const lines: string[] = [];
      const files = cases().map(makeMergeVector);
      const r = await runConformance(files, { backend, runtime: 'node', log: (l) => lines.push(l) });
      expect(
        lines.filter((l) => !l.startsWith('PASS')),
        lines.join('\n'),
      ).toEqual([]);
      expect(r.passed).toBe(files.length);
    });
  });
}
