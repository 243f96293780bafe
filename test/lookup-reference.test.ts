// The float64 decoder references checked on their own: the analytic attention gradient against
// central finite differences of the forward (grouped-query, causal with an offset, padded keys), and
// the token cross-entropy gradient against finite differences of its loss, so the backend tests
// compare against gradients that are right.

import { describe, expect, it } from 'vitest';
import { IGNORE_LABEL } from '../src/backend.js';
import { type DecoderAttention64, decoderAttention64, decoderAttentionBackward64 } from '../src/reference/decoder-attention64.js';
import { tokenCrossEntropy64 } from '../src/reference/decoder-tokens64.js';
import { uniform } from '../src/reference/random.js';

const H = 1e-6;

/** Central differences of f at every entry of x, for a loss f(x). */
function numericGradient(x: Float64Array, f: () => number): Float64Array {
  return x.map((v, i) => {
    x[i] = v + H;
    const up = f();
    x[i] = v - H;
    const down = f();
    x[i] = v;
    return (up - down) / (2 * H);
  });
}

const maxError = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
};

describe('float64 decoder references', () => {
  const spec: DecoderAttention64 = {
    B: 2,
    Tq: 3,
    Tk: 5,
    heads: 4,
    kvHeads: 2,
    hd: 3,
    causal: true,
    offset: 1,
    keyMask: [1, 1, 1, 1, 1, 1, 1, 0, 0, 0],
  };

  it('attention: the analytic gradient matches finite differences', () => {
    const [q, k, v] = [
      Float64Array.from(uniform(2 * 3 * 12, 1, -2, 2)),
      Float64Array.from(uniform(2 * 5 * 6, 2, -2, 2)),
      Float64Array.from(uniform(2 * 5 * 6, 3)),
    ];
    const dOut = uniform(2 * 3 * 12, 4);
    const loss = () => decoderAttention64(q, k, v, spec).out.reduce((s, o, i) => s + o * dOut[i], 0);
    const g = decoderAttentionBackward64(dOut, q, k, v, spec);
    for (const [name, x, analytic] of [
      ['dq', q, g.dq],
      ['dk', k, g.dk],
      ['dv', v, g.dv],
    ] as const) {
      expect(maxError(numericGradient(x, loss), analytic), name).toBeLessThan(1e-8);
    }
    // the padded keys 2 … 4 of sequence 1 get no gradient at all
    for (let j = 2; j < 5; j++) for (let e = 0; e < 6; e++) expect(g.dk[(5 + j) * 6 + e]).toBe(0);
  });

  it('token cross-entropy: the gradient matches finite differences, ignored rows get none', () => {
    const [N, V] = [5, 7];
    const logits = Float64Array.from(uniform(N * V, 5, -3, 3));
    const labels = [2, IGNORE_LABEL, 6, 0, IGNORE_LABEL];
    const ref = tokenCrossEntropy64(logits, labels, N, V);
    expect(ref.count).toBe(3);
    const numeric = numericGradient(logits, () => tokenCrossEntropy64(logits, labels, N, V).loss);
    expect(maxError(numeric, ref.dLogits)).toBeLessThan(1e-8);
    expect(Array.from(ref.dLogits.slice(V, 2 * V))).toEqual(new Array(V).fill(0));
  });
});
