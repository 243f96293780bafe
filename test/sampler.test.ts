// Next-token sampling against hand-computed distributions: exact greedy and top-k = 1 choices, the
// temperature's softmax, top-k and top-p cuts at their boundaries (ties by lower id), and seeded draws
// whose frequencies match the distribution within a bound that a wrong one would exceed.

import { describe, expect, it } from 'vitest';
import { greedyToken, TokenSampler, tokenDistribution } from '../src/text/sampler.js';

const row = (...v: number[]) => Float32Array.from(v);

/** Frequencies of `draws` tokens from a fresh sampler, over a vocabulary of V. */
function frequencies(logits: Float32Array, options: ConstructorParameters<typeof TokenSampler>[0], draws: number): number[] {
  const sampler = new TokenSampler(options);
  const counts = new Array(logits.length).fill(0);
  for (let i = 0; i < draws; i++) counts[sampler.next(logits)]++;
  return counts.map((c) => c / draws);
}

describe('token sampling', () => {
  it('greedy takes the largest logit, the lowest id among equal ones, and skips −Infinity', () => {
    expect(greedyToken(row(0.1, 2, -3, 2, 1.5))).toBe(1);
    expect(greedyToken(row(-Infinity, -5, -Infinity))).toBe(1);
    const sampler = new TokenSampler({ temperature: 0, seed: 3 });
    expect([sampler.next(row(1, 3, 3)), sampler.next(row(9, 3, 3))]).toEqual([1, 0]);
    const topOne = new TokenSampler({ topK: 1, temperature: 5 });
    expect(Array.from({ length: 20 }, () => topOne.next(row(0, 4, 4.5, 4.5)))).toEqual(new Array(20).fill(2));
  });

  it('is the softmax of logits / temperature, most likely first', () => {
    const logits = row(0, Math.log(3), Math.log(2) * 2, -Infinity);
    const d = tokenDistribution(logits);
    const z = 1 + Math.exp(logits[1]) + Math.exp(logits[2]); // the float32 logits: weights about 1, 3, 4
    expect(Array.from(d.ids)).toEqual([2, 1, 0]);
    expect(d.probs[2]).toBeCloseTo(1 / z, 14);
    expect(d.probs[0]).toBeCloseTo(Math.exp(logits[2]) / z, 14);
    expect(d.probs[1]).toBeCloseTo(Math.exp(logits[1]) / z, 14);
    const hot = tokenDistribution(row(0, 1), { temperature: 2 });
    expect(hot.probs[0]).toBeCloseTo(1 / (1 + Math.exp(-0.5)), 14);
    expect(tokenDistribution(row(0, 1), { temperature: 1e-3 }).probs[0]).toBeCloseTo(1, 12);
  });

  it('cuts top-k after ordering by logit, equal logits by lower id', () => {
    const d = tokenDistribution(row(1, 3, 2, 3, 0), { topK: 3 });
    expect(Array.from(d.ids)).toEqual([1, 3, 2]);
    const e = 1 / (2 + Math.exp(-1));
    expect(Array.from(d.probs)).toEqual([expect.closeTo(e, 14), expect.closeTo(e, 14), expect.closeTo(e * Math.exp(-1), 14)]);
    expect(tokenDistribution(row(1, 2), { topK: 10 }).ids.length).toBe(2);
  });

  it('keeps the shortest prefix reaching top-p, exactly at the boundary', () => {
    const uniform4 = row(0, 0, 0, 0); // probabilities 1/4 each: the running sums 0.25, 0.5, 0.75, 1 are exact
    expect(Array.from(tokenDistribution(uniform4, { topP: 0.5 }).ids)).toEqual([0, 1]);
    expect(Array.from(tokenDistribution(uniform4, { topP: 0.5 }).probs)).toEqual([0.5, 0.5]);
    expect(Array.from(tokenDistribution(uniform4, { topP: 0.5000001 }).ids)).toEqual([0, 1, 2]);
    expect(Array.from(tokenDistribution(uniform4, { topP: 0.25 }).ids)).toEqual([0]);
    expect(Array.from(tokenDistribution(uniform4, { topP: 1 }).ids)).toEqual([0, 1, 2, 3]);
    // after top-k = 2 the two kept tokens have 1/2 each: p = 0.6 needs both
    expect(Array.from(tokenDistribution(row(0, 5, 5, 0), { topK: 2, topP: 0.6 }).ids)).toEqual([1, 2]);
    expect(Array.from(tokenDistribution(row(0, 5, 5, 0), { topK: 2, topP: 0.5 }).ids)).toEqual([1]);
  });

  it('draws with the distribution’s frequencies, repeatably for a seed', () => {
    // p = [0.1, 0.2, 0.3, 0.4]: over 20000 draws each frequency's standard deviation is at most 0.0035,
    // so 0.015 (over 4σ) holds for a correct sampler and fails for one that is off by a tenth
    const p = [0.1, 0.2, 0.3, 0.4];
    const logits = Float32Array.from(p, Math.log);
    const f = frequencies(logits, { seed: 7 }, 20000);
    for (let i = 0; i < 4; i++) expect(Math.abs(f[i] - p[i])).toBeLessThan(0.015);
    const nucleus = frequencies(logits, { seed: 8, topP: 0.65 }, 20000); // keeps 0.4 and 0.3: 4/7, 3/7
    expect([nucleus[0], nucleus[1]]).toEqual([0, 0]);
    expect(Math.abs(nucleus[3] - 4 / 7)).toBeLessThan(0.015);
    const draw = (seed: number) => {
      const s = new TokenSampler({ seed });
      return Array.from({ length: 50 }, () => s.next(logits));
    };
    expect(draw(11)).toEqual(draw(11));
    expect(draw(11)).not.toEqual(draw(12));
  });

  it('refuses bad logits and options with the fix', () => {
    expect(() => greedyToken(row())).toThrow(/logits row is empty/);
    expect(() => greedyToken(row(0, Number.NaN))).toThrow(/logit 1 is NaN: logits must be finite, or −Infinity/);
    expect(() => new TokenSampler().next(row(0, Infinity))).toThrow(/logit 1 is Infinity/);
    expect(() => new TokenSampler().next(row(-Infinity, -Infinity))).toThrow(/every logit is −Infinity/);
    expect(() => new TokenSampler({ temperature: -1 })).toThrow(/temperature must be a finite number ≥ 0/);
    expect(() => new TokenSampler({ topK: 1.5 })).toThrow(/topK must be an integer ≥ 0/);
    expect(() => new TokenSampler({ topP: 0 })).toThrow(/topP must be in \(0, 1\]/);
    expect(() => new TokenSampler({ seed: 0.5 })).toThrow(/seed must be an integer/);
    expect(() => tokenDistribution(row(0, 1), { temperature: 0 })).toThrow(/use greedyToken/);
  });
});
