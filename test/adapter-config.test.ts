import { describe, expect, it } from 'vitest';
import { AdapterConfigError, defaultCoeff, isSparsified, resolveConfig } from '../src/adapter/config.js';
import { keptOutsideBand, relL2 } from '../src/conformance/compare.js';

describe('adapter configuration', () => {
  const base = { kind: 'snell' as const, dIn: 8, dOut: 4, rank: 4, heads: 2, sparsity: 0.9 };

  it('fills the reference coefficients, float32-rounded', () => {
    expect(resolveConfig(base).coeff).toEqual([0.10000000149011612, -0.10000000149011612]);
    expect(defaultCoeff(3)).toEqual([Math.fround(0.1), Math.fround(-0.1), Math.fround(0.1)]);
  });

  it('skips sparsification for klora and for s = 0, as the reference does', () => {
    expect(isSparsified({ ...base, kind: 'klora' })).toBe(false);
    expect(isSparsified({ ...base, sparsity: 0 })).toBe(false);
    expect(isSparsified({ ...base, kind: 'lora' })).toBe(true);
  });

  const bad: Array<[string, object, RegExp]> = [
    ['rank not divisible by H', { rank: 5 }, /rank 5 is not divisible by heads H = 2/],
    ['zero width', { dIn: 0 }, /dIn must be a positive integer/],
    ['fractional heads', { heads: 1.5 }, /heads must be a positive integer/],
    ['sparsity 1', { sparsity: 1 }, /sparsity must be in \[0, 1\)/],
    ['NaN sparsity', { sparsity: NaN }, /sparsity must be in/],
    ['unknown kind', { kind: 'dora' }, /unknown adapter kind "dora"/],
    ['wrong coeff count', { coeff: [0.1] }, /coeff must hold 2 finite numbers/],
  ];
  for (const [what, change, message] of bad) {
    it(`refuses ${what}`, () => {
      expect(() => resolveConfig({ ...base, ...change } as never)).toThrow(AdapterConfigError);
      expect(() => resolveConfig({ ...base, ...change } as never)).toThrow(message);
    });
  }
});

describe('passing rules', () => {
  it('relative L2 error', () => {
    expect(relL2([1, 2, 2], [1, 2, 2])).toBe(0);
    expect(relL2([1, 2, 3], [1, 2, 2])).toBeCloseTo(1 / 3, 12);
    expect(relL2([0.5], [0])).toBe(0.5);
  });

  it('kept-set differences are allowed only within the band around the threshold', () => {
    const ref = Float32Array.from([1, -0.5, 0.25, 0.1]);
    // ours moves 0.5 just across a threshold of 0.5 (inside the band): allowed
    expect(keptOutsideBand(Float32Array.from([1, -0.5000001, 0.25, 0.1]), 0.5, ref, 0.5)).toEqual([]);
    // ours keeps 0.25 although the reference drops it, far from the threshold: refused
    expect(keptOutsideBand(Float32Array.from([1, -0.5, 0.25, 0.1]), 0.2, ref, 0.5)).toEqual([2]);
  });
});
