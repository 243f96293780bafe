// The float64 references of the decoder primitives (src/reference/decoder-ops64.ts) checked against finite
// differences, exact identities and known values, and the RoPE tables (src/model/rope.ts) against the
// angles the reference computes itself, so the backends are compared with something trustworthy.

import { describe, expect, it } from 'vitest';
import { ropeTables } from '../src/model/rope.js';
import {
  geluTanh64,
  geluTanhGrad64,
  rmsNorm64,
  rmsNormBackward64,
  rope64,
  sigmoid64,
  siluMul64,
  siluMulBackward64,
} from '../src/reference/decoder-ops64.js';
import { uniform } from '../src/reference/random.js';

/** Σ dy·f(x) differentiated numerically at element i (central differences). */
function numeric(f: (x: Float64Array) => ArrayLike<number>, x: ArrayLike<number>, dy: ArrayLike<number>, i: number): number {
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

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((s, v, i) => s + v * b[i], 0);

describe('float64 decoder references', () => {
  it('RMSNorm matches a hand computation and its gradients match finite differences', () => {
    const { out, rstd } = rmsNorm64([3, 4], [1, 2], 1, 2, 0);
    expect(rstd[0]).toBeCloseTo(1 / Math.sqrt(12.5), 15);
    expect(Array.from(out)).toEqual([3 / Math.sqrt(12.5), 8 / Math.sqrt(12.5)]);
    const [R, D, eps] = [3, 5, 1e-5];
    const x = uniform(R * D, 1, -2, 2);
    const w = uniform(D, 2);
    const dy = uniform(R * D, 4);
    const g = rmsNormBackward64(dy, x, w, R, D, eps);
    for (let i = 0; i < R * D; i++)
      expect(g.dx[i]).toBeCloseTo(
        numeric((v) => rmsNorm64(v, w, R, D, eps).out, x, dy, i),
        7,
      );
    for (let d = 0; d < D; d++)
      expect(g.dw[d]).toBeCloseTo(
        numeric((v) => rmsNorm64(x, v, R, D, eps).out, w, dy, d),
        7,
      );
  });

  it('RoPE rotates pairs (c, c + hd/2) by position·θ^(−2c/hd); its inverse is its transpose', () => {
    // one head of width 4 at position 1: angles 1 (c = 0) and 1/θ^½ = 0.01 (c = 1) for θ = 10⁴
    const x = [1, 2, 3, 4];
    const r = rope64([0, 0, 0, 0, ...x], 1, 2, 4, 1, 10000, 0).slice(4);
    expect(r[0]).toBeCloseTo(Math.cos(1) - 3 * Math.sin(1), 15);
    expect(r[2]).toBeCloseTo(3 * Math.cos(1) + Math.sin(1), 15);
    expect(r[1]).toBeCloseTo(2 * Math.cos(0.01) - 4 * Math.sin(0.01), 15);
    expect(r[3]).toBeCloseTo(4 * Math.cos(0.01) + 2 * Math.sin(0.01), 15);
    // the offset shifts positions: token 0 at offset 1 is token 1 at offset 0
    expect(Array.from(rope64(x, 1, 1, 4, 1, 10000, 1))).toEqual(Array.from(r));
    const [B, T, C, nh] = [2, 5, 12, 2];
    const [u, v] = [uniform(B * T * C, 5), uniform(B * T * C, 6)];
    const forward = rope64(u, B, T, C, nh, 500000, 7);
    const back = rope64(v, B, T, C, nh, 500000, 7, true);
    expect(dot(forward, v)).toBeCloseTo(dot(u, back), 12);
    const round = rope64(forward, B, T, C, nh, 500000, 7, true);
    round.forEach((value, i) => expect(value).toBeCloseTo(u[i], 13));
  });

  it('the RoPE tables are the reference angles, rounded once to float32', () => {
    const [hd, P, theta] = [8, 300, 10000];
    const { cos, sin, shape } = ropeTables(hd, P, theta);
    expect(shape).toEqual([P, hd / 2]);
    for (const p of [0, 1, 17, 299])
      for (let c = 0; c < hd / 2; c++) {
        // rope64 of the unit vector e_c at position p gives (cos, sin) of that angle in columns c, c + hd/2
        const e = new Float64Array(hd);
        e[c] = 1;
        const r = rope64(e, 1, 1, hd, 1, theta, p);
        expect(cos[p * (hd / 2) + c]).toBe(Math.fround(r[c]));
        expect(sin[p * (hd / 2) + c]).toBe(Math.fround(r[c + hd / 2]));
      }
    expect(() => ropeTables(7, 4, theta)).toThrow(/headDim must be an even integer ≥ 2, got 7/);
    expect(() => ropeTables(8, 0, theta)).toThrow(/positions must be an integer ≥ 1/);
    expect(() => ropeTables(8, 4, 0)).toThrow(/theta must be a finite number > 0, got 0/);
  });

  it('SwiGLU gradients match finite differences', () => {
    const n = 9;
    const gate = Float64Array.from(uniform(n, 7, -8, 8));
    const up = Float64Array.from(uniform(n, 8, -2, 2));
    const dy = uniform(n, 9);
    const g = siluMulBackward64(dy, gate, up);
    for (let i = 0; i < n; i++) {
      expect(g.dGate[i]).toBeCloseTo(
        numeric((v) => siluMul64(v, up), gate, dy, i),
        8,
      );
      expect(g.dUp[i]).toBeCloseTo(
        numeric((v) => siluMul64(gate, v), up, dy, i),
        8,
      );
    }
  });

  it('gelu_new matches known values, the form x·σ(2u) the kernels use, and finite differences', () => {
    expect(geluTanh64(0)).toBe(0);
    expect(geluTanh64(1)).toBeCloseTo(0.8411919906082768, 15); // torch.nn.functional.gelu(1, approximate='tanh')
    expect(geluTanh64(-1)).toBeCloseTo(-0.15880800939172324, 15);
    for (const x of [-12, -5, -1.3, -0.2, 0, 0.7, 3, 9]) {
      const u = Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3);
      expect(geluTanh64(x)).toBeCloseTo(x * sigmoid64(2 * u), 14);
      expect(geluTanhGrad64(x)).toBeCloseTo((geluTanh64(x + 1e-6) - geluTanh64(x - 1e-6)) / 2e-6, 8);
    }
  });
});
