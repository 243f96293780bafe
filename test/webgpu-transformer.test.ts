// The transformer primitives on the WebGPU backend (Dawn via the `webgpu` package; Mesa lavapipe where
// no GPU exists): the shared transformer and decoder case tables against the float64 reference, plus what this backend has to
// get right on its own: ViT-sized attention, 2-D grids above 65535 workgroups, deterministic reductions,
// one submission per step, GELU's erf accuracy, the hash masks, and the errors it raises.

import { create, globals } from 'webgpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackendError } from '../src/backend.js';
import type { Tensor } from '../src/backend.js';
import { createWebGpuBackend, type WebGpuBackend } from '../src/webgpu/backend.js';
import { uniform } from '../src/reference/random.js';
import {
  attention64,
  attentionBackward64,
  gelu64,
  geluGrad64,
  hashUniform,
  layerNormBackward64,
  softmaxCrossEntropy64,
} from '../src/reference/transformer64.js';
import { describeDecoderBackend } from './support/decoder-suite.js';
import { describeTransformerBackend } from './support/transformer-suite.js';
import { expectClose } from './support/close.js';

Object.assign(globalThis, globals);
const gpu = create([]);

describeTransformerBackend('webgpu', () => createWebGpuBackend(gpu));
describeDecoderBackend('webgpu', () => createWebGpuBackend(gpu));

