// Decoder adapters on disk: saveLmAdapter → loadLmAdapter gives back the plan and every tensor, so the
// rebuilt model's logits are the trained one's (and, for SNELL, the float64 reference's on the loaded
// weights); a merged checkpoint loads with no adapter and gives the adapted logits; the PEFT LoRA
// export's lora_B·lora_A added to W0 gives the adapted logits through the float64 reference; bad
// adapters are refused by name, and a refused save leaves the folder as it was; snell merge and export
// take a decoder's folder. Qwen2 (q/k/v biases, grouped-query, untied head) and GPT-2 (Conv1D weights
// [in, out], tied head, bare names).

import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { nodeHost } from '../runtimes/node/host.js';
import { type Command, parseFlags } from '../src/cli/args.js';
import { exportAdapter } from '../src/cli/export.js';
import { merge } from '../src/cli/merge.js';
import type { Backend } from '../src/backend.js';
import type { NamedArray } from '../src/core/weights.js';
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS } from '../src/io/adapter.js';
import { lmAdapterShapes, loadLmAdapter, saveLmAdapter } from '../src/io/lm-adapter.js';
import { loadLmCheckpoint, saveLmCheckpoint } from '../src/io/lm-checkpoint.js';
import { type LmConfig, parseLmConfig } from '../src/io/lm-config.js';
import { saveMergedLm } from '../src/io/lm-merge.js';
import { type LmLayout, lmWeightShapes } from '../src/io/lm-naming.js';
import { peftLoraState } from '../src/io/lm-peft-lora.js';
import { SafetensorsFile } from '../src/io/safetensors.js';
import { blobFolder } from '../src/io/source-blob.js';
import { type DecoderPlan, targetNames } from '../src/model/decoder/config.js';
import { DecoderLM, type DecoderTask } from '../src/model/decoder/lm.js';
import { decoderLogits64 } from '../src/reference/decoder64.js';
import { uniform } from '../src/reference/random.js';
import { createWasmBackend } from '../src/wasm/backend.js';
import { expectClose } from './support/close.js';

const FAMILIES = {
  qwen2: {
    model_type: 'qwen2',
    vocab_size: 53,
    hidden_size: 24,
    intermediate_size: 40,
    num_hidden_layers: 3,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    rms_norm_eps: 1e-6,
    rope_theta: 1000000.0,
    max_position_embeddings: 32,
    tie_word_embeddings: false,
  },
  gpt2: { model_type: 'gpt2', vocab_size: 50, n_embd: 16, n_layer: 3, n_head: 2, n_positions: 12 },
} as const;
type Family = keyof typeof FAMILIES;

interface Base {
  config: LmConfig;
  weights: Map<string, NamedArray>;
  layout: LmLayout;
  sourceConfig: Record<string, unknown>;
}

function baseModel(family: Family, overrides: Record<string, unknown> = {}): Base {
  const sourceConfig = { ...FAMILIES[family], ...overrides };
  const config = parseLmConfig(sourceConfig);
  const weights = new Map<string, NamedArray>();
  [...lmWeightShapes(config)].forEach(([name, shape], i) => {
    const norm = /norm|ln_/.test(name) && name.endsWith('weight');
    const data = uniform(
      shape.reduce((a, d) => a * d, 1),
      200 + i,
      norm ? 0.8 : -0.3,
      norm ? 1.2 : 0.3,
    );
    weights.set(name, { shape, data });
  });
  // GPT-2 as the original files store it: bare GPT2Model names
  const layout = { arch: config.arch, prefix: family === 'gpt2' ? '' : 'model.' };
  return { config, weights, layout, sourceConfig };
}

