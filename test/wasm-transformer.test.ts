// The shared transformer and decoder case tables on the wasm backend (plain and relaxed SIMD builds), plus what it checks beyond the table:
// ViT-B sized attention heads, GELU's relative accuracy in the far negative tail, and errors.

import { describe, expect, it } from 'vitest';
import { BackendError } from '../src/backend.js';
import { uniform } from '../src/reference/random.js';
import { attention64, attentionBackward64 } from '../src/reference/transformer64.js';
import { createWasmBackend } from '../src/wasm/backend.js';
import { expectClose } from './support/close.js';
import { describeDecoderBackend } from './support/decoder-suite.js';
import { SIMD_PATHS } from './support/simd.js';
import { describeTransformerBackend } from './support/transformer-suite.js';

for (const simd of SIMD_PATHS) {
  describeTransformerBackend(`wasm, ${simd} SIMD`, () => createWasmBackend({ simd }));
  describeDecoderBackend(`wasm, ${simd} SIMD`, () => createWasmBackend({ simd }));
}

/** erfc by its continued fraction (x ≥ 2), accurate where 1 − erf(x) is not. */
function erfcTail(x: number): number {
  let f = x;
  for (let n = 200; n >= 1; n--) f = x + n / 2 / f;
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
}

describe('wasm transformer specifics', () => {
  it('attention at ViT-B head sizes: T = 197, 12 heads of 64', async () => {
    const b = await createWasmBackend();
    const [B, T, D, nh] = [1, 197, 768, 12];
    const n = B * T * D;
    const [q, k, v, dOut] = [uniform(n, 31, -2, 2), uniform(n, 32, -2, 2), uniform(n, 33), uniform(n, 34)];
    const [qt, kt, vt] = [b.upload(q, [B, T, D]), b.upload(k, [B, T, D]), b.upload(v, [B, T, D])];
    const [out, probs] = [b.zeros([B, T, D]), b.zeros([B, nh, T, T])];
    b.attention(qt, kt, vt, nh, out, probs);
    const ref = attention64(q, k, v, B, T, D, nh);
    expectClose((await b.read(out)) as Float32Array, ref.out, 1e-5, 'out');
    expectClose((await b.read(probs)) as Float32Array, ref.probs, 1e-5, 'probs');
    const [dq, dk, dv] = [b.zeros([B, T, D]), b.zeros([B, T, D]), b.zeros([B, T, D])];
    b.attentionBackward(b.upload(dOut, [B, T, D]), qt, kt, vt, probs, nh, dq, dk, dv);
    const g = attentionBackward64(dOut, q, k, v, B, T, D, nh);
    expectClose((await b.read(dq)) as Float32Array, g.dq, 1e-5, 'dq');
    expectClose((await b.read(dk)) as Float32Array, g.dk, 1e-5, 'dk');
    expectClose((await b.read(dv)) as Float32Array, g.dv, 1e-5, 'dv');
    b.destroy();
  });

  it('GELU keeps its relative accuracy in the negative tail (Φ through erfc)', async () => {
    const b = await createWasmBackend();
    const x = Float32Array.from({ length: 901 }, (_, i) => -12 + (9 * i) / 900); // [−12, −3]
    const [out, dx] = [b.zeros([x.length]), b.zeros([x.length])];
    b.gelu(b.upload(x, [x.length]), out);
    b.geluBackward(b.upload(new Float32Array(x.length).fill(1), [x.length]), b.upload(x, [x.length]), dx);
    const [o, d] = [(await b.read(out)) as Float32Array, (await b.read(dx)) as Float32Array];
    x.forEach((xi, i) => {
      const cdf = erfcTail(-xi / Math.SQRT2) / 2;
      const refOut = xi * cdf;
      const refGrad = cdf + (xi * Math.exp(-0.5 * xi * xi)) / Math.sqrt(2 * Math.PI);
      expect(Math.abs(o[i] - refOut) / Math.abs(refOut), `gelu(${xi})`).toBeLessThan(2e-7);
      // the gradient cancels (Φ ≈ −x·φ): allow the cancellation's loss on top of float32 rounding
      expect(Math.abs(d[i] - refGrad), `gelu'(${xi})`).toBeLessThan(1e-6 * Math.abs(xi * Math.exp(-0.5 * xi * xi)) + 1e-45);
    });
    b.destroy();
  });

  it('dropout with p = 1 drops everything; bad arguments are clear errors', async () => {
    const b = await createWasmBackend();
    const x = b.upload(uniform(40, 1), [4, 10]);
    const out = b.upload(new Float32Array(40).fill(NaN), [4, 10]);
    b.dropout(x, 1, 3, out);
    expect([...((await b.read(out)) as Float32Array)].every((v) => v === 0)).toBe(true);
    b.dropPath(x, 1, 3, out);
    expect([...((await b.read(out)) as Float32Array)].every((v) => v === 0)).toBe(true);
    expect(() => b.dropout(x, 1.5, 3, out)).toThrow(/^dropout: p must be a number in \[0, 1\], got 1.5$/);
    expect(() => b.dropout(x, 0.1, 0.5, out)).toThrow(/^dropout: seed must be an integer/);
    expect(() => b.dropout(x, 0.1, 1, x)).toThrow(/^dropout: out and x are the same tensor/);

    const t = b.zeros([2, 5, 12]);
    expect(() => b.attention(t, t, t, 5, b.zeros([2, 5, 12]), b.zeros([2, 5, 5, 5]))).toThrow(
      /^attention: heads must be a positive integer dividing the feature dimension D = 12 .*, got 5$/,
    );
    expect(() => b.attention(t, t, t, 3, b.zeros([2, 5, 12]), b.zeros([2, 3, 5, 4]))).toThrow(
      /^attention: probs is f32\[2, 3, 5, 4\], expected 150 f32 elements$/,
    );

    const logits = b.zeros([2, 3]);
    const args = [b.zeros([1]), b.zeros([2, 3]), b.zeros([1], 'u32')] as const;
    b.softmaxCrossEntropy(logits, b.upload(new Uint32Array([0, 3]), [2], 'u32'), ...args); // label 3 of 3 classes: the loss is NaN
    expect((await b.read(args[0]))[0]).toBeNaN();
    expect(() => b.softmaxCrossEntropy(logits, b.zeros([2]), ...args)).toThrow(
      /^softmaxCrossEntropy: labels is f32\[2\], expected a u32 tensor$/,
    );

    const [ln, mean, rstd] = [b.zeros([3, 4]), b.zeros([3]), b.zeros([3])];
    expect(() => b.layerNorm(ln, b.zeros([4]), b.zeros([4]), 1e-6, ln, mean, rstd)).toThrow(BackendError);
    expect(() => b.layerNorm(b.zeros([3, 4]), b.zeros([4]), b.zeros([4]), 1e-6, ln, mean, mean)).toThrow(
      /^layerNorm: mean and rstd are the same tensor/,
    );
    const p = b.zeros([8]);
    const hp = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, step: 0 };
    expect(() => b.adamw(p, b.zeros([8]), b.zeros([8]), b.zeros([8]), null, hp)).toThrow(/^adamw: step must be an integer ≥ 1/);
    expect(() => b.adamw(p, b.zeros([8]), b.zeros([8]), b.zeros([8]), null, { ...hp, step: 1, beta2: 1 })).toThrow(
      /^adamw: beta2 must be a number in \[0, 1\), got 1$/,
    );
    expect(() => b.poolTokens(t, 'max' as never, b.zeros([2, 12]))).toThrow(/^poolTokens: unknown pooling mode "max"/);
    b.destroy();
  });
});
