// The case table for the transformer primitives of src/backend.ts, every backend against the float64
// reference (src/reference/transformer64.ts), outputs poisoned with NaN where they are written; the
// attention and token-lookup cases of decoder models (lookup-suite.ts) run in the same describe block.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend, PoolMode, Tensor } from '../../src/backend.js';
import { importance64, updateImportance64 } from '../../src/reference/importance64.js';
import { uniform } from '../../src/reference/random.js';
import {
  adamw64,
  attention64,
  attentionBackward64,
  gelu64,
  geluGrad64,
  hashUniform,
  layerNorm64,
  layerNormBackward64,
  softmaxCrossEntropy64,
} from '../../src/reference/transformer64.js';
import { expectClose } from './close.js';
import { describeDecoderCases } from './lookup-suite.js';

/** float32 kernels against float64 on well-conditioned inputs */
const TIGHT = 1e-5;

export function describeTransformerBackend(name: string, create: () => Promise<Backend>): void {
  describe(`transformer primitives on ${name}`, () => {
    let b: Backend;
    beforeAll(async () => {
      b = await create();
    });
    afterAll(() => b?.destroy());

    describeDecoderCases(() => b);

    const size = (shape: number[]) => shape.reduce((x, y) => x * y, 1);
    const poisoned = (shape: number[]): Tensor => b.upload(new Float32Array(size(shape)).fill(NaN), shape);
    const up = (data: Float32Array, shape: number[]) => b.upload(data, shape);
    const f32 = async (t: Tensor) => (await b.read(t)) as Float32Array;

    for (const n of [1, 7, 1000, 70001]) {
      it(`elementwise add, addInto, copy, n=${n}`, async () => {
        const [x, y] = [uniform(n, 1), uniform(n, 2)];
        const out = poisoned([n]);
        b.add(up(x, [n]), up(y, [n]), out);
        expectClose(
          await f32(out),
          x.map((v, i) => v + y[i]),
          TIGHT,
          'add',
        );
        b.addInto(out, up(x, [n]));
        expectClose(
          await f32(out),
          x.map((v, i) => 2 * v + y[i]),
          TIGHT,
          'addInto',
        );
        const c = poisoned([n]);
        b.copy(up(x, [n]), c);
        expect(await f32(c)).toEqual(x);
      });
    }

    for (const [R, N] of [
      [1, 1],
      [5, 3],
      [1576, 77],
      [3, 2049],
    ]) {
      it(`addBias and sumRows [${R}, ${N}]`, async () => {
        const [x, bias] = [uniform(R * N, 3), uniform(N, 4)];
        const t = up(x, [R, N]);
        b.addBias(t, up(bias, [N]));
        expectClose(
          await f32(t),
          x.map((v, i) => v + bias[i % N]),
          TIGHT,
          'addBias',
        );
        const s = poisoned([N]);
        b.sumRows(up(x, [R, N]), s);
        const ref = new Float64Array(N);
        x.forEach((v, i) => (ref[i % N] += v));
        expectClose(await f32(s), ref, TIGHT, 'sumRows');
        b.sumRows(up(x, [R, N]), s, true);
        expectClose(
          await f32(s),
          ref.map((v) => 2 * v),
          TIGHT,
          'sumRows accumulate',
        );
      });
    }

    for (const [R, D] of [
      [1, 1],
      [3, 7],
      [18, 48],
      [50, 768],
    ]) {
      it(`layerNorm and its gradient [${R}, ${D}]`, async () => {
        const eps = 1e-6;
        const x = uniform(R * D, R + D, -2, 3);
        const [w, bb, dy] = [uniform(D, 5, 0.5, 1.5), uniform(D, 6), uniform(R * D, 7)];
        const [out, mean, rstd] = [poisoned([R, D]), poisoned([R]), poisoned([R])];
        b.layerNorm(up(x, [R, D]), up(w, [D]), up(bb, [D]), eps, out, mean, rstd);
        const ref = layerNorm64(x, w, bb, R, D, eps);
        expectClose(await f32(out), ref.out, TIGHT, 'out');
        expectClose(await f32(mean), ref.mean, TIGHT, 'mean');
        expectClose(await f32(rstd), ref.rstd, TIGHT, 'rstd');
        const [dx, dw, db] = [poisoned([R, D]), up(new Float32Array(D).fill(1), [D]), up(new Float32Array(D).fill(1), [D])];
        b.layerNormBackward(up(dy, [R, D]), up(x, [R, D]), up(w, [D]), mean, rstd, dx, dw, db);
        const g = layerNormBackward64(dy, x, w, R, D, eps);
        // D = 1 normalises to exactly 0: its input gradient is 0 up to rounding
        expectClose(await f32(dx), g.dx, D === 1 ? 1 : TIGHT, 'dx');
        expectClose(
          await f32(dw),
          g.dw.map((v) => v + 1),
          TIGHT,
          'dw (accumulated onto 1)',
        );
        expectClose(
          await f32(db),
          g.db.map((v) => v + 1),
          TIGHT,
          'db (accumulated onto 1)',
        );
        const dx2 = poisoned([R, D]);
        b.layerNormBackward(up(dy, [R, D]), up(x, [R, D]), up(w, [D]), mean, rstd, dx2, null, null);
        expectClose(await f32(dx2), g.dx, D === 1 ? 1 : TIGHT, 'dx without dw, db');
      });
    }

    it('exact GELU and its gradient', async () => {
      const n = 4099;
      const x = Float32Array.from({ length: n }, (_, i) => -9 + (18 * i) / (n - 1));
      const dy = uniform(n, 8);
      const [out, dx] = [poisoned([n]), poisoned([n])];
      b.gelu(up(x, [n]), out);
      b.geluBackward(up(dy, [n]), up(x, [n]), dx);
      expectClose(await f32(out), Array.from(x, gelu64), 1e-6, 'gelu');
      expectClose(
        await f32(dx),
        Array.from(x, (v, i) => dy[i] * geluGrad64(v)),
        1e-6,
        'gelu grad',
      );
    });

    // T and hd on and off the WebGPU tiles (32 rows, 64 keys or features, 32-step chunks): T = 1, 33, 65, 197,
    // 257; hd = 1, 3, 4, 8, 12, 32, 64, 80
    for (const [B, T, D, nh] of [
      [1, 1, 8, 2],
      [2, 9, 48, 4],
      [2, 5, 32, 4],
      [1, 197, 64, 2],
      [2, 50, 192, 3],
      [2, 33, 9, 3],
      [1, 65, 160, 2],
      [1, 257, 2, 2],
    ]) {
      it(`attention and its gradient B=${B} T=${T} D=${D} heads=${nh}`, async () => {
        const n = B * T * D;
        const [q, k, v, dOut] = [uniform(n, 11, -2, 2), uniform(n, 12, -2, 2), uniform(n, 13), uniform(n, 14)];
        const [out, probs] = [poisoned([B, T, D]), poisoned([B, nh, T, T])];
        const [qt, kt, vt] = [up(q, [B, T, D]), up(k, [B, T, D]), up(v, [B, T, D])];
        b.attention(qt, kt, vt, nh, out, probs);
        const ref = attention64(q, k, v, B, T, D, nh);
        expectClose(await f32(out), ref.out, TIGHT, 'out');
        expectClose(await f32(probs), ref.probs, TIGHT, 'probs');
        const [dq, dk, dv] = [poisoned([B, T, D]), poisoned([B, T, D]), poisoned([B, T, D])];
        b.attentionBackward(up(dOut, [B, T, D]), qt, kt, vt, probs, nh, dq, dk, dv);
        const g = attentionBackward64(dOut, q, k, v, B, T, D, nh);
        expectClose(await f32(dq), g.dq, TIGHT, 'dq');
        expectClose(await f32(dk), g.dk, TIGHT, 'dk');
        expectClose(await f32(dv), g.dv, TIGHT, 'dv');
      });
    }

    for (const [B, T, D] of [
      [1, 1, 1],
      [2, 5, 3],
      [8, 197, 64],
    ]) {
      it(`token assembly and pooling B=${B} T=${T} D=${D}`, async () => {
        const [patches, cls, pos] = [uniform(B * (T - 1) * D, 15), uniform(D, 16), uniform(T * D, 17)];
        const out = poisoned([B, T, D]);
        b.embedTokens(up(patches, [B, T - 1, D]), up(cls, [D]), up(pos, [T, D]), out);
        const ref = new Float64Array(B * T * D);
        for (let bi = 0; bi < B; bi++)
          for (let t = 0; t < T; t++)
            for (let d = 0; d < D; d++) {
              ref[(bi * T + t) * D + d] = (t === 0 ? cls[d] : patches[(bi * (T - 1) + t - 1) * D + d]) + pos[t * D + d];
            }
        expectClose(await f32(out), ref, TIGHT, 'tokens');

        const dOut = uniform(B * T * D, 18);
        const [dP, dC, dPos] = [
          poisoned([B, T - 1, D]),
          up(new Float32Array(D).fill(0.5), [D]),
          up(new Float32Array(T * D), [T, D]),
        ];
        b.embedTokensBackward(up(dOut, [B, T, D]), T > 1 ? dP : null, dC, dPos);
        const refC = new Float64Array(D).fill(0.5);
        const refPos = new Float64Array(T * D);
        for (let bi = 0; bi < B; bi++)
          for (let t = 0; t < T; t++)
            for (let d = 0; d < D; d++) {
              const g = dOut[(bi * T + t) * D + d];
              refPos[t * D + d] += g;
              if (t === 0) refC[d] += g;
            }
        if (T > 1) {
          const refP = Float64Array.from({ length: B * (T - 1) * D }, (_, i) => {
            const bi = Math.floor(i / ((T - 1) * D));
            return dOut[bi * T * D + D + (i % ((T - 1) * D))];
          });
          expectClose(await f32(dP), refP, TIGHT, 'dPatches');
        }
        expectClose(await f32(dC), refC, TIGHT, 'dCls (accumulated onto 0.5)');
        expectClose(await f32(dPos), refPos, TIGHT, 'dPos');

        for (const mode of ['cls', 'mean'] as PoolMode[]) {
          const x = uniform(B * T * D, 19);
          const pooled = poisoned([B, D]);
          b.poolTokens(up(x, [B, T, D]), mode, pooled);
          const refPool = new Float64Array(B * D);
          for (let bi = 0; bi < B; bi++)
            for (let d = 0; d < D; d++) {
              let s = 0;
              for (let t = 0; t < (mode === 'cls' ? 1 : T); t++) s += x[(bi * T + t) * D + d];
              refPool[bi * D + d] = mode === 'cls' ? s : s / T;
            }
          expectClose(await f32(pooled), refPool, TIGHT, `pool ${mode}`);
          const dPool = uniform(B * D, 20);
          const dx = poisoned([B, T, D]);
          b.poolTokensBackward(up(dPool, [B, D]), mode, dx);
          const refDx = Float64Array.from({ length: B * T * D }, (_, i) => {
            const [bi, t, d] = [Math.floor(i / (T * D)), Math.floor(i / D) % T, i % D];
            return mode === 'cls' ? (t === 0 ? dPool[bi * D + d] : 0) : dPool[bi * D + d] / T;
          });
          expectClose(await f32(dx), refDx, TIGHT, `pool ${mode} backward`);
        }
      });
    }

    for (const [B, C] of [
      [1, 1],
      [8, 5],
      [3, 1000],
    ]) {
      it(`softmax cross-entropy B=${B} C=${C}`, async () => {
        const logits = uniform(B * C, 21, -8, 8);
        const labels = Uint32Array.from({ length: B }, (_, i) => (i * 7) % C);
        const [loss, dl] = [poisoned([1]), poisoned([B, C])];
        const correct = b.upload(new Uint32Array([12345]), [1], 'u32');
        b.softmaxCrossEntropy(up(logits, [B, C]), b.upload(labels, [B], 'u32'), loss, dl, correct);
        const ref = softmaxCrossEntropy64(logits, labels, B, C);
        expectClose(await f32(loss), [ref.loss], TIGHT, 'loss');
        expectClose(await f32(dl), ref.dLogits, TIGHT, 'dLogits');
        expect((await b.read(correct))[0]).toBe(ref.correct);
      });
    }

    it('gradient-norm clipping factor', async () => {
      const x = uniform(10007, 22);
      const ss = poisoned([1]);
      b.sumSquares(up(x, [10007]), ss);
      b.sumSquares(up(x, [10007]), ss, true);
      const ref = 2 * x.reduce((a, v) => a + v * v, 0);
      expectClose(await f32(ss), [ref], TIGHT, 'sumSquares');
      for (const maxNorm of [1, 1e6]) {
        const f = poisoned([1]);
        b.clipFactor(ss, maxNorm, f);
        expectClose(await f32(f), [Math.min(1, maxNorm / (Math.sqrt(ref) + 1e-6))], TIGHT, `factor, max ${maxNorm}`);
      }
    });

    for (const step of [1, 7]) {
      it(`AdamW, torch semantics, step ${step}`, async () => {
        const n = 1003;
        const [p, g, m] = [uniform(n, 23), uniform(n, 24), uniform(n, 25, -0.1, 0.1)];
        const v = uniform(n, 26, 0, 0.01);
        const hp = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.05, step };
        const [pt, mt, vt] = [up(p, [n]), up(m, [n]), up(v, [n])];
        b.adamw(pt, up(g, [n]), mt, vt, up(new Float32Array([0.25]), [1]), hp);
        const ref = adamw64(p, g, m, v, hp.lr, hp.beta1, hp.beta2, hp.eps, hp.weightDecay, step, 0.25);
        expectClose(await f32(pt), ref.p, 1e-6, 'param');
        expectClose(await f32(mt), ref.m, TIGHT, 'm');
        expectClose(await f32(vt), ref.v, TIGHT, 'v');
      });
    }

    it('dropout and DropPath masks follow the contract hash exactly', async () => {
      const [B, n] = [64, 33];
      const x = uniform(B * n, 27);
      const out = poisoned([B, n]);
      b.dropout(up(x, [B, n]), 0.1, 1234, out);
      const ref = x.map((v, i) => (hashUniform(1234, i) >= 0.1 ? v / 0.9 : 0));
      expectClose(await f32(out), ref, 1e-7, 'dropout');
      const kept = ref.filter((v) => v !== 0).length / ref.length;
      expect(kept).toBeGreaterThan(0.85);
      expect(kept).toBeLessThan(0.95);
      const dp = poisoned([B, n]);
      b.dropPath(up(x, [B, n]), 0.25, 99, dp);
      const refPath = x.map((v, i) => (hashUniform(99, Math.floor(i / n)) >= 0.25 ? v / 0.75 : 0));
      expectClose(await f32(dp), refPath, 1e-7, 'dropPath');
      const same = poisoned([B, n]);
      b.dropout(up(x, [B, n]), 0, 5, same);
      expect(await f32(same)).toEqual(x);
    });

    it('maskScale applies a given mask elementwise and per sample', async () => {
      const [B, n] = [12, 35];
      const x = uniform(B * n, 31);
      const draws = uniform(B * n, 32);
      const element = Float32Array.from(draws, (u) => (u > 0 ? 1 : 0));
      const sample = Float32Array.from({ length: B }, (_, i) => (i % 3 === 1 ? 0 : 1));
      const scale = 1 / 0.9;
      const out = poisoned([B, n]);
      b.maskScale(up(x, [B, n]), up(element, [B, n]), scale, out);
      expectClose(
        await f32(out),
        x.map((v, q) => v * element[q] * scale),
        1e-7,
        'elementwise',
      );
      b.maskScale(up(x, [B, n]), up(sample, [B]), scale, out);
      const got = await f32(out);
      expectClose(
        got,
        x.map((v, q) => v * sample[Math.floor(q / n)] * scale),
        1e-7,
        'per sample',
      );
      expect(got.slice(n, 2 * n).every((v) => v === 0)).toBe(true);
      expect(() => b.maskScale(up(x, [B, n]), up(new Float32Array(11), [11]), scale, out)).toThrow(/mask/);
    });

    it('SNELLA importance averages over steps, NaN products as 0, infinite ones skipped and counted', async () => {
      const [n, steps, beta1, beta2] = [3000, 4, 0.85, 0.7];
      const ref = importance64(n);
      const [ipt, unc] = [b.zeros([n]), b.zeros([n])];
      const skipped = b.zeros([1], 'u32');
      let infinite = 0;
      for (let s = 0; s < steps; s++) {
        const theta = uniform(n, 40 + s);
        const grad = uniform(n, 50 + s, -3, 3);
        grad[7] = Number.NaN; // a NaN gradient entry: I = 0 there
        theta[8] = Number.POSITIVE_INFINITY; // inf·0 is NaN: I = 0
        grad[8] = 0;
        if (s % 2 === 1) {
          grad[9] = Number.POSITIVE_INFINITY; // infinite I: skipped, averages kept
          theta[10] = 3e38; // a product that overflows float32: skipped too
          grad[10] = 10;
          infinite += 2;
        }
        const before = { ipt: Float64Array.from(ref.ipt), unc: Float64Array.from(ref.unc) };
        updateImportance64(ref, theta, grad, beta1, beta2);
        for (const i of [9, 10]) {
          if (!Number.isFinite(Math.fround(Math.abs(theta[i]! * grad[i]!)))) {
            ref.ipt[i] = before.ipt[i]!;
            ref.unc[i] = before.unc[i]!;
          }
        }
        b.importance(up(theta, [n]), up(grad, [n]), ipt, unc, beta1, beta2, skipped);
      }
      expectClose(await f32(ipt), ref.ipt, TIGHT, 'ipt');
      expectClose(await f32(unc), ref.unc, TIGHT, 'unc');
      expect(Array.from(await b.read(skipped))).toEqual([infinite]);
      const got = await f32(ipt);
      expect([got[7], got[8]]).toEqual([0, 0]); // a NaN product every step: I = 0, never NaN
      expect(got[11]).toBeGreaterThan(0);
      expect(() => b.importance(up(uniform(4, 1), [4]), up(uniform(4, 2), [4]), ipt, unc, beta1, beta2, skipped)).toThrow(
        /importance: ipt is f32\[3000\], expected 4 f32 elements/,
      );
    });
  });
}