const PLANS: Record<string, (family: Family) => DecoderPlan> = {
  snell: (f) => ({
    method: 'snell',
    rank: 4,
    kernelHeads: 2,
    sparsity: 0.5,
    targets: f === 'gpt2' ? ['c_attn', 'c_proj'] : ['q_proj', 'v_proj', 'down_proj'],
  }),
  lora: (f) => ({
    method: 'lora',
    rank: 4,
    kernelHeads: 2,
    sparsity: 0,
    targets: targetNames(f === 'gpt2' ? 'gpt2' : 'llama'),
    layers: [1, 3],
  }),
  snella: (f) => {
    const targets = f === 'gpt2' ? ['c_fc'] : ['k_proj', 'up_proj'];
    const prefix = f === 'gpt2' ? 'transformer.h.1.mlp.c_fc' : 'model.layers.1.self_attn.k_proj';
    return {
      method: 'snella',
      rank: 4,
      kernelHeads: 2,
      sparsity: 0.4,
      targets,
      layers: [0, 2],
      layerSparsity: { [`${prefix}.snell`]: 0.8 },
    };
  },
};

/** A model whose every trainable tensor has fresh nonzero values (LoRA's B starts at 0 otherwise). */
function trainedModel(b: Backend, base: Base, plan: DecoderPlan): DecoderLM {
  const probe = new DecoderLM(b, base.config, base.weights, { plan, seed: 1 });
  const weights = new Map(base.weights);
  probe.params().forEach((p, i) => {
    const size = p.tensor.shape.reduce((a, d) => a * d, 1);
    const scalar = /\.(alpha|gamma)$/.test(p.name);
    weights.set(p.name, { shape: [...p.tensor.shape], data: uniform(size, 500 + i, scalar ? 0.5 : -0.3, scalar ? 1.5 : 0.3) });
  });
  probe.dispose();
  return new DecoderLM(b, base.config, weights, { plan, seed: 2 });
}

const [B, T] = [2, 5];
const lengths = [5, 3];
const idsOf = (V: number) => Int32Array.from({ length: B * T }, (_, i) => (i * 7 + 3) % V);

async function logitsOf(model: DecoderLM): Promise<Float32Array> {
  const t = model.forward({ ids: idsOf(model.config.vocabSize), shape: [B, T], lengths }, false);
  const out = (await model.backend.read(t)) as Float32Array;
  model.backend.free(t);
  return out;
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
};

async function editConfig(folder: ReturnType<typeof blobFolder>, edit: (json: Record<string, unknown>) => void) {
  const json = JSON.parse(await folder.files.get(ADAPTER_CONFIG)!.text());
  edit(json);
  folder.files.set(ADAPTER_CONFIG, new Blob([JSON.stringify(json)]));
}

