// AdamW over several tensors with global gradient-norm clipping, against the float64 reference, and
// the learning-rate schedule's shape.

import { describe, expect, it } from 'vitest';
import { MemoryLedger, tracked } from '../src/model/memory.js';
import type { Param } from '../src/model/param.js';
import { uniform } from '../src/reference/random.js';
import { adamw64 } from '../src/reference/transformer64.js';
import { AdamW } from '../src/train/adamw.js';
import { learningRate } from '../src/train/schedule.js';
import { createWasmBackend } from '../src/wasm/backend.js';
import { expectClose } from './support/close.js';

describe('AdamW with clipping', () => {
  it('clips the global norm across tensors, skips decay where asked, and frees the gradients', async () => {
    const ledger = new MemoryLedger();
    const b = tracked(await createWasmBackend(), ledger);
    const sizes = [7, 300, 1];
    const values = sizes.map((n, i) => uniform(n, 10 + i));
    const grads = sizes.map((n, i) => uniform(n, 20 + i, -3, 3));
    const params: Param[] = sizes.map((n, i) => ({
      name: `p${i}`,
      tensor: b.upload(values[i], [n]),
      decay: i !== 1,
      grad: null,
    }));
    const opt = new AdamW(b, ledger, params, {
      lr: 0.01,
      beta1: 0.9,
      beta2: 0.99,
      eps: 1e-8,
      weightDecay: 0.1,
      maxGradNorm: 0.5,
    });
    const norm = Math.sqrt(grads.reduce((a, g) => a + g.reduce((s, v) => s + v * v, 0), 0));
    expect(norm).toBeGreaterThan(0.5);
    const scale = Math.min(1, 0.5 / (norm + 1e-6));
    let state = values.map((v) => ({ p: Float64Array.from(v), m: new Float64Array(v.length), v: new Float64Array(v.length) }));
    for (let t = 1; t <= 3; t++) {
      params.forEach((p, i) => (p.grad = ledger.within('gradients', () => b.upload(grads[i], [sizes[i]]))));
      opt.step();
      state = state.map((s, i) => adamw64(s.p, grads[i], s.m, s.v, 0.01, 0.9, 0.99, 1e-8, i !== 1 ? 0.1 : 0, t, scale));
    }
    for (const [i, p] of params.entries()) expectClose((await b.read(p.tensor)) as Float32Array, state[i].p, 1e-6, p.name);
    expect(params.every((p) => p.grad === null)).toBe(true);
    expect(ledger.report().live.gradients).toBe(0);
    b.destroy();
  });
});

describe('learning-rate schedule', () => {
  const s = { lr: 1e-3, minLr: 1e-5, warmup: 10, warmupFrom: 0, total: 110, perEpoch: false };
  it('warms up linearly, then decays along a cosine to minLr', () => {
    expect(learningRate(s, 0, 0)).toBeCloseTo(1e-4, 12);
    expect(learningRate(s, 9, 0)).toBeCloseTo(1e-3, 12);
    expect(learningRate(s, 10, 0)).toBeCloseTo(1e-3, 12);
    expect(learningRate(s, 60, 3)).toBeCloseTo(1e-5 + 0.5 * (1e-3 - 1e-5), 12);
    expect(learningRate(s, 110, 5)).toBeCloseTo(1e-5, 12);
    for (let t = 11; t < 110; t++) expect(learningRate(s, t, 0)).toBeLessThan(learningRate(s, t - 1, 0));
    expect(learningRate({ ...s, warmupFrom: 1e-6 }, 0, 0)).toBeCloseTo(1e-6 + (1e-3 - 1e-6) / 10, 12);
  });

  it("per epoch, as timm 0.5.4's CosineLRScheduler stepped after each epoch (the reference's train.py)", () => {
    const e = { lr: 1e-3, minLr: 1e-5, warmup: 10, warmupFrom: 1e-6, total: 100, perEpoch: true };
    // epoch 0 at warmup_lr_init; epoch e ≥ 1 at the scheduler's value for t = e − 1
    expect(learningRate(e, 0, 0)).toBe(1e-6);
    expect(learningRate(e, 999, 1)).toBe(1e-6);
    expect(learningRate(e, 5, 2)).toBeCloseTo(1e-6 + 0.999e-3 / 10, 15);
    expect(learningRate(e, 0, 11)).toBeCloseTo(9.757729756e-4, 12); // t = 10: 1e-5 + 495e-6·(1 + cos(π/10))
    expect(learningRate(e, 0, 51)).toBeCloseTo(5.05e-4, 15); // t = 50: halfway down the cosine
    expect(learningRate(e, 0, 100)).toBeGreaterThan(1e-5);
  });
});
