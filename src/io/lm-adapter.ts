// A decoder language model's trained adapter on disk, PEFT-like: a folder with adapter_config.json and
// adapter_model.safetensors.
//
// Tensor names: "base_model.model." + the weight-map name of each trainable tensor. A branch beside the
// projection P of layer l (e.g. model.layers.3.self_attn.q_proj, transformer.h.0.attn.c_attn) holds
//   P.snell.In_Qs [H, in, r/H], P.snell.Out_Qs [H, out, r/H], P.snell.shared_coeff_fc [H, 1, 1] (the
//   kernel coefficients c_h; distance kernels only), SNELLA's P.snell.alpha, gamma, beta [1], or a
//   dense branch's P.snell.delta [in, out];
// other trainable tensors (a classification head's score.weight, method head's lm_head.weight) keep
// their own names and are listed by module in modules_to_save. Every method but full saves this way.
// adapter_config.json: { peft_type: "SNELL", format_version: 1, task_type: "CAUSAL_LM" | "SEQ_CLS",
// method, r, kernel_heads, sparsity, layer_sparsity (snella, once a branch's sparsity is no longer the
// plan's: each branch's own s by branch name), target_modules (PEFT's names), layers_to_transform
// (the layer indices that carry branches), base_model_name_or_path, modules_to_save, tensor_prefix,
// decoder: { arch, model_type, vocab_size, hidden_size, num_layers, num_heads, num_kv_heads, head_dim,
// intermediate_size } }.

import { defaultCoeff } from '../adapter/config.js';
import type { NamedArray, Weights } from '../core/weights.js';
import {
  branchMethod,
  DECODER_METHODS,
  type DecoderConfig,
  type DecoderMethod,
  type DecoderPlan,
  layerPrefix,
  PROJECTIONS,
  targetNames,
} from '../model/decoder/config.js';
import type { DecoderLM } from '../model/decoder/lm.js';
import type { Linear } from '../model/linear.js';
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS } from './adapter.js';
import { readJson } from './checkpoint.js';
import { CheckpointError } from './errors.js';
import { SafetensorsFile } from './safetensors.js';
import { writeSafetensors } from './safetensors-write.js';
import { type Folder, writeText } from './source.js';

export const LM_TENSOR_PREFIX = 'base_model.model.';
/** A branch tensor's weight-map name: `<projection>.snell.<tensor>`. */
export const LM_BRANCH_TENSOR = /\.snell\.[^.]+$/;
const DISTANCE = new Set<string>(['snell', 'snella', 'klora']);
const shapeText = (s: readonly number[]) => `[${s.join(', ')}]`;
const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

/** The projections of `model` that carry a branch. */
export function lmBranchLinears(model: DecoderLM): Linear[] {
  return model.layers.flatMap((l) => l.linears).filter((l) => l.branchSpec !== null);
}

/** Every tensor an adapter of `model` holds, by weight-map name: the trainables and each distance branch's c_h. */
export async function lmAdapterTensors(model: DecoderLM): Promise<Map<string, NamedArray>> {
  const method = model.options.plan?.method as string | undefined;
  if (method === 'full')
    throw new CheckpointError(
      'adapter',
      'full fine-tuning trains every weight: save a checkpoint (saveLmCheckpoint or saveMergedLm), not an adapter',
    );
  const params = model.params();
  if (!model.options.plan || params.length === 0)
    throw new CheckpointError('adapter', 'the model has nothing that trains (no plan): there is no adapter to save');
  const out = new Map<string, NamedArray>();
  for (const p of params)
    out.set(p.name, { shape: [...p.tensor.shape], data: (await model.backend.read(p.tensor)) as Float32Array });
  for (const l of lmBranchLinears(model)) {
    const spec = l.branchSpec!;
    if (!DISTANCE.has(spec.kind)) continue;
    out.set(`${l.branchName}.shared_coeff_fc`, {
      shape: [spec.kernelHeads, 1, 1],
      data: Float32Array.from(spec.coeff ?? defaultCoeff(spec.kernelHeads)),
    });
  }
  return out;
}

/** The modules (tensor names less their last part) of trainable tensors that are not branch tensors. */
function modulesToSave(names: Iterable<string>): string[] {
  const modules = new Set<string>();
  for (const n of names) if (!LM_BRANCH_TENSOR.test(n)) modules.add(n.slice(0, n.lastIndexOf('.')));
  return [...modules];
}

export interface SaveLmAdapterOptions {
  /** The base model's name or path, recorded for whoever loads the adapter. */
  baseModel?: string;
  dtype?: 'F32' | 'F16';
}

