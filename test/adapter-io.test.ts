// Adapters on disk: save → load gives the same outputs for every method, merging into the base gives
// the adapted model's outputs within 1e-5 in the base's naming, the sparse delta reproduces the merge,
// the PyTorch export has exactly the reference's names and shapes, and bad adapters are refused clearly.

import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../src/backend.js';
import { exportReferenceState, loadAdapter, readTrainables, saveAdapter, saveReferenceState } from '../src/io/adapter.js';
import { type LoadedCheckpoint, loadCheckpoint } from '../src/io/checkpoint.js';
import { applySparseDelta, saveMerged, saveSparseDelta } from '../src/io/merge.js';
import { SafetensorsFile } from '../src/io/safetensors.js';
import { encodeSafetensors } from '../src/io/safetensors-write.js';
import { type BlobFolder, blobFolder } from '../src/io/source-blob.js';
import { DEFAULT_PLAN, type TuningPlan, type ViTConfig, targetsMatching } from '../src/model/config.js';
import { initViTWeights } from '../src/model/init.js';
import type { Weights } from '../src/core/weights.js';
import { ViT } from '../src/model/vit.js';
import { uniform } from '../src/reference/random.js';
import type { Dataset } from '../src/core/dataset.js';
import { Trainer } from '../src/train/trainer.js';
import { createWasmBackend } from '../src/wasm/backend.js';
import { checkpointFiles, hfConfigJson, hfTensors, timmConfigJson, timmTensors, tinyWeights } from './support/vit-files.js';
import { VECTORS_DIR } from './support/vectors.js';

const VECTORS = VECTORS_DIR;
const weights = tinyWeights();
const data: Dataset = {
  size: 4,
  sampleShape: [4, 12],
  get: (idx) => ({ inputs: uniform(idx.length * 48, idx[0] + 1), labels: Uint32Array.from(idx, (i) => (i * 3) % 5) }),
};
const input = uniform(3 * 48, 21);

async function bytesOf(folder: BlobFolder, file: string) {
  return SafetensorsFile.parse(new Uint8Array(await folder.files.get(file)!.arrayBuffer()), file);
}

