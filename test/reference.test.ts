// The float64 references checked against finite differences and known values, so the backends are
// compared with something trustworthy.

import { describe, expect, it } from 'vitest';
import { uniform } from '../src/reference/random.js';
import {
  adamw64,
  attention64,
  attentionBackward64,
  erf64,
  gelu64,
  geluGrad64,
  layerNorm64,
  layerNormBackward64,
  softmaxCrossEntropy64,
} from '../src/reference/transformer64.js';

/** Σ dy·f(x) differentiated numerically at element i (central differences). */
function numeric(f: (x: Float64Array) => ArrayLike<number>, x: Float64Array, dy: ArrayLike<number>, i: number): number {
  const h = 1e-6;
  const at = (delta: number) => {
    const y = Float64Array.from(x);
    y[i] += delta;
    const out = f(y);
    let s = 0;
    for (let j = 0; j < out.length; j++) s += out[j] * dy[j];
    return s;
  };
  return (at(h) - at(-h)) / (2 * h);
}

describe('float64 references', () => {
  it('erf matches known values', () => {
    expect(erf64(0)).toBe(0);
    expect(erf64(0.5)).toBeCloseTo(0.5204998778130465, 14);
    expect(erf64(-1)).toBeCloseTo(-0.8427007929497149, 14);
    expect(erf64(2.5)).toBeCloseTo(0.999593047982555, 14);
    expect(erf64(3.5)).toBeCloseTo(0.9999992569016276, 14);
    expect(erf64(6)).toBeCloseTo(1, 15);
    expect(erf64(1.999999999)).toBeCloseTo(erf64(2), 8); // the two methods meet
    expect(erf64(1.5)).toBeCloseTo(0.9661051464753108, 14);
    expect(erf64(2.2)).toBeCloseTo(0.9981371537020182, 14);
  });

  it('GELU gradient matches finite differences', () => {
    for (const x of [-5, -1.3, 0, 0.7, 4]) expect(geluGrad64(x)).toBeCloseTo((gelu64(x + 1e-6) - gelu64(x - 1e-6)) / 2e-6, 8);
  });

  it('LayerNorm gradients match finite differences', () => {
    const [R, D] = [3, 5];
    const x = Float64Array.from(uniform(R * D, 1, -2, 2));
    const w = Float64Array.from(uniform(D, 2));
    const bias = Float64Array.from(uniform(D, 3));
    const dy = uniform(R * D, 4);
    const g = layerNormBackward64(dy, x, w, R, D, 1e-6);
    for (const i of [0, 7, 14])
      expect(g.dx[i]).toBeCloseTo(
        numeric((v) => layerNorm64(v, w, bias, R, D, 1e-6).out, x, dy, i),
        6,
      );
    for (const d of [0, 4])
      expect(g.dw[d]).toBeCloseTo(
        numeric((v) => layerNorm64(x, v, bias, R, D, 1e-6).out, w, dy, d),
        6,
      );
  });

  it('attention gradients match finite differences', () => {
    const [B, T, D, nh] = [2, 3, 4, 2];
    const [q, k, v] = [1, 2, 3].map((s) => Float64Array.from(uniform(B * T * D, s)));
    const dOut = uniform(B * T * D, 4);
    const g = attentionBackward64(dOut, q, k, v, B, T, D, nh);
    for (const i of [0, 5, 23]) {
      expect(g.dq[i]).toBeCloseTo(
        numeric((x) => attention64(x, k, v, B, T, D, nh).out, q, dOut, i),
        6,
      );
      expect(g.dk[i]).toBeCloseTo(
        numeric((x) => attention64(q, x, v, B, T, D, nh).out, k, dOut, i),
        6,
      );
      expect(g.dv[i]).toBeCloseTo(
        numeric((x) => attention64(q, k, x, B, T, D, nh).out, v, dOut, i),
        6,
      );
    }
  });

  it('cross-entropy gradient matches finite differences', () => {
    const logits = Float64Array.from(uniform(12, 5, -3, 3));
    const labels = [1, 0, 3];
    const g = softmaxCrossEntropy64(logits, labels, 3, 4);
    for (const i of [0, 5, 11])
      expect(g.dLogits[i]).toBeCloseTo(
        numeric((x) => [softmaxCrossEntropy64(x, labels, 3, 4).loss], logits, [1], i),
        6,
      );
  });

  it('AdamW first step moves each parameter by lr·sign(g) after decay', () => {
    const r = adamw64([1, -2], [0.5, -3], [0, 0], [0, 0], 0.1, 0.9, 0.999, 0, 0.01, 1);
    expect(r.p[0]).toBeCloseTo(1 * (1 - 0.001) - 0.1, 12);
    expect(r.p[1]).toBeCloseTo(-2 * (1 - 0.001) + 0.1, 12);
  });
});
