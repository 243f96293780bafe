// The `lm_block_llama_*`, `lm_block_gpt2_*` and `lm_train_llama_*` golden vectors (test/vectors/
// README.md, "Text transformers"): one decoder layer with SNELL branches beside its projections
// (forward, the input's and every branch's gradient, the kept counts), and a tiny causal LM whose
// branches train with AdamW on one batch (every step's loss, the final branch values), through the
// same layers and model the package builds. The branches are those the file holds adapter tensors
// for, by PEFT target name. Each runner returns the per-output errors and problems.

import { IGNORE_LABEL, type Backend, type Tensor } from '../backend.js';
import type { NamedArray } from '../core/weights.js';
import { AdapterConfigError } from '../adapter/config.js';
import { SafetensorsError } from '../io/safetensors.js';
import {
  type DecoderArch,
  type DecoderConfig,
  type DecoderPlan,
  layerPrefix,
  PROJECTIONS,
  targetNames,
} from '../model/decoder/config.js';
import { DecoderLM } from '../model/decoder/lm.js';
import { singleDecoderLayer } from '../model/decoder/single-layer.js';
import { AdamW } from '../train/adamw.js';
import { relL2, TOLERANCE } from './compare.js';
import { type CaseOutcome, TRAIN_TOLERANCE } from './model-cases.js';
import { type VectorReader, vectorReader } from './vector-reader.js';

/** The decoder's config from a vector's metadata (its field names are transformers' config.json's). */
function configOf(r: VectorReader, T: number): DecoderConfig {
  const arch = r.meta('arch') as DecoderArch;
  if (arch !== 'llama' && arch !== 'gpt2') r.fail(`metadata "arch" is ${JSON.stringify(arch)}; expected llama or gpt2`);
  const hidden = r.int('hidden_size');
  const heads = r.int('num_attention_heads');
  const llama = arch === 'llama';
  return {
    arch,
    vocabSize: r.int('vocab_size', 1),
    hidden,
    layers: r.int('num_hidden_layers', 1),
    heads,
    kvHeads: llama ? r.int('num_key_value_heads', heads) : heads,
    headDim: r.int('head_dim', hidden / heads),
    // GPT-2's config.json writes n_inner null for the default 4·hidden
    intermediate: llama ? r.int('intermediate_size') : r.meta('n_inner', null) === null ? 4 * hidden : r.int('n_inner'),
    normEps: r.num(llama ? 'rms_norm_eps' : 'layer_norm_epsilon'),
    ropeTheta: llama ? r.num('rope_theta') : null,
    attentionBias: llama ? r.meta('attention_bias', false) === true : true,
    outputBias: llama ? r.meta('o_proj_bias', false) === true : true,
    mlpBias: llama ? r.meta('mlp_bias', false) === true : true,
    tieWordEmbeddings: r.meta('tie_word_embeddings', arch === 'gpt2') === true,
    maxPositions: T,
  };
}

/**
 * PEFT's target names of the projections the file holds adapters for (`param.<prefix(l)><path>.snell.In_Qs`),
 * which must be the same projections in every layer: the plan adapts by name, as target_modules does.
 */
function adaptedTargets(r: VectorReader, c: DecoderConfig, prefix: (l: number) => string): string[] {
  const last = (path: string) => path.split('.').pop()!;
  const has = (l: number, path: string) => r.st.has(`param.${prefix(l)}${path}.snell.In_Qs`);
  const projections = PROJECTIONS[c.arch];
  const targets = targetNames(c.arch).filter((t) => projections.some((p) => last(p.path) === t && has(0, p.path)));
  if (targets.length === 0) r.fail(`holds no adapter: no tensor "param.${prefix(0)}<projection>.snell.In_Qs"`);
  for (let l = 0; l < c.layers; l++) {
    for (const p of projections) {
      if (has(l, p.path) === targets.includes(last(p.path))) continue;
      r.fail(
        `"${prefix(l)}${p.path}" ${has(l, p.path) ? 'has' : 'lacks'} an adapter while the adapters of layer 0 give the ` +
          `targets ${targets.join(', ')}: every layer must adapt the projections of the same target names`,
      );
    }
  }
  return targets;
}