/** Writes the adapter of a trained model; everything is checked and read before the folder is touched. */
export async function saveLmAdapter(folder: Folder, model: DecoderLM, options: SaveLmAdapterOptions = {}): Promise<void> {
  const tensors = await lmAdapterTensors(model);
  const plan = model.options.plan!;
  const c = model.config;
  const [first, last] = plan.layers ?? [0, c.layers];
  const modules = modulesToSave(tensors.keys());
  const moved = plan.method === 'snella' && model.adaptedLayers().some((l) => l.sparsity !== plan.sparsity);
  const config = {
    peft_type: 'SNELL',
    library: 'snell-js',
    format_version: 1,
    task_type: modules.includes('score') ? 'SEQ_CLS' : 'CAUSAL_LM',
    method: plan.method,
    r: plan.rank,
    kernel_heads: plan.kernelHeads,
    sparsity: plan.sparsity,
    ...(moved && { layer_sparsity: Object.fromEntries(model.adaptedLayers().map((l) => [l.name, l.sparsity])) }),
    target_modules: [...plan.targets],
    layers_to_transform: Array.from({ length: last - first }, (_, i) => first + i),
    base_model_name_or_path: options.baseModel ?? null,
    modules_to_save: modules.length ? modules : null,
    tensor_prefix: LM_TENSOR_PREFIX,
    decoder: decoderJson(c),
  };
  const named = new Map([...tensors].map(([n, t]) => [LM_TENSOR_PREFIX + n, t]));
  await folder.write(ADAPTER_WEIGHTS, (sink) =>
    writeSafetensors(sink, named, { format: 'pt' }, { dtype: options.dtype }).then(() => {}),
  );
  await writeText(folder, ADAPTER_CONFIG, `${JSON.stringify(config, null, 2)}\n`);
}

function decoderJson(c: DecoderConfig) {
  return {
    arch: c.arch,
    model_type: (c as { modelType?: string }).modelType ?? null,
    vocab_size: c.vocabSize,
    hidden_size: c.hidden,
    num_layers: c.layers,
    num_heads: c.heads,
    num_kv_heads: c.kvHeads,
    head_dim: c.headDim,
    intermediate_size: c.intermediate,
  };
}

export interface LoadedLmAdapter {
  plan: DecoderPlan;
  /** The adapter's tensors by weight-map name. */
  tensors: Map<string, NamedArray>;
  /** The base weights with the adapter's tensors laid over them: pass to `new DecoderLM`. */
  weights: Map<string, NamedArray>;
  adapterConfig: Record<string, unknown>;
}

/** Loads an adapter onto a base model's weights, checking every tensor's name and shape against the base. */
export async function loadLmAdapter(folder: Folder, base: { weights: Weights; config: DecoderConfig }): Promise<LoadedLmAdapter> {
  const cfgName = `${folder.name}/${ADAPTER_CONFIG}`;
  const json = await readJson(folder, ADAPTER_CONFIG);
  if (!json) throw new CheckpointError(cfgName, 'not found: not an adapter folder');
  const plan = parsePlan(json, base.config, (p: string): never => {
    throw new CheckpointError(cfgName, p);
  });
  const expected = lmAdapterShapes(plan, base.config);
  const modules = Array.isArray(json.modules_to_save) ? (json.modules_to_save as unknown[]).map(String) : [];
  const file = await openAdapterTensors(folder);
  try {
    for (const [name, { shape, optional }] of expected) {
      const e = file.entries.get(LM_TENSOR_PREFIX + name);
      if (!e) {
        if (optional) continue;
        throw new CheckpointError(
          file.file,
          `has no tensor "${LM_TENSOR_PREFIX}${name}" (shape ${shapeText(shape)} expected by ${ADAPTER_CONFIG} and the base model)`,
        );
      }
      if (!sameShape(e.shape, shape))
        throw new CheckpointError(
          file.file,
          `tensor "${LM_TENSOR_PREFIX}${name}" has shape ${shapeText(e.shape)}, but ${ADAPTER_CONFIG} and the base model imply ${shapeText(shape)}`,
        );
    }
    const tensors = new Map<string, NamedArray>();
    for (const stored of file.names) {
      const name = stored.startsWith(LM_TENSOR_PREFIX) ? stored.slice(LM_TENSOR_PREFIX.length) : null;
      const saved = name !== null && modules.includes(name.slice(0, name.lastIndexOf('.')));
      if (name === null || (!expected.has(name) && !saved))
        throw new CheckpointError(
          file.file,
          `tensor "${stored}" is not part of this adapter (${plan.method} on ${plan.targets.join(', ')}, ${ADAPTER_CONFIG})`,
        );
      const own = base.weights.get(name);
      const e = file.entries.get(stored)!;
      if (saved && own && !sameShape(e.shape, own.shape))
        throw new CheckpointError(
          file.file,
          `tensor "${stored}" has shape ${shapeText(e.shape)}, but the base model's "${name}" is ${shapeText(own.shape)}`,
        );
      tensors.set(name, await file.read(stored));
    }
    return { plan, tensors, weights: new Map([...base.weights, ...tensors]), adapterConfig: json };
  } finally {
    await file.close();
  }
}

