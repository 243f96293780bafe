// Training on real images: a small ViT with SNELL branches (dropout and DropPath on) learns 64 MNIST
// digits for 100 steps on the Wasm backend; the loss falls well below its start and frozen weights stay
// bit-identical. WebGPU runs the first steps of the same seeded run (stopped early, which also tests
// stopping) and must give the same losses.

import { beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../src/backend.js';
import { PatchDataset } from '../src/data/images.js';
import { DEFAULT_PLAN, type ViTConfig } from '../src/model/config.js';
import { initViTWeights } from '../src/model/init.js';
import { ViT } from '../src/model/vit.js';
import { Trainer } from '../src/train/trainer.js';
import { createWasmBackend } from '../src/wasm/backend.js';
import { createNodeWebGpu } from './support/backends.js';
import { mnist } from './support/mnist.js';

const config: ViTConfig = {
  dim: 48,
  depth: 2,
  heads: 3,
  mlpRatio: 2,
  classes: 10,
  tokens: 17,
  patchDim: 49,
  pooling: 'mean',
  eps: 1e-6,
};
const images = new PatchDataset(
  mnist('train'),
  7,
  [0.1307],
  [0.3081],
  Array.from({ length: 64 }, (_, i) => i),
);

/** Trains with SNELL-8 (s = 0.5) for 25 epochs (stopping after `steps` if given), returning every step's loss and the frozen tensors before and after. */
async function run(backend: Backend, steps = Infinity) {
  const model = new ViT(backend, config, initViTWeights(config, 1), {
    plan: { ...DEFAULT_PLAN, rank: 8, sparsity: 0.5 },
    seed: 2,
  });
  const frozen = model.ledger.tensorsIn('frozen');
  const before = await Promise.all(frozen.map((t) => backend.read(t)));
  const losses: number[] = [];
  const stop = new AbortController();
  await new Trainer(model).fit(images, {
    epochs: 25,
    batchSize: 16,
    lr: 2e-2,
    weightDecay: 1e-4,
    warmupSteps: 4,
    seed: 3,
    signal: stop.signal,
    onStep: (e) => {
      losses.push(e.loss);
      if (losses.length >= steps) stop.abort();
    },
  });
  const after = await Promise.all(frozen.map((t) => backend.read(t)));
  const memory = model.memory();
  model.dispose();
  return { losses, frozenBefore: before, frozenAfter: after, memory };
}

describe('fine-tuning on MNIST', () => {
  let wasm: Awaited<ReturnType<typeof run>>;
  beforeAll(async () => {
    const backend = await createWasmBackend();
    try {
      wasm = await run(backend);
    } finally {
      backend.destroy();
    }
  });

  it('wasm: the loss falls well below its start', () => {
    const mean = (xs: number[]) => xs.reduce((a, l) => a + l, 0) / xs.length;
    expect(wasm.losses.length).toBe(100);
    const start = mean(wasm.losses.slice(0, 4));
    expect(start).toBeGreaterThan(2);
    expect(mean(wasm.losses.slice(-10))).toBeLessThan(0.6 * start);
  });

  it('wasm: frozen weights are bit-identical, and only trainable tensors have optimizer state', () => {
    expect(wasm.frozenBefore.length).toBeGreaterThan(20);
    wasm.frozenAfter.forEach((a, i) => expect(a).toEqual(wasm.frozenBefore[i]));
    expect(wasm.memory.peak.optimizer).toBe(2 * wasm.memory.peak.trainable);
    expect(wasm.memory.peak.activations).toBeGreaterThan(0);
    expect(wasm.memory.peakTotal).toBeGreaterThanOrEqual(wasm.memory.peak.frozen + wasm.memory.peak.trainable);
  });

  it('wasm: the same seed gives the same losses', async () => {
    const backend = await createWasmBackend();
    try {
      expect((await run(backend, 12)).losses).toEqual(wasm.losses.slice(0, 12));
    } finally {
      backend.destroy();
    }
  });

  it('webgpu: the same seeded run gives the same losses', async () => {
    const backend = await createNodeWebGpu();
    try {
      const gpu = await run(backend, 8);
      expect(gpu.losses.length).toBe(8);
      gpu.losses.forEach((l, i) => expect(Math.abs(l - wasm.losses[i])).toBeLessThan(1e-3 * wasm.losses[i]));
      gpu.frozenAfter.forEach((a, i) => expect(a).toEqual(gpu.frozenBefore[i]));
    } finally {
      backend.destroy();
    }
  });
});
