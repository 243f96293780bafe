// A matrix beyond torch.quantile's 2^24-element cap: 4100×4100 (16.8M elements, k = 2, H = 2) merged,
// thresholded and sparsified on the wasm backend, checked against the float64 reference.

import { expect, it } from 'vitest';
import { createWasmBackend } from '../src/wasm/backend.js';
import { defaultCoeff } from '../src/adapter/config.js';
import { merge64 } from '../src/reference/snell64.js';
import { uniform } from '../src/reference/random.js';
import { expectClose, TOL } from './support/close.js';

it('wasm: merge, quantile and sparsify of a 4100×4100 update (> 2^24 elements)', async () => {
  const [H, n, m, k, s] = [2, 4100, 4100, 2, 0.9];
  expect(n * m).toBeGreaterThan(2 ** 24);
  const b = await createWasmBackend();
  const A = uniform(H * n * k, 41, -0.2, 0.2);
  const B = uniform(H * m * k, 42, -0.2, 0.2);
  const coeff = defaultCoeff(H);
  const W = b.zeros([n, m]);
  b.merge(b.upload(A, [H, n, k]), b.upload(B, [H, m, k]), 'distance', coeff, W);
  const w = (await b.read(W)) as Float32Array;
  const ref = merge64(A, B, H, n, m, k, 'distance', coeff);
  expectClose(w, ref, TOL.rel, 'W');

  const t = b.zeros([1]);
  b.quantileAbs(W, s, t);
  const thr = (await b.read(t))[0];
  // exact on the backend's own W; close to the quantile of the float64 W
  expect(thr).toBe(Math.fround(sortedQuantile(w.map(Math.abs).sort(), s)));
  expect(Math.abs(thr - sortedQuantile(ref.map(Math.abs).sort(), s))).toBeLessThanOrEqual(Math.abs(thr) * 1e-4);

  const Ws = b.zeros([n, m]);
  const kept = b.zeros([1], 'u32');
  b.sparsify(W, t, Ws, kept);
  let count = 0;
  let bad = 0;
  const ws = (await b.read(Ws)) as Float32Array;
  for (let i = 0; i < w.length; i++) {
    const a = Math.abs(w[i]);
    const keep = a > thr;
    if (keep) count++;
    if (ws[i] !== (keep ? Math.fround(w[i] * a) : 0)) bad++;
  }
  expect((await b.read(kept))[0]).toBe(count);
  expect(Math.abs(count - n * m * (1 - s))).toBeLessThan(n * m * 1e-3);
  expect(bad).toBe(0);
  b.destroy();
});

/** torch.quantile's interpolation on already sorted values (a typed-array sort is much faster than quantileAbs64's copy). */
function sortedQuantile(v: Float32Array | Float64Array, s: number): number {
  const pos = s * (v.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, v.length - 1);
  return v[lo] + (pos - lo) * (v[hi] - v[lo]);
}
