// The case table every backend must pass: each primitive of src/backend.ts against the float64
// reference, at awkward sizes, with outputs poisoned (NaN) before each run so unwritten elements fail.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend, MergeKernel, Tensor } from '../../src/backend.js';
import { SnellAdapterOp } from '../../src/adapter/op.js';
import type { AdapterKind } from '../../src/adapter/config.js';
import { defaultCoeff } from '../../src/adapter/config.js';
import {
  keptGradient64,
  matmul64,
  merge64,
  mergeBackward64,
  mixture64,
  mixtureBackward64,
  quantileAbs64,
  sparsify64,
  sparsifyBackward64,
} from '../../src/reference/snell64.js';
import { rng } from '../../src/core/random.js';
import { uniform } from '../../src/reference/random.js';
import { expectClose, TOL } from './close.js';

export function describeBackend(name: string, create: () => Promise<Backend>): void {
  describe(`backend ${name}`, () => {
    let b: Backend;
    beforeAll(async () => {
      b = await create();
    });
    afterAll(() => b?.destroy());

    const poisoned = (shape: number[]): Tensor => b.upload(new Float32Array(shape.reduce((x, y) => x * y, 1)).fill(NaN), shape);
    const f32 = async (t: Tensor) => (await b.read(t)) as Float32Array;

    const mergeShapes: Array<[number, number, number, number]> = [
      // H, n, m, k
      [2, 1, 1, 1],
      [2, 7, 5, 2],
      [2, 33, 65, 3],
      [1, 130, 70, 5],
      [4, 64, 257, 8],
      [2, 300, 17, 16],
      // merge backward's blocking: rows past a workgroup, other rows past a chunk, k past a register sweep
      [1, 65, 129, 4],
      [3, 97, 45, 33],
    ];
    for (const kernel of ['distance', 'linear'] as MergeKernel[]) {
      for (const [H, n, m, k] of mergeShapes) {
        it(`merge ${kernel} H=${H} ${n}x${m} k=${k}`, async () => {
          const A = uniform(H * n * k, n * 31 + m);
          const B = uniform(H * m * k, n * 17 + m + 5);
          const coeff = defaultCoeff(H);
          const W = poisoned([n, m]);
          b.merge(b.upload(A, [H, n, k]), b.upload(B, [H, m, k]), kernel, coeff, W);
          expectClose(await f32(W), merge64(A, B, H, n, m, k, kernel, coeff), TOL.rel, 'W');

          const dW = uniform(n * m, 99);
          const dA = poisoned([H, n, k]);
          const dB = poisoned([H, m, k]);
          b.mergeBackward(b.upload(A, [H, n, k]), b.upload(B, [H, m, k]), b.upload(dW, [n, m]), kernel, coeff, dA, dB);
          const ref = mergeBackward64(A, B, dW, H, n, m, k, kernel, coeff);
          expectClose(await f32(dA), ref.dA, TOL.rel, 'dA');
          expectClose(await f32(dB), ref.dB, TOL.rel, 'dB');
        });
      }
    }

    it('merge: zero distances give W = 0 there and no gradient', async () => {
      const [H, n, m, k] = [2, 3, 3, 2];
      const A = uniform(H * n * k, 1);
      const B = A.slice(); // B[h,o] = A[h,i] when o = i: every diagonal distance is exactly zero
      const coeff = defaultCoeff(H);
      const W = poisoned([n, m]);
      b.merge(b.upload(A, [H, n, k]), b.upload(B, [H, m, k]), 'distance', coeff, W);
      const w = await f32(W);
      for (let i = 0; i < n; i++) expect(w[i * m + i]).toBe(0);
      const dW = new Float32Array(n * m).fill(1);
      const dA = poisoned([H, n, k]);
      const dB = poisoned([H, m, k]);
      b.mergeBackward(b.upload(A, [H, n, k]), b.upload(B, [H, m, k]), b.upload(dW, [n, m]), 'distance', coeff, dA, dB);
      const ref = mergeBackward64(A, B, dW, H, n, m, k, 'distance', coeff);
      const [ga, gb] = [await f32(dA), await f32(dB)];
      expect([...ga].every(Number.isFinite) && [...gb].every(Number.isFinite)).toBe(true);
      expectClose(ga, ref.dA, TOL.rel, 'dA');
      expectClose(gb, ref.dB, TOL.rel, 'dB');
    });

    for (const [n, m, alpha, gamma, beta] of [
      [1, 1, 1, 1, 0],
      [9, 13, 0.7, 0.5, -0.2],
      [48, 300, 1.3, 2, 0.1],
    ]) {
      it(`mixture and its gradient ${n}x${m} α=${alpha} γ=${gamma} β=${beta}`, async () => {
        const W0 = uniform(n * m, n + m, -0.5, 0.5);
        const sc = (v: number) => b.upload(new Float32Array([v]), [1]);
        const W = poisoned([n, m]);
        const P = poisoned([n, m]);
        b.mixture(b.upload(W0, [n, m]), sc(alpha), sc(gamma), sc(beta), W, P);
        const ref = mixture64(W0, n, m, alpha, gamma, beta);
        expectClose(await f32(W), ref.W, TOL.rel, 'W');
        expectClose(await f32(P), ref.P, TOL.rel, 'P');

        const dW = uniform(n * m, 7);
        const outs = [poisoned([n, m]), poisoned([1]), poisoned([1]), poisoned([1])];
        b.mixtureBackward(
          b.upload(dW, [n, m]),
          b.upload(W0, [n, m]),
          b.upload(Float32Array.from(ref.P), [n, m]),
          sc(alpha),
          sc(gamma),
          outs[0],
          outs[1],
          outs[2],
          outs[3],
        );
        const g = mixtureBackward64(dW, W0, ref.P, n, m, alpha, gamma);
        expectClose(await f32(outs[0]), g.dW0, TOL.rel, 'dW0');
        expectClose(await f32(outs[1]), [g.dAlpha], TOL.rel, 'dα');
        expectClose(await f32(outs[2]), [g.dGamma], TOL.rel, 'dγ');
        expectClose(await f32(outs[3]), [g.dBeta], TOL.rel, 'dβ');
      });
    }

    const quantileCases: Array<[string, () => Float32Array, number]> = [
      ['single element', () => new Float32Array([-0.25]), 0.5],
      ['random 7x5', () => uniform(35, 3), 0.5],
      ['random, s near 1', () => uniform(4099, 4), 0.99],
      ['random, s = 0.1', () => uniform(10007, 5), 0.1],
      ['all ties', () => new Float32Array(1000).fill(0.125), 0.9],
      ['ties across the threshold', () => Float32Array.from({ length: 777 }, (_, i) => ((i % 5) - 2) * 0.5), 0.3],
      // magnitudes keep W·|W| inside float32's range
      [
        'zeros and tiny values',
        () => Float32Array.from({ length: 513 }, (_, i) => (i % 3 === 0 ? 0 : (i % 2 ? 1 : -1) * 1e-18 * i)),
        0.5,
      ],
      ['wide dynamic range', () => Float32Array.from(uniform(65536, 6), (v, i) => v * 10 ** ((i % 37) - 18)), 0.9],
    ];
    for (const [what, make, s] of quantileCases) {
      it(`quantile and sparsify: ${what}, s=${s}`, async () => {
        const w = make();
        const W = b.upload(w, [w.length]);
        const t = poisoned([1]);
        b.quantileAbs(W, s, t);
        const thr = (await f32(t))[0];
        const ref = quantileAbs64(w, s);
        expect(Math.abs(thr - ref)).toBeLessThanOrEqual(Math.abs(ref) * 1e-6);
        // Kept count and values follow exactly from the threshold the backend chose.
        const Ws = poisoned([w.length]);
        const kept = b.upload(new Uint32Array([0xffffffff]), [1], 'u32');
        b.sparsify(W, t, Ws, kept);
        const sp = sparsify64(w, thr);
        expect((await b.read(kept))[0]).toBe(sp.kept);
        expectClose(await f32(Ws), sp.Ws, TOL.rel, 'Ws');
        const G = uniform(w.length, 8);
        const dW = poisoned([w.length]);
        b.sparsifyBackward(b.upload(G, [w.length]), W, t, dW);
        expectClose(await f32(dW), sparsifyBackward64(G, w, thr), TOL.rel, 'dW');
      });
    }

    const matmulShapes: Array<[number, number, number]> = [
      [1, 1, 1],
      [3, 7, 5],
      [65, 33, 17],
      [130, 257, 67],
      [16, 768, 96],
    ];
    for (const [M, K, N] of matmulShapes) {
      for (const [ta, tb] of [
        [false, false],
        [true, false],
        [false, true],
        [true, true],
      ]) {
        it(`matmul ${M}x${K}x${N} transA=${ta} transB=${tb}`, async () => {
          const a = uniform(M * K, M + K);
          const bb = uniform(K * N, K + N + 1);
          const out = poisoned([M, N]);
          b.matmul(b.upload(a, ta ? [K, M] : [M, K]), b.upload(bb, tb ? [N, K] : [K, N]), out, { transA: ta, transB: tb });
          const ref = matmul64(a, bb, M, K, N, ta, tb);
          expectClose(await f32(out), ref, TOL.matmul, 'C');
          const bias = uniform(M * N, 3);
          const acc = b.upload(bias, [M, N]);
          b.matmul(b.upload(a, ta ? [K, M] : [M, K]), b.upload(bb, tb ? [N, K] : [K, N]), acc, {
            transA: ta,
            transB: tb,
            accumulate: true,
          });
          expectClose(
            await f32(acc),
            ref.map((v, i) => v + bias[i]),
            TOL.matmul,
            'C + bias',
          );
        });
      }
    }

    // b mostly zeros (the adapter's Ws): the Wasm backend skips them up to a quarter nonzero, and past
    // that takes the dense product; zeros of both signs, a NaN-free b, rows past a 32-row panel
    const sparseShapes: Array<[number, number, number, number]> = [
      // M, K, N, share of nonzeros
      [1, 1, 1, 1],
      [5, 9, 7, 0.1],
      [67, 48, 33, 0.1],
      [100, 130, 70, 0.02],
      [33, 40, 65, 0.6],
    ];
    for (const [M, K, N, share] of sparseShapes) {
      for (const tb of [false, true]) {
        it(`matmul with sparseB ${M}x${K}x${N}, ${share * 100}% nonzero, transB=${tb}`, async () => {
          const a = uniform(M * K, M + 2 * K);
          const next = rng(M * K * N);
          const bb = Float32Array.from(uniform(K * N, N + 3), (v) => (next() < share ? v : next() < 0.5 ? -0 : 0));
          const ta = b.upload(a, [M, K]);
          const tB = b.upload(bb, tb ? [N, K] : [K, N]);
          const out = poisoned([M, N]);
          b.matmul(ta, tB, out, { transB: tb, sparseB: true });
          const ref = matmul64(a, bb, M, K, N, false, tb);
          expectClose(await f32(out), ref, TOL.matmul, 'C');
          const bias = uniform(M * N, 4);
          const acc = b.upload(bias, [M, N]);
          b.matmul(ta, tB, acc, { transB: tb, accumulate: true, sparseB: true });
          expectClose(
            await f32(acc),
            ref.map((v, i) => v + bias[i]),
            TOL.matmul,
            'C + bias',
          );
        });
      }
    }

    for (const [r, c] of [
      [1, 1],
      [3, 70],
      [65, 33],
      [130, 97],
    ]) {
      it(`addTransposed ${r}x${c}`, async () => {
        const a = uniform(r * c, r + c);
        const bt = uniform(c * r, r * c + 1);
        const out = poisoned([r, c]);
        b.addTransposed(b.upload(a, [r, c]), b.upload(bt, [c, r]), out);
        const ref = Float64Array.from(a, (v, q) => v + bt[(q % c) * r + Math.floor(q / c)]);
        expectClose(await f32(out), ref, TOL.rel, 'out');
      });
    }

    // dW = (xᵀ·dy)·|W|·[|W| > t] at kept entries only: rows past a panel and a panel group, kept counts per row
    // not multiples of 4, rows of W with nothing kept, the dense fallback (half kept), everything kept (t < 0)
    const keptCases: Array<[number, number, number, number]> = [
      // R, n, m, threshold as a quantile of |W| (−1: t = −1)
      [1, 1, 1, 0.5],
      [7, 5, 9, 0.9],
      [70, 33, 65, 0.9],
      [130, 61, 47, 0.97],
      [40, 30, 20, 0.5],
      [3, 6, 10, -1],
    ];
    for (const [R, n, m, s] of keptCases) {
      it(`keptGradient R=${R} ${n}x${m} ${s < 0 ? 't < 0' : `t at quantile ${s}`}`, async () => {
        const x = uniform(R * n, R + n);
        const dy = uniform(R * m, R + m + 1);
        const w = uniform(n * m, n * m + 2);
        const thr = s < 0 ? -1 : Math.fround(quantileAbs64(w, s));
        const dW = poisoned([n, m]);
        b.keptGradient(
          b.upload(x, [R, n]),
          b.upload(dy, [R, m]),
          b.upload(w, [n, m]),
          b.upload(new Float32Array([thr]), [1]),
          dW,
        );
        expectClose(await f32(dW), keptGradient64(x, dy, w, thr, R, n, m), TOL.matmul, 'dW');
      });
    }

    const opCases: Array<[AdapterKind, number, number, number, number, number, number]> = [
      // kind, n, m, rank, rows, sparsity, heads
      ['snell', 64, 48, 8, 16, 0.9, 2],
      ['snell', 1, 1, 2, 1, 0.5, 2],
      ['klora', 40, 24, 8, 6, 0, 2],
      ['snella', 48, 80, 8, 5, 0.7, 2],
      ['lora', 50, 30, 8, 9, 0.5, 2],
      ['lora', 20, 20, 4, 3, 0, 2],
      ['lora', 50, 30, 8, 9, 0.5, 1],
      // low rank (LoRA, one head, s = 0): never forms W, same results as the merged formulation
      ['lora', 1, 1, 1, 1, 0, 1],
      ['lora', 37, 23, 5, 11, 0, 1],
      ['lora', 130, 70, 8, 67, 0, 1],
      ['lora', 33, 257, 3, 130, 0, 1],
    ];
    for (const [kind, n, m, rank, rows, s, H] of opCases) {
      it(`adapter op ${kind} ${n}x${m} r=${rank} H=${H} s=${s}: forward and backward`, async () => {
        const k = rank / H;
        const next = rng(n * m + rank);
        const A = Float32Array.from({ length: H * n * k }, () => (next() * 2 - 1) / Math.sqrt(n * k));
        const B = Float32Array.from({ length: H * m * k }, () => (next() * 2 - 1) / Math.sqrt(m * k));
        const x = uniform(rows * n, 11);
        const dy = uniform(rows * m, 12);
        const [alpha, gamma, beta] = [1.1, 0.9, 0.05];
        const op = new SnellAdapterOp(b, { kind, dIn: n, dOut: m, rank, heads: H, sparsity: s });
        expect(op.lowRank).toBe(kind === 'lora' && s === 0 && H === 1);
        const sc = (v: number) => b.upload(new Float32Array([v]), [1]);
        const params = {
          A: b.upload(A, [H, n, k]),
          B: b.upload(B, [H, m, k]),
          alpha: sc(alpha),
          gamma: sc(gamma),
          beta: sc(beta),
        };
        const xt = b.upload(x, [rows, n]);
        const y = op.forward(params, xt);
        const g = op.backward(params, xt, b.upload(dy, [rows, m]));

        // float64 composition of the same math
        const coeff = defaultCoeff(H);
        const kernel = kind === 'lora' ? 'linear' : 'distance';
        const W0 = merge64(A, B, H, n, m, k, kernel, coeff);
        const mix = kind === 'snella' ? mixture64(W0, n, m, alpha, gamma, beta) : null;
        const W = mix ? mix.W : W0;
        const sparse = kind !== 'klora' && s > 0;
        const thr = sparse ? quantileAbs64(W, s) : 0;
        const Ws = sparse ? sparsify64(W, thr).Ws : W;
        const u = op.update(params);
        expectClose(await f32(u.Ws), Ws, TOL.rel, 'Ws');
        op.freeUpdate(u);
        expectClose(await f32(y), matmul64(x, Ws, rows, n, m), TOL.rel, 'y');
        expectClose(await f32(g.dx), matmul64(dy, Ws, rows, m, n, false, true), TOL.rel, 'dx');
        let dW = matmul64(x, dy, n, rows, m, true, false);
        if (sparse) dW = sparsifyBackward64(dW, W, thr);
        if (mix) {
          const mb = mixtureBackward64(dW, W0, mix.P, n, m, alpha, gamma);
          dW = mb.dW0;
          expectClose(await f32(g.dAlpha!), [mb.dAlpha], TOL.rel, 'dα');
          expectClose(await f32(g.dGamma!), [mb.dGamma], TOL.rel, 'dγ');
          expectClose(await f32(g.dBeta!), [mb.dBeta], TOL.rel, 'dβ');
        }
        const ref = mergeBackward64(A, B, dW, H, n, m, k, kernel, coeff);
        expectClose(await f32(g.dA), ref.dA, TOL.rel, 'dA');
        expectClose(await f32(g.dB), ref.dB, TOL.rel, 'dB');
      });
    }

    it('a tensor above the device limit is refused with a clear error', () => {
      const huge = Math.floor(Math.sqrt(b.maxElements)) + 1;
      expect(() => new SnellAdapterOp(b, { kind: 'snell', dIn: huge, dOut: huge, rank: 8, heads: 2, sparsity: 0.9 })).toThrow(
        /more than this .* device holds/,
      );
    });
  });
}