function parsePlan(json: Record<string, unknown>, c: DecoderConfig, fail: (problem: string) => never): DecoderPlan {
  if (json.peft_type !== 'SNELL') fail(`peft_type is ${JSON.stringify(json.peft_type)}, not "SNELL"`);
  const decoder = json.decoder as { arch?: unknown; model_type?: unknown } | undefined;
  if (decoder?.arch !== c.arch)
    fail(
      `was trained on a ${String(decoder?.arch ?? 'model that is not a decoder')} (decoder.arch); the base is a ${c.arch} model: load it onto a base of the family it was trained on`,
    );
  const method = json.method as string;
  if (method === 'full') fail('method "full" trains every weight and is saved as a checkpoint: load it with loadLmCheckpoint');
  const saved: readonly DecoderMethod[] = DECODER_METHODS.filter((m) => m !== 'full');
  if (!saved.includes(method as DecoderMethod)) fail(`method ${JSON.stringify(method)} is not one of ${saved.join(', ')}`);
  const int = (key: string) => {
    const v = json[key];
    if (!Number.isInteger(v) || (v as number) < 1) fail(`${key} must be a positive integer, got ${JSON.stringify(v)}`);
    return v as number;
  };
  const rank = int('r');
  const kernelHeads = int('kernel_heads');
  if (rank % kernelHeads !== 0) fail(`r ${rank} is not divisible by kernel_heads ${kernelHeads}`);
  const sparsity = json.sparsity as number;
  const snella = method === 'snella';
  if (typeof sparsity !== 'number' || !(sparsity >= 0 && (snella ? sparsity <= 1 : sparsity < 1)))
    fail(`sparsity must be in ${snella ? '[0, 1]' : '[0, 1)'} for ${method}, got ${JSON.stringify(sparsity)}`);
  const names = targetNames(c.arch);
  const targets = json.target_modules as unknown[];
  if (!Array.isArray(targets) || targets.length === 0 || targets.some((t) => !names.includes(t as string)))
    fail(`target_modules ${JSON.stringify(targets)} must name ${c.arch} projections: ${names.join(', ')}`);
  const layers = parseLayers(json.layers_to_transform, c.layers, fail);
  const spread = json.layer_sparsity as Record<string, unknown> | undefined;
  if (spread !== undefined) {
    if (method !== 'snella') fail(`layer_sparsity is SNELLA's (method snella), not ${method}'s: remove it`);
    if (typeof spread !== 'object' || spread === null || Array.isArray(spread))
      fail('layer_sparsity must map branch names to sparsities');
    for (const [name, s] of Object.entries(spread))
      if (typeof s !== 'number' || !(s >= 0 && s <= 1))
        fail(`layer_sparsity of ${name} must be in [0, 1], got ${JSON.stringify(s)}`);
  }
  return {
    method: method as DecoderMethod,
    rank,
    kernelHeads,
    sparsity,
    targets: targets as string[],
    layers,
    ...(spread && { layerSparsity: spread as Record<string, number> }),
  };
}

/** PEFT's layers_to_transform (null: every layer) as [first, last); the list must be consecutive. */
function parseLayers(v: unknown, count: number, fail: (problem: string) => never): [number, number] {
  if (v === undefined || v === null) return [0, count];
  const list = typeof v === 'number' ? [v] : v;
  const ok =
    Array.isArray(list) &&
    list.length > 0 &&
    list.every((n, i) => Number.isInteger(n) && n >= 0 && n < count && (i === 0 || n === list[i - 1] + 1));
  if (!ok) fail(`layers_to_transform ${JSON.stringify(v)} must list consecutive layer indices within the base's ${count} layers`);
  const l = list as number[];
  return [l[0]!, l[l.length - 1]! + 1];
}

/** Weight-map name → shape of every branch tensor a plan puts on a decoder of `c`. */
export function lmAdapterShapes(plan: DecoderPlan, c: DecoderConfig): Map<string, { shape: number[]; optional?: boolean }> {
  const out = new Map<string, { shape: number[]; optional?: boolean }>();
  const H = plan.kernelHeads;
  const k = plan.rank / H;
  const [first, last] = plan.layers ?? [0, c.layers];
  if (!branchMethod(plan.method)) return out;
  for (let l = first; l < last; l++) {
    for (const p of PROJECTIONS[c.arch]) {
      if (!plan.targets.includes(p.path.split('.').pop()!)) continue;
      const name = `${layerPrefix(c.arch, l)}${p.path}.snell.`;
      const [dIn, dOut] = p.dims(c);
      if (plan.method === 'dense') {
        out.set(`${name}delta`, { shape: [dIn, dOut] });
        continue;
      }
      out.set(`${name}In_Qs`, { shape: [H, dIn, k] });
      out.set(`${name}Out_Qs`, { shape: [H, dOut, k] });
      if (DISTANCE.has(plan.method)) out.set(`${name}shared_coeff_fc`, { shape: [H, 1, 1], optional: true });
      if (plan.method === 'snella') for (const s of ['alpha', 'gamma', 'beta']) out.set(`${name}${s}`, { shape: [1] });
    }
  }
  return out;
}

async function openAdapterTensors(folder: Folder): Promise<SafetensorsFile> {
  const where = `${folder.name}/${ADAPTER_WEIGHTS}`;
  const src = await folder.open(ADAPTER_WEIGHTS);
  if (!src) throw new CheckpointError(where, 'not found');
  try {
    return await SafetensorsFile.open(src, where);
  } catch (e) {
    await src.close?.();
    throw e;
  }
}