describe('webgpu transformer specifics', () => {
  let b: WebGpuBackend;
  beforeAll(async () => {
    b = (await createWebGpuBackend(gpu)) as WebGpuBackend;
  });
  afterAll(() => b?.destroy());
  const f32 = async (t: Tensor) => (await b.read(t)) as Float32Array;
  const up = (data: Float32Array, shape: number[]) => b.upload(data, shape);
  const poisoned = (shape: number[]) => b.upload(new Float32Array(shape.reduce((x, y) => x * y, 1)).fill(NaN), shape);

  const attentionCase = async (B: number, T: number, D: number, nh: number, tol: number) => {
    const n = B * T * D;
    const [q, k, v, dOut] = [uniform(n, 31, -2, 2), uniform(n, 32, -2, 2), uniform(n, 33), uniform(n, 34)];
    const [out, probs] = [poisoned([B, T, D]), poisoned([B, nh, T, T])];
    const [qt, kt, vt] = [up(q, [B, T, D]), up(k, [B, T, D]), up(v, [B, T, D])];
    b.attention(qt, kt, vt, nh, out, probs);
    const [dq, dk, dv] = [poisoned([B, T, D]), poisoned([B, T, D]), poisoned([B, T, D])];
    b.attentionBackward(up(dOut, [B, T, D]), qt, kt, vt, probs, nh, dq, dk, dv);
    const ref = attention64(q, k, v, B, T, D, nh);
    const g = attentionBackward64(dOut, q, k, v, B, T, D, nh);
    expectClose(await f32(out), ref.out, tol, 'out');
    expectClose(await f32(probs), ref.probs, tol, 'probs');
    expectClose(await f32(dq), g.dq, tol, 'dq');
    expectClose(await f32(dk), g.dk, tol, 'dk');
    expectClose(await f32(dv), g.dv, tol, 'dv');
  };

  it('attention at ViT-B size (T = 197, 12 heads of 64) and past the workgroup width (T = 300, hd = 96)', async () => {
    await attentionCase(1, 197, 768, 12, 1e-5);
    await attentionCase(1, 300, 192, 2, 1e-5);
  });

  it('attention edge rules across tiles: a NaN query makes only its row NaN, T = 1 gives P = 1, reruns agree bit for bit', async () => {
    const [B, T, D, nh] = [1, 70, 10, 2]; // T past one 64-key tile, hd = 5
    const q = uniform(B * T * D, 47, -2, 2);
    q[40 * D + 7] = NaN; // token 40, head 1
    const [qt, kv] = [up(q, [B, T, D]), up(uniform(B * T * D, 48, -2, 2), [B, T, D])];
    const runs: Float32Array[] = [];
    for (let i = 0; i < 2; i++) {
      const [out, probs] = [poisoned([B, T, D]), poisoned([B, nh, T, T])];
      b.attention(qt, kv, kv, nh, out, probs);
      runs.push(await f32(probs));
    }
    expect(runs[1]).toEqual(runs[0]);
    runs[0].forEach((p, i) => expect(Number.isNaN(p)).toBe(Math.floor(i / T) === T + 40)); // row 40 of head 1
    const one = poisoned([3, 2, 1, 1]);
    b.attention(
      up(uniform(3 * 8, 49), [3, 1, 8]),
      up(uniform(3 * 8, 50), [3, 1, 8]),
      up(uniform(3 * 8, 51), [3, 1, 8]),
      2,
      poisoned([3, 1, 8]),
      one,
    );
    expect(Array.from(await f32(one))).toEqual([1, 1, 1, 1, 1, 1]);
  });

  it('dispatches above 65535 workgroups run on a 2-D grid (attention rows, LayerNorm rows, cross-entropy rows)', async () => {
    await attentionCase(33000, 2, 4, 2, 1e-5); // 66 000 (b, h) blocks of query or key rows
    const [R, D] = [70001, 3];
    const x = uniform(R * D, 35, -2, 3);
    const [w, dy] = [uniform(D, 36, 0.5, 1.5), uniform(R * D, 37)];
    const [mean, rstd, out, dx] = [poisoned([R]), poisoned([R]), poisoned([R, D]), poisoned([R, D])];
    const dw = b.zeros([D]);
    b.layerNorm(up(x, [R, D]), up(w, [D]), b.zeros([D]), 1e-5, out, mean, rstd);
    b.layerNormBackward(up(dy, [R, D]), up(x, [R, D]), up(w, [D]), mean, rstd, dx, dw, null);
    const g = layerNormBackward64(dy, x, w, R, D, 1e-5);
    expectClose(await f32(dx), g.dx, 1e-5, 'dx');
    expectClose(await f32(dw), g.dw, 1e-5, 'dw');
    const [Bx, C] = [66000, 3];
    const logits = uniform(Bx * C, 38, -4, 4);
    const labels = Uint32Array.from({ length: Bx }, (_, i) => i % C);
    const [loss, dl, correct] = [poisoned([1]), poisoned([Bx, C]), b.zeros([1], 'u32')];
    b.softmaxCrossEntropy(up(logits, [Bx, C]), b.upload(labels, [Bx], 'u32'), loss, dl, correct);
    const ref = softmaxCrossEntropy64(logits, labels, Bx, C);
    expectClose(await f32(loss), [ref.loss], 1e-5, 'loss');
    expectClose(await f32(dl), ref.dLogits, 1e-5, 'dLogits');
    expect((await b.read(correct))[0]).toBe(ref.correct);
  });

  it('GELU: Φ to float32 accuracy (|error| ≤ 1.5e-7), relative L2 ≤ 1e-6 on normal inputs', async () => {
    const n = 200001;
    const x = Float32Array.from({ length: n }, (_, i) => -12 + (24 * i) / (n - 1));
    const [out, dx] = [poisoned([n]), poisoned([n])];
    b.gelu(up(x, [n]), out);
    b.geluBackward(up(new Float32Array(n).fill(1), [n]), up(x, [n]), dx);
    const [o, d] = [await f32(out), await f32(dx)];
    let worst = 0;
    for (let i = 0; i < n; i++) {
      if (Math.abs(x[i]) < 0.5) continue; // Φ = out/x loses accuracy as x → 0
      worst = Math.max(worst, Math.abs(o[i] / x[i] - gelu64(x[i]) / x[i]));
    }
    expect(worst).toBeLessThanOrEqual(1.5e-7);
    expectClose(d, Array.from(x, geluGrad64), 1e-6, 'gelu grad');
    // Box–Muller normals, scale 3
    const u1 = uniform(n, 39, 1e-7, 1);
    const u2 = uniform(n, 40, 0, 1);
    const z = Float32Array.from(u1, (u, i) => 3 * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * u2[i]));
    b.gelu(up(z, [n]), out);
    b.geluBackward(up(new Float32Array(n).fill(1), [n]), up(z, [n]), dx);
    expectClose(await f32(out), Array.from(z, gelu64), 1e-6, 'gelu normal');
    expectClose(await f32(dx), Array.from(z, geluGrad64), 1e-6, 'gelu grad normal');
    // the lower tail keeps its relative accuracy (Φ from erfc, not 1 + erf, which cancels in float32 and
    // even in gelu64 below x ≈ −8): values from mpmath at 40 digits
    const tail: Array<[number, number]> = [
      [-30, 0],
      [-9, -1.0157295653584566e-18],
      [-5, -1.4332578593959695e-6],
      [-3, -0.0040496940948902835],
      [-1.5, -0.1002108019032871],
    ];
    const edge = new Float32Array([...tail.map(([v]) => v), -Infinity, Infinity, NaN]);
    const eo = poisoned([edge.length]);
    b.gelu(up(edge, [edge.length]), eo);
    const e = await f32(eo);
    tail.forEach(([v, want], i) =>
      expect(Math.abs(e[i] - want), `gelu(${v}) = ${e[i]}`).toBeLessThanOrEqual(1e-5 * Math.abs(want)),
    ); // exp itself: WGSL allows 3 + 2|x| ulp
    expect(e[5]).toBeNaN(); // −inf·0, as torch
    expect(e[6]).toBe(Infinity);
    expect(e[7]).toBeNaN();
  });

  it('reductions are deterministic: repeated runs agree bit for bit', async () => {
    const [R, N] = [12608, 77];
    const x = up(uniform(R * N, 41), [R, N]);
    const runs: Float32Array[] = [];
    for (let i = 0; i < 3; i++) {
      const [s, ss] = [b.zeros([N]), b.zeros([1])];
      b.sumRows(x, s);
      b.sumSquares(x, ss);
      runs.push(Float32Array.from([...(await f32(s)), ...(await f32(ss))]));
    }
    expect(runs[1]).toEqual(runs[0]);
    expect(runs[2]).toEqual(runs[0]);
    const ref = new Float64Array(N);
    const xs = await f32(x);
    xs.forEach((v, i) => (ref[i % N] += v));
    expectClose(runs[0].subarray(0, N), ref, 1e-5, 'sumRows 12608 rows');
  });

  it('a forward/backward/optimizer step is encoded into one submission', async () => {
    const [B, T, D, nh, C] = [2, 5, 16, 2, 3];
    const x = up(uniform(B * T * D, 42), [B, T, D]);
    const w = up(uniform(D, 43), [D]);
    await b.flush();
    const before = b.stats().submissions;
    const [h, mean, rstd, a, probs, pooled] = [
      b.zeros([B, T, D]),
      b.zeros([B * T]),
      b.zeros([B * T]),
      b.zeros([B, T, D]),
      b.zeros([B, nh, T, T]),
      b.zeros([B, D]),
    ];
    b.layerNorm(x, w, w, 1e-6, h, mean, rstd);
    b.attention(h, h, h, nh, a, probs);
    b.poolTokens(a, 'mean', pooled);
    const logits = b.zeros([B, C]);
    b.matmul(pooled, up(uniform(D * C, 44), [D, C]), logits);
    const [loss, dl, correct] = [b.zeros([1]), b.zeros([B, C]), b.zeros([1], 'u32')];
    b.softmaxCrossEntropy(logits, b.upload(new Uint32Array([0, 2]), [B], 'u32'), loss, dl, correct);
    const [ss, f, m, v] = [b.zeros([1]), b.zeros([1]), b.zeros([D]), b.zeros([D])];
    b.sumSquares(w, ss);
    b.clipFactor(ss, 1, f);
    b.adamw(w, w.shape.length ? up(uniform(D, 45), [D]) : w, m, v, f, {
      lr: 1e-3,
      beta1: 0.9,
      beta2: 0.999,
      eps: 1e-8,
      weightDecay: 0.05,
      step: 1,
    });
    expect(b.stats().submissions).toBe(before);
    expect(Number.isFinite((await f32(loss))[0])).toBe(true);
    expect(b.stats().submissions).toBe(before + 1);
  });

  it('dropout masks: large seeds, the hash exactly, p = 1 and non-finite inputs', async () => {
    const n = 100003;
    const x = uniform(n, 46);
    for (const [p, seed] of [
      [0.5, 0xfffffff0],
      [0.3, 7],
      [1e-7, 1],
    ] as const) {
      const out = poisoned([n]);
      b.dropout(up(x, [n]), p, seed, out);
      const o = await f32(out);
      let mismatches = 0;
      for (let i = 0; i < n; i++) if ((o[i] !== 0) !== hashUniform(seed, i) >= p) mismatches++;
      expect(mismatches, `p=${p} seed=${seed}`).toBe(0);
      expectClose(
        o,
        Array.from(x, (v, i) => (hashUniform(seed, i) >= p ? v / (1 - p) : 0)),
        1e-7,
        'dropout values',
      );
    }
    const all = poisoned([n]);
    b.dropout(up(x, [n]), 1, 3, all);
    expect((await f32(all)).every((v) => v === 0)).toBe(true);
    const special = new Float32Array([Infinity, NaN, -Infinity, 1]);
    const out = poisoned([4]);
    b.dropout(up(special, [4]), 0.5, 11, out);
    const o = await f32(out);
    for (let i = 0; i < 4; i++) {
      const kept = hashUniform(11, i) >= 0.5;
      const want = special[i] * (kept ? 2 : 0);
      if (Number.isNaN(want)) expect(o[i]).toBeNaN();
      else expect(o[i]).toBe(want);
    }
  });

  it('cross-entropy: the first maximum wins, an out-of-range label gives NaN', async () => {
    const logits = new Float32Array([1, 3, 3, 0, /* */ 2, 2, 2, 2, /* */ 0, 0, 5, 5]);
    const labels = new Uint32Array([2, 0, 2]);
    const [loss, dl, correct] = [poisoned([1]), poisoned([3, 4]), b.zeros([1], 'u32')];
    b.softmaxCrossEntropy(up(logits, [3, 4]), b.upload(labels, [3], 'u32'), loss, dl, correct);
    expect((await b.read(correct))[0]).toBe(2); // rows 1 and 2 (argmax 1, 0, 2)
    expectClose(await f32(loss), [softmaxCrossEntropy64(logits, labels, 3, 4).loss], 1e-6, 'loss');
    b.softmaxCrossEntropy(up(logits, [3, 4]), b.upload(new Uint32Array([2, 4, 0]), [3], 'u32'), loss, dl, correct);
    expect((await f32(loss))[0]).toBeNaN();
    expect((await b.read(correct))[0]).toBe(0);
  });

  it('AdamW without a gradient scale, and bad hyper-parameters', async () => {
    const n = 257;
    const [p, g] = [uniform(n, 47), uniform(n, 48)];
    const [pt, mt, vt] = [up(p, [n]), b.zeros([n]), b.zeros([n])];
    const hp = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, step: 1 };
    b.adamw(pt, up(g, [n]), mt, vt, null, hp);
    // step 1 from zero moments: p − lr·g/(|g| + eps) = p − lr·sign(g)
    expectClose(
      await f32(pt),
      Array.from(p, (v, i) => v - 1e-2 * Math.sign(g[i])),
      1e-6,
      'param',
    );
    expect(() => b.adamw(pt, up(g, [n]), mt, vt, null, { ...hp, step: 0 })).toThrow(/^adamw: step must be an integer ≥ 1/);
    expect(() => b.adamw(pt, pt, mt, vt, null, hp)).toThrow(/^adamw: param and grad are the same tensor/);
    expect(() => b.adamw(pt, up(g, [n]), mt, vt, null, { ...hp, lr: -1e-2 })).toThrow(
      /^adamw: lr must be a finite number ≥ 0, got -0.01$/,
    );
  });

  it('clear errors for bad shapes, dtypes and aliasing', async () => {
    const x = b.zeros([2, 3, 8]);
    expect(() => b.add(x, b.zeros([5]), b.zeros([48]))).toThrow(BackendError);
    expect(() => b.add(x, x, x)).toThrow(/^add: out and a are the same tensor/);
    expect(() => b.addInto(x, x)).toThrow(/^addInto: out and a are the same tensor/);
    expect(() => b.gelu(x, x)).toThrow(/^gelu: out and x are the same tensor/);
    expect(() => b.addBias(x, b.zeros([3]))).toThrow(/^addBias: bias is f32\[3\], expected 8 f32 elements$/);
    expect(() => b.attention(x, x, x, 3, b.zeros([2, 3, 8]), b.zeros([2, 3, 3, 3]))).toThrow(
      /^attention: heads must be a positive integer dividing the feature dimension D = 8 .*, got 3$/,
    );
    expect(() => b.attention(x, x, x, 2, b.zeros([2, 3, 8]), b.zeros([2, 2, 3, 4]))).toThrow(
      /^attention: probs is f32\[2, 2, 3, 4\], expected 36 f32 elements$/,
    );
    expect(() =>
      b.softmaxCrossEntropy(b.zeros([2, 3]), b.zeros([2]), b.zeros([1]), b.zeros([2, 3]), b.zeros([1], 'u32')),
    ).toThrow(/^softmaxCrossEntropy: labels is f32\[2\], expected a u32 tensor$/);
    expect(() => b.dropout(x, 1.5, 1, b.zeros([2, 3, 8]))).toThrow(/^dropout: p must be a number in \[0, 1\], got 1.5$/);
    expect(() => b.dropout(x, 0.5, 0.5, b.zeros([2, 3, 8]))).toThrow(/^dropout: seed must be an integer/);
    expect(() => b.poolTokens(x, 'max' as never, b.zeros([2, 8]))).toThrow(/^poolTokens: unknown pooling mode "max"/);
    expect(() => b.layerNorm(x, b.zeros([3]), b.zeros([3]), 1e-6, b.zeros([2, 3, 8]), b.zeros([6]), b.zeros([6]))).toThrow(
      /^layerNorm: w is f32\[3\], expected 8 f32 elements$/,
    );
    await b.flush(); // nothing invalid reached the device
  });
});
