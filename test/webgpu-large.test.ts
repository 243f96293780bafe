// One update larger than torch.quantile accepts (more than 2^24 elements): merge, exact quantile and
// sparsify on the WebGPU backend against the float64 reference, with the kept count exact; and the
// other kernels' dispatches above 65535 workgroups (2-D grids).

import { create, globals } from 'webgpu';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Backend } from '../src/backend.js';
import { defaultCoeff } from '../src/adapter/config.js';
import { matmul64, merge64, mixture64 } from '../src/reference/snell64.js';
import { uniform } from '../src/reference/random.js';
import { createWebGpuBackend } from '../src/webgpu/backend.js';
import { expectClose, TOL } from './support/close.js';

Object.assign(globalThis, globals);
let b: Backend;
beforeAll(async () => {
  b = await createWebGpuBackend(create([])); // the backend keeps Dawn's GPU object alive
});
afterAll(() => b?.destroy());

it('merge + quantile + sparsify of a 4100×4100 update (16 810 000 > 2^24 elements)', async () => {
  const [H, n, m, k, s] = [2, 4100, 4100, 2, 0.9];
  expect(n * m).toBeGreaterThan(2 ** 24);
  expect(n * m).toBeLessThanOrEqual(b.maxElements);
  const A = uniform(H * n * k, 21, -1 / Math.sqrt(n * k), 1 / Math.sqrt(n * k));
  const B = uniform(H * m * k, 22, -1 / Math.sqrt(m * k), 1 / Math.sqrt(m * k));
  const coeff = defaultCoeff(H);
  const W = b.zeros([n, m]);
  const t = b.zeros([1]);
  const Ws = b.zeros([n, m]);
  const kept = b.zeros([1], 'u32');
  b.merge(b.upload(A, [H, n, k]), b.upload(B, [H, m, k]), 'distance', coeff, W);
  b.quantileAbs(W, s, t);
  b.sparsify(W, t, Ws, kept);
  const w = (await b.read(W)) as Float32Array;
  const thr = (await b.read(t))[0];
  const count = (await b.read(kept))[0];
  const ws = (await b.read(Ws)) as Float32Array;

  const ref = merge64(A, B, H, n, m, k, 'distance', coeff);
  expectClose(w, ref, TOL.rel, 'W');
  // The threshold is the exact quantile of the float32 W the device holds (order statistics, then
  // interpolation in f32), and close to the float64 reference's.
  const exact = quantileAbsF32(w, s);
  expect(Math.abs(thr - exact)).toBeLessThanOrEqual(exact * 1e-6);
  expect(Math.abs(thr - quantileAbsSorted(ref, s))).toBeLessThanOrEqual(exact * 1e-4);
  let expected = 0;
  let bad = -1;
  for (let q = 0; q < w.length; q++) {
    const keep = Math.abs(w[q]) > thr;
    if (keep) expected++;
    if (ws[q] !== (keep ? Math.fround(w[q] * Math.abs(w[q])) : 0) && bad < 0) bad = q;
  }
  expect(count).toBe(expected);
  expect(Math.abs(count - (1 - s) * n * m)).toBeLessThanOrEqual(2);
  expect(bad, `Ws[${bad}] = ${ws[bad]} for W = ${w[bad]}`).toBe(-1);
});

it('dispatches above 65535 workgroups use a 2-D grid (per-row mixture, matmul tiles)', async () => {
  const [n, m] = [70000, 2]; // one workgroup per row
  const W0 = uniform(n * m, 5);
  const W = b.zeros([n, m]);
  const P = b.zeros([n, m]);
  const sc = (v: number) => b.upload(new Float32Array([v]), [1]);
  b.mixture(b.upload(W0, [n, m]), sc(0.5), sc(1.5), sc(0.25), W, P);
  const ref = mixture64(W0, n, m, 0.5, 1.5, 0.25);
  expectClose(await b.read(W), ref.W, TOL.rel, 'W');
  expectClose(await b.read(P), ref.P, TOL.rel, 'P');

  const M = 64 * 65535 + 70; // 65537 row tiles
  const a = uniform(M, 6);
  const C = b.upload(new Float32Array(M).fill(NaN), [M, 1]);
  b.matmul(b.upload(a, [1, M]), b.upload(new Float32Array([3]), [1, 1]), C, { transA: true });
  expectClose(await b.read(C), matmul64(a, [3], M, 1, 1, true), TOL.matmul, 'C');
});

// quantileAbs64's definition, written for 2^24 elements (its Float64Array.from(W, Math.abs) takes ~8 s):
// the order statistics of float32 |W| are those of its bit patterns with the sign cleared.
function quantileAbsF32(w: Float32Array, s: number): number {
  const bits = new Uint32Array(w.length);
  const src = new Uint32Array(w.buffer, w.byteOffset, w.length);
  for (let q = 0; q < w.length; q++) bits[q] = src[q] & 0x7fffffff;
  bits.sort();
  const v = new Float32Array(bits.buffer);
  return interpolate(v, s);
}

function quantileAbsSorted(w: Float64Array, s: number): number {
  const v = new Float64Array(w.length);
  for (let q = 0; q < w.length; q++) v[q] = Math.abs(w[q]);
  return interpolate(v.sort(), s);
}

function interpolate(v: ArrayLike<number>, s: number): number {
  const pos = s * (v.length - 1);
  const lo = Math.floor(pos);
  return v[lo] + (pos - lo) * (v[Math.min(lo + 1, v.length - 1)] - v[lo]);
}
