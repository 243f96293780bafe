// SNELLA's allocator inside the Trainer (Wasm, a tiny ViT): every re-mask's sparsities reach the
// adapters' forward pass (the entries each branch keeps are the allocation's k_l, counted from the
// branch's own update), the kept total stays within each epoch's budget and shrinks to the target's,
// the averages are counted in the allocator pool, a model selected at its best epoch carries that
// epoch's sparsities, a saved adapter brings them back, and what the allocator cannot serve is refused.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../src/backend.js';
import type { Dataset } from '../src/core/dataset.js';
import { loadAdapter, saveAdapter } from '../src/io/adapter.js';
import { blobFolder } from '../src/io/source-blob.js';
import { LINEAR_NAMES, type TuningPlan } from '../src/model/config.js';
import { ViT } from '../src/model/vit.js';
import { uniform } from '../src/reference/random.js';
import { ALLOCATOR_DEFAULTS, type LayerAllocation } from '../src/train/allocation.js';
import { Trainer } from '../src/train/trainer.js';
import { createWasmBackend } from '../src/wasm/backend.js';
import { tinyConfig, tinyWeights } from './support/vit-files.js';

const plan: TuningPlan = {
  method: 'snella',
  rank: 4,
  kernelHeads: 2,
  sparsity: 0.01,
  targets: LINEAR_NAMES,
  branchDropout: 0,
  branchDropPath: 0,
};
const data: Dataset = {
  size: 12,
  sampleShape: [4, 12],
  get: (idx) => ({
    inputs: Float32Array.from(idx.flatMap((i) => [...uniform(48, i + 1)])),
    labels: Uint32Array.from(idx, (i) => (i * 3) % 5),
  }),
};
const allocator = { ...ALLOCATOR_DEFAULTS, targetSparsity: 0.8 };
const EPOCHS = 4;

/** Entries each adapted branch keeps now: the non-zeros of its update Ws, in the model's layer order. */
async function keptCounts(model: ViT): Promise<number[]> {
  const out: number[] = [];
  for (const l of model.blocks.flatMap((b) => b.linears)) {
    if (!l.adapted) continue;
    const ws = (await l.branchUpdate())!;
    out.push(ws.reduce((n, v) => n + (v !== 0 ? 1 : 0), 0));
  }
  return out;
}

describe("SNELLA's allocator in training (wasm)", () => {
  let b: Backend;
  beforeAll(async () => {
    b = await createWasmBackend({ threads: 1 });
  });
  afterAll(() => b.destroy());

  const fit = async (extra: Partial<Parameters<Trainer['fit']>[1]> = {}) => {
    const model = new ViT(b, tinyConfig, tinyWeights(), { plan, seed: 5 });
    const trainer = new Trainer(model);
    const allocations: LayerAllocation[] = [];
    const epochs = await trainer.fit(data, {
      epochs: EPOCHS,
      batchSize: 4,
      lr: 5e-2,
      allocator,
      onAllocation: (a) => allocations.push(a),
      ...extra,
    });
    return { model, trainer, allocations, epochs };
  };

  it('each re-mask sets what every branch keeps, within the shrinking budget', async () => {
    const { model, allocations, epochs } = await fit();
    const volumes = model.adaptedLayers().map((l) => l.dIn * l.dOut);
    expect(allocations.map((a) => a.epoch)).toEqual([0, 1, 2, 3]);
    expect(allocations.map((a) => a.remask)).toEqual([false, true, true, true]);
    expect(epochs.map((e) => e.allocation?.epoch)).toEqual([0, 1, 2, 3]);
    // b0 and bT as the README defines them, in float64
    const total = volumes.reduce((a, n) => a + n, 0);
    expect(allocations[0]!.budget).toBeCloseTo(0.99 * total, 9);
    expect(allocations[3]!.budget).toBe(Math.floor(0.2 * total + 0.79 * total * (1 - 3 / 4) ** 3));
    for (const a of allocations.slice(1)) {
      const kept = a.kept!;
      expect(kept.reduce((x, y) => x + y, 0)).toBeLessThanOrEqual(a.budget);
      expect(kept.reduce((x, y) => x + y, 0)).toBeGreaterThan(a.budget - kept.length);
      a.sparsity.forEach((s, l) => expect(s).toBe(Math.min(Math.max(1 - kept[l]! / volumes[l]!, 0), 1)));
    }
    // the last allocation is what the branches apply now; at s = 0 (k = N) SNELLA still drops the minimum
    const applied = allocations[3]!.kept!.map((k, l) => (k === volumes[l] ? k - 1 : k));
    expect(await keptCounts(model)).toEqual(applied);
    expect(new Set(allocations[3]!.sparsity).size).toBeGreaterThan(1);
    // two float32 averages per factor entry and a counter, in their own pool
    const factors = model.adaptedLayers().reduce((n, l) => n + l.A.tensor.size + l.B.tensor.size, 0);
    expect(model.memory().live.allocator).toBe(4 * 2 * factors + 4);
    model.dispose();
  });

  it('a model selected at its best epoch carries that epoch’s sparsities, and a saved adapter restores them', async () => {
    const { model, trainer, allocations } = await fit({ validation: data, keepBest: true });
    const best = trainer.best!;
    expect(best.sparsity).toEqual(allocations[best.epoch]!.sparsity);
    expect(model.adaptedLayers().map((l) => l.sparsity)).toEqual(best.sparsity);
    const folder = blobFolder();
    await saveAdapter(folder, model);
    const loaded = await loadAdapter(folder, { weights: tinyWeights(), config: tinyConfig });
    const again = new ViT(b, loaded.config, loaded.weights, { plan: loaded.plan, seed: 5 });
    expect(again.adaptedLayers().map((l) => l.sparsity)).toEqual(best.sparsity);
    expect(await keptCounts(again)).toEqual(await keptCounts(model));
    model.dispose();
    again.dispose();
  });

  it('refuses what the allocator cannot serve, naming the fix', async () => {
    const snell = new ViT(b, tinyConfig, tinyWeights(), { plan: { ...plan, method: 'snell', sparsity: 0.5 }, seed: 5 });
    await expect(new Trainer(snell).fit(data, { epochs: 1, batchSize: 4, allocator })).rejects.toThrow(
      /moves sparsity between snella adapters; this model's adapters are snell: train with the snella method/,
    );
    snell.dispose();
    const snella = new ViT(b, tinyConfig, tinyWeights(), { plan, seed: 5 });
    await expect(new Trainer(snella).fit(data, { epochs: 1, batchSize: 4, allocator, maxGradNorm: 1 })).rejects.toThrow(
      /drop maxGradNorm \(--max-grad-norm\) or the allocator/,
    );
    await expect(
      new Trainer(snella).fit(data, { epochs: 1, batchSize: 4, allocator: { ...allocator, interval: 0 } }),
    ).rejects.toThrow(/re-mask interval must be a whole number ≥ 1, got 0/);
    snella.dispose();
    expect(
      () =>
        new ViT(b, tinyConfig, tinyWeights(), {
          plan: { ...plan, layerSparsity: { 'blocks.9.attn.additional_q.learnable': 0.5 } },
          seed: 5,
        }),
    ).toThrow(/sets the sparsity of blocks.9.attn.additional_q.learnable, which carry no branch here/);
  });
});
