// The ViT engine's structure: checkpoint layouts, what trains under each method, the memory pools,
// and clear errors for bad configurations.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../src/backend.js';
import { DEFAULT_PLAN, targetsMatching, type TuningPlan, type ViTConfig } from '../src/model/config.js';
import { estimateMemory } from '../src/train/estimate.js';
import { initViTWeights } from '../src/model/init.js';
import type { NamedArray } from '../src/core/weights.js';
import { ViT } from '../src/model/vit.js';
import { splitQkvWeights } from '../src/io/vit-naming.js';
import { fuseQkv } from './support/vit-files.js';
import { uniform } from '../src/reference/random.js';
import type { Dataset } from '../src/core/dataset.js';
import { Trainer } from '../src/train/trainer.js';
import { createWasmBackend } from '../src/wasm/backend.js';

const config: ViTConfig = {
  dim: 24,
  depth: 3,
  heads: 2,
  mlpRatio: 4,
  classes: 5,
  tokens: 5,
  patchDim: 12,
  pooling: 'cls',
  eps: 1e-6,
};
const weights = initViTWeights(config, 7);
const data: Dataset = {
  size: 4,
  sampleShape: [4, 12],
  get: (idx) => ({ inputs: uniform(idx.length * 48, idx[0] + 1), labels: Uint32Array.from(idx, (i) => i % 5) }),
};