function planOf(r: VectorReader, c: DecoderConfig, prefix: (l: number) => string): DecoderPlan {
  const method = r.meta('tuning_model', 'snell');
  if (method !== 'snell') r.fail(`metadata "tuning_model" is ${JSON.stringify(method)}; expected snell`);
  const sparsity = r.num('init_thres');
  return {
    method: sparsity === 0 ? 'klora' : 'snell',
    rank: r.int('q_dim'),
    kernelHeads: r.int('num_Hs', 2),
    sparsity,
    targets: adaptedTargets(r, c, prefix),
  };
}

function lengthsOf(r: VectorReader, B: number, T: number): number[] {
  const lengths = r.meta('lengths', Array(B).fill(T)) as number[];
  if (!Array.isArray(lengths) || lengths.length !== B || lengths.some((n) => !Number.isInteger(n) || n < 1 || n > T))
    r.fail(`metadata "lengths" must hold ${B} integers in [1, ${T}]`);
  return lengths;
}

function compare(name: string, ours: ArrayLike<number>, ref: ArrayLike<number>, tol: number, out: CaseOutcome): number {
  const err = relL2(ours, ref);
  if (!(err <= tol)) out.problems.push(`${name} relative error ${err.toExponential(2)} > ${tol}`);
  return err;
}

/** Rewraps configuration errors (shapes, ranks) as errors naming the vector file. */
function named<T>(file: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof AdapterConfigError || e instanceof RangeError) throw new SafetensorsError(file, e.message);
    throw e;
  }
}

export async function runLmBlockCase(backend: Backend, bytes: Uint8Array, file: string): Promise<CaseOutcome> {
  const r = vectorReader(bytes, file);
  const [B, T] = [r.int('batch'), r.int('seq_len')];
  const config = configOf(r, T);
  const prefix = layerPrefix(config.arch, 0);
  const weights = new Map<string, NamedArray>([...r.under('param.')].map(([k, v]) => [prefix + k, v]));
  const x = r.tensor('x', true);
  const E = config.hidden;
  if (x.data.length !== B * T * E) r.fail(`tensor "x" has shape [${x.shape.join(', ')}], expected [${B}, ${T}, ${E}]`);
  const plan = planOf(r, config, () => '');
  const layer = named(file, () => singleDecoderLayer(backend, config, weights, plan));
  const adapted = layer.linears.filter((lin) => lin.adapted);
  const b = layer.backend;
  try {
    const out: CaseOutcome = { errors: [], problems: [] };
    const xt = b.upload(x.data, [B, T, E]);
    const y = layer.forward(xt, lengthsOf(r, B, T), true);
    const dx = layer.backward(b.upload(r.tensor('g', true).data, [B, T, E]));
    const f32 = async (t: Tensor) => (await b.read(t)) as Float32Array;
    const ey = compare('y', await f32(y), r.tensor('y').data, TOLERANCE.output, out);
    const edx = compare('grad.x', await f32(dx), r.tensor('grad.x').data, TOLERANCE.output, out);
    out.errors.push(`y=${ey.toExponential(1)} grad.x=${edx.toExponential(1)}`);
    const kept = r.meta('kept', null) as Record<string, number> | null;
    let worst = 0;
    let keptOk = 0;
    for (const lin of adapted) {
      const path = lin.name.slice(prefix.length);
      const a = lin.adapted!;
      for (const [factor, p] of [
        ['In_Qs', a.A],
        ['Out_Qs', a.B],
      ] as const) {
        worst = Math.max(
          worst,
          compare(
            `grad.${path}.snell.${factor}`,
            await f32(p.grad!),
            r.tensor(`grad.${path}.snell.${factor}`).data,
            TOLERANCE.output,
            out,
          ),
        );
      }
      if (kept) {
        const ws = (await lin.branchUpdate())!;
        const count = ws.reduce((n, v) => n + (v !== 0 ? 1 : 0), 0);
        if (count === kept[path]) keptOk++;
        else out.problems.push(`${path} keeps ${count} entries, expected ${kept[path]}`);
      }
    }
    out.errors.push(`branch grads worst=${worst.toExponential(1)}${kept ? ` kept ${keptOk}/${adapted.length} exact` : ''}`);
    return out;
  } finally {
    layer.dispose();
  }
}

