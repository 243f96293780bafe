// Rules for matmul: a, b and out are f32 matrices of 2 or more dimensions whose leading dimensions
// are rows (x [B, T, D] is a [B·T, D] matrix). After the transpositions of the options,
// op(a) [M, K] · op(b) [K, N] → out [M, N]: the inner dimensions agree and out has M rows and N
// columns. out is neither a nor b (accumulate adds into out, it does not read a or b from it).
// The sparseB hint (b mostly zeros) takes a as stored: not with transA.

import type { MatmulOptions, Tensor } from '../backend.js';
import type { Check } from './checks.js';
import { describe } from './shapes.js';

export function matmul(c: Check, a: Tensor, b: Tensor, out: Tensor, options: MatmulOptions): void {
  const { transA = false, transB = false, sparseB = false } = options;
  if (sparseB && transA) c.fail('sparseB takes a as stored: pass transA = false, or transpose a first');
  const [ar, ac] = c.matrix('a', a);
  const [br, bc] = c.matrix('b', b);
  const [M, K] = transA ? [ac, ar] : [ar, ac];
  const [K2, N] = transB ? [bc, br] : [br, bc];
  if (K !== K2) {
    c.fail(
      `the inner dimensions differ: op(a) is ${M}×${K} (a ${describe(a)}${transA ? ', transposed' : ''}) but ` +
        `op(b) is ${K2}×${N} (b ${describe(b)}${transB ? ', transposed' : ''}): pass operands whose inner dimensions match`,
    );
  }
  const [or, oc] = c.matrix('out', out);
  if (or !== M || oc !== N) c.fail(`out is ${describe(out)} (${or}×${oc}), expected ${M}×${N}`);
  c.distinct({ out }, { a, b });
}