describe('adapter I/O', () => {
  let b: Backend;
  let timm: LoadedCheckpoint;
  let hf: LoadedCheckpoint;
  beforeAll(async () => {
    b = await createWasmBackend();
    timm = await loadCheckpoint(blobFolder(checkpointFiles(timmTensors(weights), timmConfigJson)));
    hf = await loadCheckpoint(blobFolder(checkpointFiles(hfTensors(weights, 2), hfConfigJson)));
  });
  afterAll(() => b.destroy());

  const logits = async (model: ViT) => {
    const x = b.upload(input, [3, 4, 12]);
    const out = (await b.read(model.forward(x, false))) as Float32Array;
    b.free(x);
    return out;
  };
  const evaluate = async (config: ViTConfig, w: Weights, plan: TuningPlan | null) => {
    const model = new ViT(b, config, w, { plan, seed: 99 });
    const out = await logits(model);
    model.dispose();
    return out;
  };
  /** A model trained for two steps on `base` (branches, head and cls_token all move away from their init). */
  const trained = async (base: LoadedCheckpoint, plan: TuningPlan | null) => {
    const model = new ViT(b, base.config, base.weights, { plan, seed: 3 });
    await new Trainer(model).fit(data, { epochs: 1, batchSize: 2, lr: 1e-2 });
    return model;
  };
  const maxDiff = (a: Float32Array, c: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - c[i])), 0);

  const plans: Array<[string, TuningPlan]> = [
    ['snell', { ...DEFAULT_PLAN, rank: 4, sparsity: 0.5 }],
    [
      'snella',
      { ...DEFAULT_PLAN, method: 'snella', rank: 4, sparsity: 0.7, targets: targetsMatching('q|v|fc1'), blocks: [1, 2] },
    ],
    ['klora', { ...DEFAULT_PLAN, method: 'klora', rank: 6, kernelHeads: 3, sparsity: 0 }],
    ['lora', { ...DEFAULT_PLAN, method: 'lora', rank: 4, kernelHeads: 1, sparsity: 0 }],
    ['dense', { ...DEFAULT_PLAN, method: 'dense', targets: targetsMatching('proj|fc2') }],
  ];

  for (const [name, plan] of plans) {
    it(`${name}: save → load gives the same outputs; merge and the sparse delta match within 1e-5`, async () => {
      const model = await trained(timm, plan);
      const adapted = await logits(model);
      // the branches matter: the same model without them is far more than 1e-5 away
      const headOnly = new Map(timm.weights);
      for (const [n, t] of await readTrainables(model)) if (!n.includes('.learnable.')) headOnly.set(n, t);
      expect(maxDiff(await evaluate(timm.config, headOnly, null), adapted)).toBeGreaterThan(1e-3);
      const folder = blobFolder({}, 'adapter');
      await saveAdapter(folder, model, { baseModel: 'tiny-test', baseNaming: 'timm' });
      for (const base of [timm, hf]) {
        const loaded = await loadAdapter(folder, base);
        expect(loaded.plan).toEqual({ ...plan, blocks: plan.blocks ?? [0, 2] });
        expect(await evaluate(loaded.config, loaded.weights, loaded.plan)).toEqual(adapted);
      }
      for (const base of [timm, hf]) {
        const out = blobFolder({}, 'merged');
        await saveMerged(out, model, base);
        const merged = await loadCheckpoint(out);
        expect(merged.layout).toEqual(base.layout);
        const names = Object.keys(Object.fromEntries((await bytesOf(out, 'model.safetensors')).entries));
        expect(names.sort()).toEqual([...(base === timm ? timmTensors(weights) : hfTensors(weights, 2)).keys()].sort());
        expect(maxDiff(await evaluate(merged.config, merged.weights, null), adapted)).toBeLessThan(1e-5);
      }
      const sparse = blobFolder({}, 'sparse');
      await saveSparseDelta(sparse, 'delta.safetensors', model);
      const file = await bytesOf(sparse, 'delta.safetensors');
      const layer = plan.method === 'dense' ? 'blocks.0.attn.proj' : 'blocks.1.attn.q';
      expect(file.entries.get(`${layer}.indices`)!.dtype).toBe('U32');
      expect(file.entries.get(`${layer}.values`)!.dtype).toBe('F32');
      if (name === 'snell') expect(file.entries.get(`${layer}.values`)!.shape[0]).toBeLessThanOrEqual((24 * 24) / 2); // s = 0.5 keeps half
      const applied = await applySparseDelta(timm.weights, file);
      expect(maxDiff(await evaluate(timm.config, applied, null), adapted)).toBeLessThan(1e-5);
      model.dispose();
    });
  }

  it('adapter files: PEFT-like names and config fields', async () => {
    const plan: TuningPlan = { ...DEFAULT_PLAN, rank: 4, blocks: [1, 2] };
    const model = await trained(timm, plan);
    const folder = blobFolder({}, 'adapter');
    await saveAdapter(folder, model, { baseModel: 'org/vit-tiny', baseNaming: 'timm' });
    const cfg = JSON.parse(await folder.files.get('adapter_config.json')!.text());
    expect(cfg).toMatchObject({
      peft_type: 'SNELL',
      method: 'snell',
      kernel: 'distance',
      r: 4,
      kernel_heads: 2,
      sparsity: 0.9,
      coeff: [Math.fround(0.1), Math.fround(-0.1)],
      target_modules: ['q', 'k', 'v', 'proj', 'fc1', 'fc2'],
      block_range: [1, 2],
      base_model_name_or_path: 'org/vit-tiny',
      base_naming: 'timm',
      modules_to_save: ['head', 'cls_token'],
      num_classes: 5,
      tensor_prefix: 'base_model.model.',
    });
    const f = await bytesOf(folder, 'adapter_model.safetensors');
    expect(f.metadata).toEqual({ format: 'pt' });
    const shapes = Object.fromEntries([...f.entries].map(([n, e]) => [n, e.shape]));
    expect(shapes).toMatchObject({
      'base_model.model.blocks.1.attn.additional_q.learnable.In_Qs': [2, 24, 2],
      'base_model.model.blocks.1.mlp.additional_fc1.learnable.Out_Qs': [2, 96, 2],
      'base_model.model.blocks.1.mlp.additional_fc2.learnable.shared_coeff_fc': [2, 1, 1],
      'base_model.model.head.weight': [5, 24],
      'base_model.model.head.bias': [5],
      'base_model.model.cls_token': [1, 1, 24],
    });
    expect(Object.keys(shapes)).toHaveLength(6 * 3 + 3);
    model.dispose();
  });

  it('the PyTorch export has exactly the reference state-dict names and shapes (train_tiny_vit_trunk)', async () => {
    const ref = SafetensorsFile.parse(
      new Uint8Array(readFileSync(`${VECTORS}/train_tiny_vit_trunk.safetensors`)),
      'train_tiny_vit_trunk',
    );
    const refShapes = Object.fromEntries(
      [...ref.entries].filter(([n]) => n.startsWith('final.')).map(([n, e]) => [n.slice(6), e.shape]),
    );
    expect(Object.keys(refShapes).some((n) => n.includes('.learnable.'))).toBe(true);
    const m = ref.metadata;
    const config: ViTConfig = {
      dim: +m.dim,
      depth: +m.depth,
      heads: +m.heads,
      mlpRatio: 4,
      classes: 5,
      tokens: +m.tokens,
      patchDim: null,
      pooling: 'mean',
      eps: 1e-6,
    };
    const w = new Map([...ref.entries.keys()].filter((n) => n.startsWith('param.')).map((n) => [n.slice(6), ref.tensor(n)]));
    const model = new ViT(b, config, w, { plan: { ...DEFAULT_PLAN, rank: 8 }, seed: 0 });
    const state = await exportReferenceState(model);
    expect(Object.fromEntries([...state].map(([n, t]) => [n, t.shape]))).toEqual(refShapes);
    expect([...state.get('blocks.0.attn.additional_q.learnable.In_Qs')!.data]).toEqual([
      ...ref.tensor('param.blocks.0.attn.additional_q.learnable.In_Qs').data,
    ]);
    const folder = blobFolder({}, 'export');
    await saveReferenceState(folder, 'snell_state.safetensors', model);
    expect([...(await bytesOf(folder, 'snell_state.safetensors')).entries.keys()].sort()).toEqual(Object.keys(refShapes).sort());
    model.dispose();
  });

  it('the SNELLA export names match the reference block (alpha, gamma, beta [1])', async () => {
    const ref = SafetensorsFile.parse(
      new Uint8Array(readFileSync(`${VECTORS}/block_snella_d32.safetensors`)),
      'block_snella_d32',
    );
    const refShapes = Object.fromEntries(
      [...ref.entries]
        .filter(([n]) => n.startsWith('param.') && n.includes('.learnable.'))
        .map(([n, e]) => [`blocks.0.${n.slice(6)}`, e.shape]),
    );
    const config: ViTConfig = {
      dim: 32,
      depth: 1,
      heads: 4,
      mlpRatio: 4,
      classes: 3,
      tokens: 5,
      patchDim: null,
      pooling: 'mean',
      eps: 1e-6,
    };
    const model = new ViT(b, config, initViTWeights(config, 1), {
      plan: { ...DEFAULT_PLAN, method: 'snella', rank: 8, sparsity: 0.8 },
      seed: 0,
    });
    const state = await exportReferenceState(model);
    const learnable = Object.fromEntries([...state].filter(([n]) => n.includes('.learnable.')).map(([n, t]) => [n, t.shape]));
    expect(learnable).toEqual(refShapes);
    model.dispose();
    const lora = new ViT(b, config, initViTWeights(config, 1), { plan: { ...DEFAULT_PLAN, method: 'lora' }, seed: 0 });
    await expect(exportReferenceState(lora)).rejects.toThrow(/snell, klora and snella branches only, not lora: use saveAdapter/);
    lora.dispose();
  });

  it('a linear probe saves head and cls_token alone; full fine-tuning refuses an adapter but merges', async () => {
    const probe = await trained(timm, null);
    const folder = blobFolder({}, 'probe');
    await saveAdapter(folder, probe);
    const loaded = await loadAdapter(folder, hf);
    expect(loaded.plan).toBeNull();
    expect(await evaluate(loaded.config, loaded.weights, null)).toEqual(await logits(probe));
    probe.dispose();
    const full = await trained(hf, { ...DEFAULT_PLAN, method: 'full' });
    await expect(saveAdapter(blobFolder(), full)).rejects.toThrow(/full fine-tuning trains every weight: save a checkpoint/);
    const out = blobFolder({}, 'merged');
    await saveMerged(out, full, hf);
    const merged = await loadCheckpoint(out);
    expect(maxDiff(await evaluate(merged.config, merged.weights, null), await logits(full))).toBeLessThan(1e-5);
    full.dispose();
  });

  describe('bad adapters are refused, naming the file and the problem', () => {
    let good: BlobFolder;
    beforeAll(async () => {
      const model = await trained(timm, { ...DEFAULT_PLAN, rank: 4 });
      good = blobFolder({}, 'adapter');
      await saveAdapter(good, model);
      model.dispose();
    });
    const edited = async (
      editConfig: (c: Record<string, unknown>) => void,
      editTensors?: (t: Map<string, { shape: number[]; data: Float32Array }>) => void,
    ) => {
      const cfg = JSON.parse(await good.files.get('adapter_config.json')!.text());
      editConfig(cfg);
      const f = await bytesOf(good, 'adapter_model.safetensors');
      const tensors = new Map([...f.entries.keys()].map((n) => [n, f.tensor(n)]));
      editTensors?.(tensors);
      return blobFolder(
        {
          'adapter_config.json': new TextEncoder().encode(JSON.stringify(cfg)),
          'adapter_model.safetensors': encodeSafetensors(tensors),
        },
        'adapter',
      );
    };
    const cases: Array<[string, () => Promise<BlobFolder>, RegExp]> = [
      [
        'another peft_type',
        () =>
          edited((c) => {
            c.peft_type = 'LORA';
          }),
        /adapter\/adapter_config.json: peft_type is "LORA", not "SNELL"/,
      ],
      [
        'an unknown method',
        () =>
          edited((c) => {
            c.method = 'dora';
          }),
        /method "dora" is not one of/,
      ],
      [
        'a rank that disagrees with the tensors',
        () =>
          edited((c) => {
            c.r = 8;
          }),
        /adapter\/adapter_model.safetensors: tensor "base_model.model.blocks.0.attn.additional_q.learnable.In_Qs" has shape \[2, 24, 2\], but adapter_config.json and the base model imply \[2, 24, 4\]/,
      ],
      [
        'a base of another width',
        () =>
          edited((c) => {
            (c.vit as Record<string, unknown>).dim = 32;
          }),
        /was trained on a ViT with D = 32, depth 2; the base has D = 24, depth 2/,
      ],
      [
        'a block range past the base',
        () =>
          edited((c) => {
            c.block_range = [0, 5];
          }),
        /block_range \[0,5\] is not \[first, last\) within the base's 2 blocks/,
      ],
      [
        'a missing tensor',
        () =>
          edited(
            () => {},
            (t) => t.delete('base_model.model.blocks.1.mlp.additional_fc2.learnable.Out_Qs'),
          ),
        /has no tensor "base_model.model.blocks.1.mlp.additional_fc2.learnable.Out_Qs" \(shape \[2, 24, 2\] expected by adapter_config.json\)/,
      ],
      [
        'an extra tensor',
        () =>
          edited((c) => {
            c.target_modules = ['q'];
          }),
        /tensor "base_model.model.blocks.0.attn.additional_k.learnable.In_Qs" is not part of this adapter/,
      ],
      ['no config', async () => blobFolder({}, 'adapter'), /adapter\/adapter_config.json: not found: not an adapter folder/],
    ];
    for (const [what, folder, message] of cases) {
      it(what, async () => {
        await expect(loadAdapter(await folder(), timm)).rejects.toThrow(message);
      });
    }
  });
});