export async function runLmTrainCase(backend: Backend, bytes: Uint8Array, file: string): Promise<CaseOutcome> {
  const r = vectorReader(bytes, file);
  const [B, T, steps] = [r.int('batch'), r.int('seq_len'), r.int('steps')];
  const config = configOf(r, T);
  const opt = r.meta('optimizer') as { name?: string; lr?: number; weight_decay?: number; betas?: number[]; eps?: number };
  if (opt?.name !== 'AdamW' || typeof opt.lr !== 'number') r.fail('metadata "optimizer" must describe AdamW with lr');
  const ints = (name: string) => {
    const t = r.tensor(name, true);
    if (t.data.length !== B * T || t.data.some((v) => !Number.isInteger(v)))
      r.fail(`tensor "${name}" must hold ${B}×${T} integers`);
    return t.data;
  };
  const ids = Int32Array.from(ints('input_ids'));
  const labels = Uint32Array.from(ints('labels'), (v) => (v === -100 ? IGNORE_LABEL : v));
  const losses = r.tensor('losses');
  if (losses.data.length !== steps) r.fail(`tensor "losses" has ${losses.data.length} values for ${steps} steps`);
  const plan = planOf(r, config, (l) => layerPrefix(config.arch, l));
  const model = named(file, () => new DecoderLM(backend, config, r.under('param.'), { plan, seed: 0 }));
  const b = model.backend;
  try {
    const optimizer = new AdamW(b, model.ledger, model.params(), {
      lr: opt.lr!,
      beta1: opt.betas?.[0] ?? 0.9,
      beta2: opt.betas?.[1] ?? 0.999,
      eps: opt.eps ?? 1e-8,
      weightDecay: opt.weight_decay ?? 0.01,
      maxGradNorm: null,
    });
    const batch = { ids, shape: [B, T] as const, lengths: lengthsOf(r, B, T) };
    const lt = b.upload(labels, [B * T], 'u32');
    const out: CaseOutcome = { errors: [], problems: [] };
    let worstLoss = 0;
    const ours: number[] = [];
    for (let s = 0; s < steps; s++) {
      const logits = model.forward(batch, true);
      const [loss, dLogits, correct] = [b.zeros([1]), b.zeros(logits.shape), b.zeros([1], 'u32')];
      b.tokenCrossEntropy(logits, lt, loss, dLogits, correct);
      model.backward(dLogits);
      optimizer.step();
      const l = ((await b.read(loss)) as Float32Array)[0]!;
      ours.push(l);
      const err = Math.abs(l - losses.data[s]!) / Math.abs(losses.data[s]!);
      worstLoss = Math.max(worstLoss, err);
      if (!(err <= TRAIN_TOLERANCE))
        out.problems.push(`step ${s} loss ${l} vs ${losses.data[s]} (relative ${err.toExponential(2)} > ${TRAIN_TOLERANCE})`);
      for (const t of [logits, loss, dLogits, correct]) b.free(t);
    }
    out.errors.push(`losses worst=${worstLoss.toExponential(1)} (${ours[0]!.toFixed(4)}→${ours[steps - 1]!.toFixed(4)})`);
    let worst = 0;
    const params = model.params();
    for (const p of params) {
      const ref = `final.${p.name}`;
      if (!r.st.has(ref)) r.fail(`tensor "${ref}" is missing (a trained tensor)`);
      worst = Math.max(worst, compare(ref, (await b.read(p.tensor)) as Float32Array, r.tensor(ref).data, TRAIN_TOLERANCE, out));
    }
    out.errors.push(`final branches worst=${worst.toExponential(1)} (${params.length} tensors)`);
    return out;
  } finally {
    model.dispose();
  }
}