describe('decoder adapters: save, load, merge, PEFT export (wasm)', () => {
  let b: Backend;
  beforeAll(async () => {
    b = await createWasmBackend();
  });
  afterAll(() => b?.destroy());

  for (const family of Object.keys(FAMILIES) as Family[]) {
    for (const [method, planOf] of Object.entries(PLANS)) {
      it(`${family} ${method}: the loaded adapter gives the trained logits; the merged checkpoint gives them without it`, async () => {
        const base = baseModel(family);
        const plan = planOf(family);
        const model = trainedModel(b, base, plan);
        const adapted = await logitsOf(model);
        const plain = new DecoderLM(b, base.config, base.weights, { plan: null, seed: 0 });
        expect(maxDiff(adapted, await logitsOf(plain))).toBeGreaterThan(1e-3);
        plain.dispose();

        const folder = blobFolder();
        await saveLmAdapter(folder, model, { baseModel: `synthetic-${family}` });
        const json = JSON.parse(await folder.files.get(ADAPTER_CONFIG)!.text());
        expect(json).toMatchObject({ peft_type: 'SNELL', task_type: 'CAUSAL_LM', method, r: 4, modules_to_save: null });
        expect(json.layers_to_transform).toEqual(plan.layers ? [plan.layers[0], plan.layers[1] - 1] : [0, 1, 2]);
        if (method === 'snella') expect(json.layer_sparsity).toBeDefined();

        const loaded = await loadLmAdapter(folder, base);
        const { layerSparsity, ...rest } = loaded.plan;
        expect(rest).toEqual({ ...plan, layers: plan.layers ?? [0, 3], layerSparsity: undefined });
        // SNELLA's per-branch sparsities come back for every branch, the plan's where it set none
        if (method === 'snella')
          expect(layerSparsity).toEqual(Object.fromEntries(model.adaptedLayers().map((l) => [l.name, l.sparsity])));
        else expect(layerSparsity).toBeUndefined();
        for (const p of model.params()) {
          expect(loaded.tensors.get(p.name)?.data, p.name).toEqual(await b.read(p.tensor));
          expect(p.name.startsWith(family === 'gpt2' ? 'transformer.h.' : 'model.layers.')).toBe(true);
        }
        const rebuilt = new DecoderLM(b, base.config, loaded.weights, { plan: loaded.plan, seed: 9 });
        expect(await logitsOf(rebuilt)).toEqual(adapted);
        if (method === 'snell') {
          const ref = decoderLogits64(
            loaded.weights,
            base.config,
            idsOf(base.config.vocabSize),
            { B, T, lengths },
            { sparsity: 0.5 },
          );
          expectClose(adapted, ref, 2e-6, `${family} adapted logits against the float64 reference`);
        }
        rebuilt.dispose();

        const out = blobFolder();
        await saveMergedLm(out, model, base);
        const merged = await loadLmCheckpoint(out);
        expect(merged.layout).toEqual(base.layout);
        const c0 = family === 'gpt2' ? 'transformer.h.1.attn.c_attn.weight' : 'model.layers.1.self_attn.v_proj.weight';
        expect(merged.weights.get(c0)!.shape).toEqual(base.weights.get(c0)!.shape);
        const frozen = family === 'gpt2' ? 'transformer.h.1.ln_1.weight' : 'model.layers.1.input_layernorm.weight';
        expect(merged.weights.get(frozen)!.data).toEqual(base.weights.get(frozen)!.data);
        const flat = new DecoderLM(b, merged.config, merged.weights, { plan: null, seed: 0 });
        const d = maxDiff(await logitsOf(flat), adapted);
        expect(d).toBeLessThan(1e-5);
        flat.dispose();
        model.dispose();
      });
    }

    it(`${family}: the PEFT LoRA export is lora_A [r, in], lora_B [out, r] with ΔW = lora_B·lora_A (scaling 1)`, async () => {
      const base = baseModel(family);
      const plan = PLANS.lora!(family);
      const model = trainedModel(b, base, plan);
      const adapted = await logitsOf(model);
      const { config, tensors } = await peftLoraState(model);
      expect(config).toMatchObject({
        peft_type: 'LORA',
        r: 4,
        lora_alpha: 4,
        fan_in_fan_out: family === 'gpt2',
        layers_to_transform: [1, 2],
      });
      const name = family === 'gpt2' ? 'transformer.h.2.mlp.c_fc' : 'model.layers.2.self_attn.k_proj';
      const [dIn, dOut] = family === 'gpt2' ? [16, 64] : [24, 12];
      expect(tensors.get(`base_model.model.${name}.lora_A.weight`)!.shape).toEqual([4, dIn]);
      expect(tensors.get(`base_model.model.${name}.lora_B.weight`)!.shape).toEqual([dOut, 4]);
      // W0 + lora_B·lora_A in float64, as PEFT merges it (transposed onto a Conv1D's [in, out] weight)
      const weights = new Map(base.weights);
      let adaptedCount = 0;
      for (const [key, t] of tensors) {
        if (!key.endsWith('.lora_A.weight')) continue;
        const path = key.slice('base_model.model.'.length, -'.lora_A.weight'.length);
        const A = t.data;
        const Bm = tensors.get(`base_model.model.${path}.lora_B.weight`)!.data;
        const [r, n] = t.shape as [number, number];
        const m = Bm.length / r;
        const w0 = base.weights.get(`${path}.weight`)!;
        const w = Float32Array.from(w0.data);
        for (let o = 0; o < m; o++)
          for (let i = 0; i < n; i++) {
            let acc = 0;
            for (let j = 0; j < r; j++) acc += Bm[o * r + j]! * A[j * n + i]!;
            w[family === 'gpt2' ? i * m + o : o * n + i] += acc;
          }
        weights.set(`${path}.weight`, { shape: w0.shape, data: w });
        adaptedCount++;
      }
      expect(adaptedCount).toBe(2 * (family === 'gpt2' ? 4 : 7));
      const ref = decoderLogits64(weights, base.config, idsOf(base.config.vocabSize), { B, T, lengths });
      expectClose(adapted, ref, 1e-5, `${family} logits of W0 + lora_B·lora_A against the adapted model`);
      model.dispose();

      const sparse = trainedModel(b, base, { ...plan, sparsity: 0.3 });
      await expect(peftLoraState(sparse)).rejects.toThrow(/is sparsified \(sparsity 0.3\).*merge it instead/);
      sparse.dispose();
      const snell = trainedModel(b, base, PLANS.snell!(family));
      await expect(peftLoraState(snell)).rejects.toThrow(/holds LoRA branches, not snell: save the adapter with saveLmAdapter/);
      snell.dispose();
    });
  }

  const OTHER_PLANS: Array<{ family: Family; plan: DecoderPlan; task?: DecoderTask; modules: string[] | null }> = [
    {
      family: 'qwen2',
      plan: { method: 'dense', rank: 1, kernelHeads: 1, sparsity: 0, targets: ['q_proj', 'down_proj'] },
      modules: null,
    },
    {
      family: 'gpt2',
      plan: { method: 'dense', rank: 1, kernelHeads: 1, sparsity: 0, targets: ['c_attn'], layers: [1, 3] },
      modules: null,
    },
    {
      family: 'qwen2',
      plan: { method: 'head', rank: 1, kernelHeads: 1, sparsity: 0, targets: ['q_proj'] },
      modules: ['lm_head'],
    },
    {
      family: 'gpt2',
      plan: { method: 'head', rank: 1, kernelHeads: 1, sparsity: 0, targets: ['c_attn'] },
      task: { kind: 'classify', classes: 3 },
      modules: ['score'],
    },
    { family: 'qwen2', plan: PLANS.snell!('qwen2'), task: { kind: 'classify', classes: 2 }, modules: ['score'] },
    { family: 'gpt2', plan: PLANS.lora!('gpt2'), task: { kind: 'classify', classes: 2 }, modules: ['score'] },
  ];
  for (const { family, plan, task, modules } of OTHER_PLANS) {
    const what = `${family} ${plan.method}${task ? ' classifier' : ''}`;
    it(`${what}: saved and loaded, the rebuilt model's logits are the trained one's`, async () => {
      const base = baseModel(family);
      const probe = new DecoderLM(b, base.config, base.weights, { plan, seed: 1, task });
      const weights = new Map(base.weights);
      probe.params().forEach((p, i) => {
        const size = p.tensor.shape.reduce((a, d) => a * d, 1);
        weights.set(p.name, { shape: [...p.tensor.shape], data: uniform(size, 700 + i, -0.3, 0.3) });
      });
      probe.dispose();
      const model = new DecoderLM(b, base.config, weights, { plan, seed: 2, task });
      const trained = await logitsOf(model);
      const folder = blobFolder();
      await saveLmAdapter(folder, model);
      const json = JSON.parse(await folder.files.get(ADAPTER_CONFIG)!.text());
      expect(json).toMatchObject({ method: plan.method, task_type: task ? 'SEQ_CLS' : 'CAUSAL_LM', modules_to_save: modules });
      const loaded = await loadLmAdapter(folder, base);
      expect(loaded.plan.method).toBe(plan.method);
      const stored = [...loaded.tensors.keys()].filter((n) => !n.endsWith('.shared_coeff_fc'));
      expect(stored.sort()).toEqual(
        model
          .params()
          .map((p) => p.name)
          .sort(),
      );
      for (const p of model.params()) expect(loaded.tensors.get(p.name)!.data, p.name).toEqual(await b.read(p.tensor));
      if (plan.method === 'dense')
        for (const [name, t] of loaded.tensors) {
          expect(name).toMatch(/\.snell\.delta$/);
          expect(t.shape).toEqual(lmAdapterShapes(loaded.plan, base.config).get(name)!.shape);
        }
      const rebuilt = new DecoderLM(b, base.config, loaded.weights, { plan: loaded.plan, seed: 9, task });
      const again = await logitsOf(rebuilt);
      expect(again).toEqual(trained);
      // the adapter's tensors matter: the base alone (a fresh score for a classifier) gives other logits
      const plain = new DecoderLM(b, base.config, base.weights, { plan: null, seed: 0, task });
      expect(maxDiff(await logitsOf(plain), trained)).toBeGreaterThan(1e-3);
      for (const m of [model, rebuilt, plain]) m.dispose();
    });
  }

  it('refuses adapters that do not fit the base, naming the field or the tensor and both shapes', async () => {
    const qwen = baseModel('qwen2');
    const model = trainedModel(b, qwen, PLANS.snell!('qwen2'));
    const folder = blobFolder({}, 'adapter');
    await saveLmAdapter(folder, model);
    model.dispose();

    await expect(loadLmAdapter(folder, baseModel('gpt2'))).rejects.toThrow(
      /adapter\/adapter_config.json: was trained on a llama \(decoder.arch\); the base is a gpt2 model/,
    );
    await expect(loadLmAdapter(folder, baseModel('qwen2', { intermediate_size: 48 }))).rejects.toThrow(
      /tensor "base_model.model.model.layers.0.mlp.down_proj.snell.In_Qs" has shape \[2, 40, 2\], but adapter_config.json and the base model imply \[2, 48, 2\]/,
    );
    await expect(loadLmAdapter(folder, baseModel('qwen2', { num_hidden_layers: 2 }))).rejects.toThrow(
      /layers_to_transform \[0,1,2\] must list consecutive layer indices within the base's 2 layers/,
    );
    const cases: Array<[(j: Record<string, unknown>) => void, RegExp]> = [
      [(j) => (j.method = 'dora'), /method "dora" is not one of snell, klora, snella, lora/],
      [
        (j) => (j.method = 'full'),
        /method "full" trains every weight and is saved as a checkpoint: load it with loadLmCheckpoint/,
      ],
      [(j) => (j.target_modules = ['c_attn']), /target_modules \["c_attn"\] must name llama projections: q_proj, k_proj/],
      [(j) => (j.r = 5), /r 5 is not divisible by kernel_heads 2/],
      [(j) => (j.layer_sparsity = { x: 0.5 }), /layer_sparsity is SNELLA's \(method snella\), not snell's: remove it/],
    ];
    for (const [edit, message] of cases) {
      const bad = blobFolder(Object.fromEntries(folder.files));
      await editConfig(bad, edit);
      await expect(loadLmAdapter(bad, qwen)).rejects.toThrow(message);
    }
    const fewer = blobFolder(Object.fromEntries(folder.files));
    await editConfig(fewer, (j) => (j.target_modules = ['q_proj']));
    await expect(loadLmAdapter(fewer, qwen)).rejects.toThrow(
      /tensor "base_model.model.model.layers.0.self_attn.v_proj.snell.In_Qs" is not part of this adapter \(snell on q_proj/,
    );
  });

  it('refuses to save what is no adapter and leaves an existing adapter folder as it was', async () => {
    const base = baseModel('gpt2');
    const model = trainedModel(b, base, PLANS.lora!('gpt2'));
    const folder = blobFolder();
    await saveLmAdapter(folder, model);
    model.dispose();
    const before = await Promise.all(
      [ADAPTER_CONFIG, ADAPTER_WEIGHTS].map(async (f) => new Uint8Array(await folder.files.get(f)!.arrayBuffer())),
    );

    const frozen = new DecoderLM(b, base.config, base.weights, { plan: null, seed: 0 });
    await expect(saveLmAdapter(folder, frozen)).rejects.toThrow(/nothing that trains \(no plan\): there is no adapter to save/);
    frozen.dispose();
    const full = { options: { plan: { method: 'full' } } } as unknown as DecoderLM;
    await expect(saveLmAdapter(folder, full)).rejects.toThrow(
      /full fine-tuning trains every weight: save a checkpoint \(saveLmCheckpoint or saveMergedLm\), not an adapter/,
    );
    const after = await Promise.all(
      [ADAPTER_CONFIG, ADAPTER_WEIGHTS].map(async (f) => new Uint8Array(await folder.files.get(f)!.arrayBuffer())),
    );
    expect(after).toEqual(before);
    expect([...folder.files.keys()].sort()).toEqual([ADAPTER_CONFIG, ADAPTER_WEIGHTS]);
  });

  it('snell merge and export take a decoder checkpoint folder: the merged checkpoint, PEFT LoRA folder', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'snell-lm-cli-'));
    const host = nodeHost();
    const base = baseModel('gpt2');
    await host.files.mkdir(join(dir, 'base'));
    await saveLmCheckpoint(host.files.folder(join(dir, 'base')), base.weights, base.config, base.layout, {
      sourceConfig: base.sourceConfig,
    });
    const model = trainedModel(b, base, PLANS.lora!('gpt2'));
    const adapted = await logitsOf(model);
    const peft = await peftLoraState(model);
    await host.files.mkdir(join(dir, 'adapter'));
    await saveLmAdapter(host.files.folder(join(dir, 'adapter')), model);
    model.dispose();

    const cli = async (command: Command, args: string[]) => {
      const all = ['--model', join(dir, 'base'), '--adapter', join(dir, 'adapter'), '--backend', 'wasm', ...args];
      const { flags, positional } = parseFlags(all, command.flags);
      const lines: string[] = [];
      vi.spyOn(process.stdout, 'write').mockImplementation((s) => lines.push(String(s)) > 0);
      try {
        expect(await command.run(flags, positional, host)).toBe(0);
      } finally {
        vi.restoreAllMocks();
      }
      return lines.join('');
    };
    expect(await cli(merge, ['--out', join(dir, 'merged')])).toMatch(/merged gpt2 checkpoint \(transformers names\) written to/);
    const merged = await loadLmCheckpoint(host.files.folder(join(dir, 'merged')));
    expect(merged.layout.prefix).toBe('');
    const flat = new DecoderLM(b, merged.config, merged.weights, { plan: null, seed: 0 });
    expect(maxDiff(await logitsOf(flat), adapted)).toBeLessThan(1e-5);
    flat.dispose();

    expect(await cli(exportAdapter, ['--format', 'peft', '--out', join(dir, 'peft')])).toMatch(/PEFT LoRA adapter written to/);
    const config = JSON.parse(readFileSync(join(dir, 'peft', ADAPTER_CONFIG), 'utf8'));
    expect(config).toMatchObject({ ...peft.config, base_model_name_or_path: join(dir, 'base') });
    const file = await SafetensorsFile.open(await host.files.open(join(dir, 'peft', ADAPTER_WEIGHTS)), 'peft');
    expect([...file.names].sort()).toEqual([...peft.tensors.keys()].sort());
    const name = 'base_model.model.transformer.h.1.attn.c_attn.lora_B.weight';
    expect((await file.read(name)).data).toEqual(peft.tensors.get(name)!.data);
    await file.close();

    const { flags } = parseFlags(
      ['--model', join(dir, 'base'), '--adapter', join(dir, 'adapter'), '--out', 'x.safetensors'],
      exportAdapter.flags,
    );
    await expect(exportAdapter.run(flags, [], host)).rejects.toThrow(/a decoder language model exports as --format peft/);
  });
});
