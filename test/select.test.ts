// Exactness of the wasm radix selection (assembly/select.ts): the threshold must be the float32
// rounding of torch.quantile's formula on the exact order statistics, for inputs built to stress
// the three 11/11/10-bit passes (ties split across bins, values equal in their high bits, the next
// value in another bin), plus zeros, −0, denormals, Inf and NaN.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../src/backend.js';
import { createWasmBackend } from '../src/wasm/backend.js';
import { quantileAbs64, sparsify64 } from '../src/reference/snell64.js';
import { rng } from '../src/core/random.js';

const bitsToF32 = (bits: ArrayLike<number>) => new Float32Array(Uint32Array.from(bits).buffer);

describe('wasm quantileAbs: exact selection', () => {
  let b: Backend;
  beforeAll(async () => {
    b = await createWasmBackend();
  });
  afterAll(() => b.destroy());

  const quantile = async (w: Float32Array, s: number) => {
    const W = b.upload(w, [w.length]);
    const t = b.zeros([1]);
    b.quantileAbs(W, s, t);
    const thr = (await b.read(t))[0];
    b.free(W);
    b.free(t);
    return thr;
  };

  const next = rng(1234);
  const cases: Array<[string, () => Float32Array]> = [
    ['N = 1', () => new Float32Array([-3])],
    ['N = 2', () => new Float32Array([2, -1])],
    [
      'values sharing their top 21 bits',
      () => bitsToF32(Array.from({ length: 3000 }, () => 0x3f800000 + Math.floor(next() * 1024))),
    ],
    [
      'values sharing their top 11 bits',
      () => bitsToF32(Array.from({ length: 3000 }, () => 0x3f800000 + Math.floor(next() * 2 ** 21))),
    ],
    [
      'few distinct values, many ties',
      () => Float32Array.from({ length: 5000 }, () => [0.5, -0.5, 0.25, 1e-3, 7][Math.floor(next() * 5)]),
    ],
    ['next value in another top-level bin', () => Float32Array.from({ length: 1001 }, (_, i) => (i < 900 ? 1e-20 : -1e20))],
    ['zeros, −0 and denormals', () => Float32Array.from({ length: 999 }, (_, i) => [0, -0, 1e-45, -3e-42, 1e-39, 2e-38][i % 6])],
    ['ramp', () => Float32Array.from({ length: 4097 }, (_, i) => (i % 2 ? -i : i) / 4096)],
    ['gaussian-ish', () => Float32Array.from({ length: 20011 }, () => (next() + next() + next() - 1.5) * 0.01)],
  ];
  const levels = [0, 1e-9, 0.1, 0.25, 0.5, 0.7, 0.9, 0.99, 0.999999, 1];
  for (const [what, make] of cases) {
    it(`${what}: float32 of torch's formula, for s in [0, 1]`, async () => {
      const w = make();
      for (const s of levels) {
        const thr = await quantile(w, s);
        expect(thr, `s = ${s}`).toBe(Math.fround(quantileAbs64(w, s)));
      }
      // the kept count follows from the threshold exactly
      const W = b.upload(w, [w.length]);
      const t = b.zeros([1]);
      b.quantileAbs(W, 0.5, t);
      const kept = b.zeros([1], 'u32');
      const Ws = b.zeros([w.length]);
      b.sparsify(W, t, Ws, kept);
      expect((await b.read(kept))[0]).toBe(sparsify64(w, (await b.read(t))[0]).kept);
    });
  }

  it('Inf: interpolation towards Inf is Inf; frac = 0 gives v[lo] (no 0·Inf)', async () => {
    const w = new Float32Array([1, 2, Infinity, -Infinity, 3]);
    expect(await quantile(w, 0.25)).toBe(2); // pos = 1 exactly
    expect(await quantile(w, 0.5)).toBe(3); // pos = 2, next is Inf, frac 0
    expect(await quantile(w, 0.6)).toBe(Infinity);
    expect(await quantile(w, 1)).toBe(Infinity);
  });

  it('NaN anywhere gives a NaN threshold (torch.quantile), and then nothing is kept', async () => {
    const w = new Float32Array([1, NaN, 2, 3]);
    const W = b.upload(w, [4]);
    const t = b.zeros([1]);
    b.quantileAbs(W, 0.5, t);
    expect((await b.read(t))[0]).toBeNaN();
    const kept = b.zeros([1], 'u32');
    b.sparsify(W, t, b.zeros([4]), kept);
    expect((await b.read(kept))[0]).toBe(0);
  });

  it('random inputs of many sizes, against sorting', async () => {
    for (let trial = 0; trial < 40; trial++) {
      const N = 1 + Math.floor(next() * 3000);
      const scale = 10 ** Math.floor(next() * 20 - 10);
      const w = Float32Array.from({ length: N }, () => (next() - 0.5) * scale * (next() < 0.1 ? 0 : 1));
      const s = next();
      expect(await quantile(w, s), `N = ${N}, s = ${s}`).toBe(Math.fround(quantileAbs64(w, s)));
    }
  });
});
