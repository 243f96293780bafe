// The case table for the decoder primitives of src/backend.ts (RMSNorm, RoPE, SwiGLU's silu product,
// gelu_new, column blocks), every backend against the float64 reference (src/reference/decoder64.ts), outputs
// poisoned with NaN where they are written. Float32 results must land within ~1e-6 relative L2 of
// float64 (../shared/vectors/README.md, "Text transformers").

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend, Tensor } from '../../src/backend.js';
import { ropeTables } from '../../src/model/rope.js';
import {
  geluTanh64,
  geluTanhGrad64,
  rmsNorm64,
  rmsNormBackward64,
  rope64,
  siluMul64,
  siluMulBackward64,
} from '../../src/reference/decoder-ops64.js';
import { uniform } from '../../src/reference/random.js';
import { expectClose } from './close.js';

/** float32 kernels against float64 */
const F32 = 1e-6;

/** Inputs far out in both tails, where a naive exp or tanh overflows: every result must stay finite. */
const LARGE = [20, 30, 50, 88, 89, 100, 1e3, 1e4, 1e6, 1e12, 1e19, 1e30, 3e38].flatMap((v) => [v, -v]);

export function describeDecoderBackend(name: string, create: () => Promise<Backend>): void {
  describe(`decoder primitives on ${name}`, () => {
    let b: Backend;
    beforeAll(async () => {
      b = await create();
    });
    afterAll(() => b?.destroy());

    const size = (shape: number[]) => shape.reduce((x, y) => x * y, 1);
    const poisoned = (shape: number[]): Tensor => b.upload(new Float32Array(size(shape)).fill(NaN), shape);
    const up = (data: Float32Array, shape: number[]) => b.upload(data, shape);
    const f32 = async (t: Tensor) => (await b.read(t)) as Float32Array;

    for (const [R, D, eps, scale] of [
      [1, 1, 1e-6, 1],
      [3, 7, 1e-5, 1],
      [18, 48, 1e-6, 1e3],
      [5, 257, 0, 1],
      [50, 768, 1e-5, 1e-2],
      [2, 1030, 1e-6, 1],
      [300, 40, 1e-6, 1], // dw over several 64-row chunks on WebGPU
    ]) {
      it(`rmsNorm and its gradient [${R}, ${D}] eps=${eps}, |x| ~ ${scale}`, async () => {
        const x = uniform(R * D, R + D, -2 * scale, 3 * scale);
        const [w, dy] = [uniform(D, 5, 0.5, 1.5), uniform(R * D, 7)];
        const [out, rstd] = [poisoned([R, D]), poisoned([R])];
        b.rmsNorm(up(x, [R, D]), up(w, [D]), eps, out, rstd);
        const ref = rmsNorm64(x, w, R, D, eps);
        expectClose(await f32(out), ref.out, F32, 'out');
        expectClose(await f32(rstd), ref.rstd, F32, 'rstd');
        const [dx, dw] = [poisoned([R, D]), up(new Float32Array(D).fill(1), [D])];
        b.rmsNormBackward(up(dy, [R, D]), up(x, [R, D]), up(w, [D]), rstd, dx, dw);
        const g = rmsNormBackward64(dy, x, w, R, D, eps);
        // D = 1 normalises to ±1 exactly: its input gradient is 0 up to rounding, and its dw (dy·x̂ with
        // x̂ = x·rstd, rstd rounded to float32) nearly cancels the 1 it is accumulated onto
        expectClose(await f32(dx), g.dx, D === 1 ? 1 : F32, 'dx');
        expectClose(
          await f32(dw),
          g.dw.map((v) => v + 1),
          D === 1 ? 1e-5 : F32,
          'dw (accumulated onto 1)',
        );
        const dx2 = poisoned([R, D]);
        b.rmsNormBackward(up(dy, [R, D]), up(x, [R, D]), up(w, [D]), rstd, dx2, null);
        expect(await f32(dx2), 'dx without dw').toEqual(await f32(dx));
        const dw2 = up(new Float32Array(D).fill(1), [D]);
        b.rmsNormBackward(up(dy, [R, D]), up(x, [R, D]), up(w, [D]), rstd, poisoned([R, D]), dw2);
        expect(await f32(dw2), 'dw again, bit for bit (fixed summation order)').toEqual(await f32(dw));
      });
    }

    it('rmsNorm of a zero row is 0 with rstd = 1/sqrt(eps)', async () => {
      const [out, rstd] = [poisoned([2, 6]), poisoned([2])];
      const x = new Float32Array(12);
      x.set([1, -2, 3, 0.5, 4, -1], 6);
      b.rmsNorm(up(x, [2, 6]), up(new Float32Array(6).fill(2), [6]), 1e-6, out, rstd);
      const got = await f32(out);
      expect(Array.from(got.slice(0, 6))).toEqual([0, 0, 0, 0, 0, 0]);
      expectClose((await f32(rstd)).slice(0, 1), [1e3], F32, 'rstd of the zero row');
      expectClose(got, rmsNorm64(x, new Float32Array(6).fill(2), 2, 6, 1e-6).out, F32, 'out');
    });

    // [B, T, C, heads, offset, P, theta]: hd = 2 (one pair), odd pair counts, hd = 64, 80, 128 at a decode
    // step far into the table (offset 4095), LLaMA's and LLaMA-3's θ
    for (const [B, T, C, nh, offset, P, theta] of [
      [1, 1, 2, 1, 0, 1, 10000],
      [2, 5, 12, 2, 0, 8, 10000],
      [2, 7, 30, 3, 3, 16, 10000],
      [3, 33, 160, 2, 0, 40, 10000],
      [1, 1, 128, 2, 4095, 4096, 10000],
      [2, 3, 256, 2, 4000, 4096, 500000],
      [1, 70, 96, 12, 1, 200, 1e6],
    ]) {
      it(`rope and its transpose B=${B} T=${T} C=${C} heads=${nh} offset=${offset} θ=${theta}`, async () => {
        const n = B * T * C;
        const [x, dy] = [uniform(n, 41 + C, -2, 2), uniform(n, 42 + C)];
        const tables = ropeTables(C / nh, P, theta);
        const [cos, sin] = [up(tables.cos, tables.shape), up(tables.sin, tables.shape)];
        const out = poisoned([B, T, C]);
        const xt = up(x, [B, T, C]);
        b.rope(xt, cos, sin, nh, offset, out);
        const ref = rope64(x, B, T, C, nh, theta, offset);
        const got = await f32(out);
        expectClose(got, ref, F32, 'rope');
        b.rope(xt, cos, sin, nh, offset, xt);
        expect(await f32(xt), 'in place, bit for bit').toEqual(got);

        const dx = poisoned([B, T, C]);
        const dyt = up(dy, [B, T, C]);
        b.ropeBackward(dyt, cos, sin, nh, offset, dx);
        const back = await f32(dx);
        expectClose(back, rope64(dy, B, T, C, nh, theta, offset, true), F32, 'ropeBackward');
        b.ropeBackward(dyt, cos, sin, nh, offset, dyt);
        expect(await f32(dyt), 'backward in place, bit for bit').toEqual(back);
        // the transpose: ⟨rope(x), dy⟩ = ⟨x, ropeBackward(dy)⟩
        let [lhs, rhs, norm] = [0, 0, 0];
        for (let i = 0; i < n; i++) {
          lhs += got[i] * dy[i];
          rhs += x[i] * back[i];
          norm += Math.abs(x[i] * dy[i]);
        }
        expect(Math.abs(lhs - rhs) / norm).toBeLessThan(1e-6);
      });
    }

    it('rope at offset 0 leaves position 0 unrotated, and NaN stays in its pair', async () => {
      const [B, T, C, nh] = [1, 2, 8, 2];
      const x = uniform(B * T * C, 3);
      x[C + 5] = NaN; // token 1, head 1, column 1 of 4: pairs with column 3
      const tables = ropeTables(4, 2, 10000);
      const out = poisoned([B, T, C]);
      b.rope(up(x, [B, T, C]), up(tables.cos, tables.shape), up(tables.sin, tables.shape), nh, 0, out);
      const got = await f32(out);
      expect(Array.from(got.slice(0, C))).toEqual(Array.from(x.slice(0, C)));
      expect(Array.from(got.slice(C), Number.isNaN)).toEqual([false, false, false, false, false, true, false, true]);
    });

    for (const n of [1, 7, 4099, 70001]) {
      it(`siluMul and its gradient, n=${n}`, async () => {
        const [gate, u, dy] = [uniform(n, 61, -12, 12), uniform(n, 62, -2, 2), uniform(n, 63)];
        const out = poisoned([n]);
        b.siluMul(up(gate, [n]), up(u, [n]), out);
        expectClose(await f32(out), siluMul64(gate, u), F32, 'siluMul');
        const [dGate, dUp] = [poisoned([n]), poisoned([n])];
        b.siluMulBackward(up(dy, [n]), up(gate, [n]), up(u, [n]), dGate, dUp);
        const g = siluMulBackward64(dy, gate, u);
        expectClose(await f32(dGate), g.dGate, F32, 'dGate');
        expectClose(await f32(dUp), g.dUp, F32, 'dUp');
      });
    }

    it('gelu_new and its gradient on [−12, 12]', async () => {
      const n = 4099;
      const x = Float32Array.from({ length: n }, (_, i) => -12 + (24 * i) / (n - 1));
      const dy = uniform(n, 64);
      const [out, dx] = [poisoned([n]), poisoned([n])];
      b.geluTanh(up(x, [n]), out);
      b.geluTanhBackward(up(dy, [n]), up(x, [n]), dx);
      expectClose(await f32(out), Array.from(x, geluTanh64), F32, 'geluTanh');
      expectClose(
        await f32(dx),
        Array.from(x, (v, i) => dy[i] * geluTanhGrad64(v)),
        F32,
        'geluTanh grad',
      );
    });

    for (const [R, C, start, W] of [
      [1, 1, 0, 1],
      [5, 96, 32, 32],
      [7, 13, 12, 1],
      [300, 12, 0, 12],
    ]) {
      it(`sliceColumns and addColumns, [${R}, ${C}] columns ${start}..${start + W - 1}`, async () => {
        const x = uniform(R * C, R + C);
        const out = poisoned([R, W]);
        b.sliceColumns(up(x, [R, C]), start, out);
        const want = Float32Array.from({ length: R * W }, (_, q) => x[Math.floor(q / W) * C + start + (q % W)]!);
        expect(await f32(out)).toEqual(want);
        const [d, dx0] = [uniform(R * W, 3), uniform(R * C, 4)];
        const dx = up(dx0, [R, C]);
        b.addColumns(dx, start, up(d, [R, W]));
        const sum = Float32Array.from(dx0);
        for (let q = 0; q < R * W; q++) sum[Math.floor(q / W) * C + start + (q % W)] += d[q]!;
        expect(await f32(dx)).toEqual(sum);
      });
    }

    it('silu and gelu_new stay finite and exact in both tails (no overflow to inf/inf)', async () => {
      const x = Float32Array.from(LARGE);
      const n = x.length;
      const ones = new Float32Array(n).fill(1);
      const [s, ds, du, g, dg] = [poisoned([n]), poisoned([n]), poisoned([n]), poisoned([n]), poisoned([n])];
      b.siluMul(up(x, [n]), up(ones, [n]), s);
      b.siluMulBackward(up(ones, [n]), up(x, [n]), up(ones, [n]), ds, du);
      b.geluTanh(up(x, [n]), g);
      b.geluTanhBackward(up(ones, [n]), up(x, [n]), dg);
      const [silu, dSilu, dUp, gelu, dGelu] = await Promise.all([s, ds, du, g, dg].map(f32));
      const ref = siluMulBackward64(ones, x, ones);
      x.forEach((v, i) => {
        for (const [what, got, want] of [
          ['silu', silu[i], siluMul64([v], [1])[0]],
          ['dGate', dSilu[i], ref.dGate[i]],
          ['dUp', dUp[i], ref.dUp[i]],
          ['gelu_new', gelu[i], geluTanh64(v)],
          ['gelu_new grad', dGelu[i], geluTanhGrad64(v)],
        ] as const) {
          expect(Number.isFinite(got), `${what}(${v}) = ${got}`).toBe(true);
          // relative to the float64 value, within what WGSL allows exp (3 + 2|x| ulp) in the tails;
          // an exp below float32's normal range (2^−126) may flush to 0
          const rel = Math.max(F32, (3 + 2 * Math.abs(v)) * 2 ** -23);
          expect(Math.abs(got - want), `${what}(${v}) = ${got}, float64 ${want}`).toBeLessThanOrEqual(
            Math.abs(want) * rel + 1e-35,
          );
        }
      });
    });
  });
}