describe('ViT engine', () => {
  let b: Backend;
  beforeAll(async () => {
    b = await createWasmBackend();
  });
  afterAll(() => b.destroy());

  const logits = async (w: Map<string, NamedArray>, plan: TuningPlan | null) => {
    const model = new ViT(b, config, w, { plan, seed: 3 });
    const x = b.upload(data.get([0, 1]).inputs, [2, 4, 12]);
    const out = (await b.read(model.forward(x, false))) as Float32Array;
    model.dispose();
    b.free(x);
    return out;
  };

  it('a fused qkv checkpoint, split by io, and separate q, k, v give identical outputs', async () => {
    const plan = { ...DEFAULT_PLAN, rank: 4 };
    expect(await logits(splitQkvWeights(fuseQkv(weights)), plan)).toEqual(await logits(weights, plan));
  });

  it('refuses fused qkv weights with the way to split them', () => {
    expect(() => new ViT(b, config, fuseQkv(weights), { plan: null, seed: 0 })).toThrow(
      /the weights hold "blocks\.0\.attn\.qkv\.weight", q, k and v fused as a timm file stores them: load the checkpoint with loadCheckpoint, or split them with splitQkvWeights/,
    );
  });

  const trainables = (plan: TuningPlan | null) => {
    const model = new ViT(b, config, weights, { plan, seed: 3 });
    const names = model.params().map((p) => p.name);
    model.dispose();
    return names;
  };

  it('a linear probe trains the head and cls_token alone', () => {
    expect(trainables(null).sort()).toEqual(['cls_token', 'head.bias', 'head.weight']);
  });

  it('targets by name pattern and block range', () => {
    const names = trainables({ ...DEFAULT_PLAN, targets: targetsMatching('q|v'), blocks: [1, 3] });
    expect(names.filter((n) => n.endsWith('In_Qs')).sort()).toEqual([
      'blocks.1.attn.additional_q.learnable.In_Qs',
      'blocks.1.attn.additional_v.learnable.In_Qs',
      'blocks.2.attn.additional_q.learnable.In_Qs',
      'blocks.2.attn.additional_v.learnable.In_Qs',
    ]);
    expect(() => targetsMatching('qkv')).toThrow(/no linear matches "qkv": the names are q, k, v, proj, fc1, fc2/);
  });

  it('full fine-tuning trains every tensor of the checkpoint (fused qkv as its q, k, v parts)', () => {
    const expected = [...weights.keys()].flatMap((k) =>
      k.includes('attn.qkv.') ? ['q', 'k', 'v'].map((p) => k.replace('qkv', p)) : [k],
    );
    expect(trainables({ ...DEFAULT_PLAN, method: 'full' }).sort()).toEqual(expected.sort());
  });

  // trainable elements of one block's branches for D = 24, MLP 96: q, k, v, proj (24→24), fc1 (24→96), fc2 (96→24)
  const pairs = [
    [24, 24],
    [24, 24],
    [24, 24],
    [24, 24],
    [24, 96],
    [96, 24],
  ];
  const headAndCls = 5 * 24 + 5 + 24;
  const cases: Array<[string, TuningPlan, number]> = [
    ['snell r=8', { ...DEFAULT_PLAN, rank: 8 }, 3 * pairs.reduce((a, [n, m]) => a + 2 * (n + m) * 4, 0) + headAndCls],
    [
      'lora r=8',
      { ...DEFAULT_PLAN, method: 'lora', rank: 8, kernelHeads: 1, sparsity: 0 },
      3 * pairs.reduce((a, [n, m]) => a + (n + m) * 8, 0) + headAndCls,
    ],
    ['dense ΔW', { ...DEFAULT_PLAN, method: 'dense' }, 3 * pairs.reduce((a, [n, m]) => a + n * m, 0) + headAndCls],
  ];
  for (const [name, plan, elements] of cases) {
    it(`memory pools after a training step: ${name}`, async () => {
      const model = new ViT(b, config, weights, { plan, seed: 3 });
      await new Trainer(model).fit(data, { epochs: 1, batchSize: 2, lr: 1e-3 });
      const m = model.memory();
      expect(m.live.trainable).toBe(4 * elements);
      expect(m.live.optimizer).toBe(8 * elements);
      expect(m.live.gradients).toBe(0); // consumed by the optimizer
      expect(m.live.activations).toBe(0); // released by backward
      expect(m.peak.gradients).toBe(4 * elements);
      expect(m.peak.activations).toBeGreaterThan(0);
      model.dispose();
    });
  }

  it('the memory estimate equals a real run, pool by pool', async () => {
    for (const plan of [null, { ...DEFAULT_PLAN, rank: 4 }, { ...DEFAULT_PLAN, method: 'full' as const }]) {
      const model = new ViT(b, config, weights, { plan, seed: 3 });
      await new Trainer(model).fit(data, { epochs: 1, batchSize: 4 });
      expect(await estimateMemory(config, plan, 4)).toEqual(model.memory());
      model.dispose();
    }
  });

  it('keepBest ends with the parameters of the best validation epoch; without it, the last', async () => {
    // noisy samples whose class shifts their mean; a high learning rate, so validation accuracy goes up and down
    const sized = (n: number, from: number): Dataset => ({
      size: n,
      sampleShape: [4, 12],
      get: (idx) => {
        const inputs = new Float32Array(idx.length * 48);
        idx.forEach((i, k) =>
          inputs.set(
            uniform(48, from + i + 1).map((v) => v + 0.3 * (i % 5) - 0.6),
            k * 48,
          ),
        );
        return { inputs, labels: Uint32Array.from(idx, (i) => i % 5) };
      },
    });
    const [train, val] = [sized(40, 0), sized(20, 1000)];
    for (const keepBest of [true, false]) {
      const model = new ViT(b, config, weights, { plan: { ...DEFAULT_PLAN, rank: 4 }, seed: 3 });
      const trainer = new Trainer(model);
      const epochs = await trainer.fit(train, { epochs: 6, batchSize: 8, lr: 1e-1, validation: val, keepBest });
      const accuracies = epochs.map((e) => e.validation!.accuracy);
      const now = await trainer.evaluate(val, 8);
      if (keepBest) {
        const best = trainer.best!;
        expect(best.epoch).toBe(accuracies.indexOf(Math.max(...accuracies)));
        expect(best.epoch).toBeLessThan(5); // the restore is exercised: later epochs changed the parameters
        expect(now).toEqual(best.validation);
        for (const p of model.params()) expect(await b.read(p.tensor), p.name).toEqual(best.params.get(p.name));
      } else {
        expect(trainer.best).toBeNull();
        expect(now).toEqual(epochs[5].validation);
      }
      model.dispose();
    }
  });

  it('a label outside the head is refused before any step, with the fix', async () => {
    const model = new ViT(b, config, weights, { plan: null, seed: 3 });
    const bad: Dataset = {
      ...data,
      get: (idx) => ({ ...data.get(idx), labels: Uint32Array.from(idx, (i) => (i === 2 ? 5 : 0)) }),
    };
    await expect(new Trainer(model).fit(bad, { epochs: 1, batchSize: 4 })).rejects.toThrow(
      /label 5 \(sample \d of the batch\) is out of range for the model's 5-class head: labels must be in \[0, 5\)/,
    );
    await expect(new Trainer(model).evaluate(bad, 4)).rejects.toThrow(/label 5 .* out of range/);
    model.dispose();
  });

  it('a non-finite loss stops training at that step, naming it and what to try', async () => {
    const model = new ViT(b, config, weights, { plan: null, seed: 3 });
    const steps: number[] = [];
    const poisoned: Dataset = {
      ...data,
      get: (idx) => ({ ...data.get(idx), inputs: new Float32Array(idx.length * 48).fill(Number.NaN) }),
    };
    const fit = new Trainer(model).fit(poisoned, { epochs: 3, batchSize: 2, onStep: (e) => steps.push(e.step) });
    await expect(fit).rejects.toThrow(
      /the loss at step 1 is NaN: training diverged; try a lower learning rate \(--lr\), gradient clipping/,
    );
    expect(steps).toEqual([]);
    model.dispose();
  });

  it("onNonFinite 'skip' drops the poisoned steps' updates, counts them, and trains on", async () => {
    const model = new ViT(b, config, weights, { plan: null, seed: 3 });
    const skipped: number[] = [];
    // sample 1 is NaN: every batch holding it has a NaN loss
    const poisoned: Dataset = {
      ...data,
      get: (idx) => {
        const batch = data.get(idx);
        idx.forEach((k, j) => k === 1 && batch.inputs.fill(Number.NaN, j * 48, (j + 1) * 48));
        return batch;
      },
    };
    const epochs = await new Trainer(model).fit(poisoned, {
      epochs: 3,
      batchSize: 2,
      onNonFinite: 'skip',
      onSkip: (e) => skipped.push(e.step),
    });
    expect(skipped).toHaveLength(3); // one of the two batches in each epoch
    expect(epochs.map((e) => e.skipped)).toEqual([1, 1, 1]);
    for (const p of model.params())
      expect([...((await b.read(p.tensor)) as Float32Array)].every(Number.isFinite), p.name).toBe(true);
    model.dispose();
  });

  it('bad configurations and checkpoints name the problem', () => {
    expect(() => new ViT(b, { ...config, heads: 5 }, weights, { plan: null, seed: 0 })).toThrow(
      /dim 24 is not divisible by its 5 attention heads/,
    );
    const missing = new Map(weights);
    missing.delete('blocks.2.mlp.fc1.weight');
    expect(() => new ViT(b, config, missing, { plan: null, seed: 0 })).toThrow(
      /no tensor "blocks.2.mlp.fc1.weight" \(shape \[96, 24\] expected\)/,
    );
    const wrong = new Map(weights);
    wrong.set('head.weight', { shape: [7, 24], data: new Float32Array(168) });
    expect(() => new ViT(b, config, wrong, { plan: null, seed: 0 })).toThrow(
      /"head.weight" has shape \[7, 24\], expected \[5, 24\]/,
    );
    expect(() => new ViT(b, config, weights, { plan: { ...DEFAULT_PLAN, rank: 5 }, seed: 0 })).toThrow(
      /rank 5 is not divisible by heads H = 2/,
    );
  });
});
