// Trained adapters on disk, PEFT-like: a folder with adapter_config.json and adapter_model.safetensors.
//
// Tensor names: "base_model.model." + the engine's name of each trainable tensor, which is the SNELL
// reference's: blocks.N.attn.additional_q.learnable.In_Qs [H, in, r/H], …Out_Qs [H, out, r/H],
// …shared_coeff_fc [H, 1, 1] (the kernel coefficients c_h; distance kernels only), SNELLA's …alpha,
// …gamma, …beta [1], a dense branch's …delta [in, out]; then head.weight [C, D], head.bias [C] and
// cls_token [1, 1, D]. The module path is always the engine's split q/k/v one (additional_q, _k, _v),
// whatever the base checkpoint's naming (a timm checkpoint fuses them as attn.qkv, transformers calls
// them query/key/value): the adapter loads onto either.
// adapter_config.json: { peft_type: "SNELL", format_version: 1, method, kernel, r, kernel_heads,
// sparsity, layer_sparsity (snella, once the allocator has moved them: each branch's own s, by branch
// name), coeff, target_modules, block_range: [first, last), branch_dropout, branch_drop_path,
// base_model_name_or_path, base_naming, modules_to_save, num_classes, tensor_prefix, vit: {…} }.
// `exportReferenceState` gives the official PyTorch module's state-dict names (no prefix) and shapes;
// `referenceSparsities` the authors' alloc_volume_dict ({module name: init_thres}).

import { defaultCoeff } from '../adapter/config.js';
import { LINEAR_NAMES, type LinearName, type TuneMethod, type TuningPlan, type ViTConfig } from '../model/config.js';
import type { Linear } from '../model/linear.js';
import type { NamedArray, Weights } from '../core/weights.js';
import type { ViT } from '../model/vit.js';
import { CheckpointError } from './errors.js';
import { readJson } from './checkpoint.js';
import { SafetensorsFile } from './safetensors.js';
import { writeSafetensors } from './safetensors-write.js';
import { type Folder, writeText } from './source.js';
import type { Naming } from './vit-naming.js';

export const ADAPTER_CONFIG = 'adapter_config.json';
export const ADAPTER_WEIGHTS = 'adapter_model.safetensors';
const PREFIX = 'base_model.model.';
const METHODS: readonly string[] = ['snell', 'snella', 'klora', 'lora', 'dense', 'head'];
const DISTANCE = new Set<TuneMethod>(['snell', 'snella', 'klora']);

/** The linears of `model` that carry a branch. */
export function branchLinears(model: ViT): Linear[] {
  return model.blocks.flatMap((b) => b.linears).filter((l) => l.branchSpec !== null);
}

/** Every trainable tensor of `model`, read back, by engine name. */
export async function readTrainables(model: ViT): Promise<Map<string, NamedArray>> {
  const out = new Map<string, NamedArray>();
  for (const p of model.params())
    out.set(p.name, { shape: [...p.tensor.shape], data: (await model.backend.read(p.tensor)) as Float32Array });
  return out;
}

/** The trained tensors with each distance-kernel branch's shared_coeff_fc [H, 1, 1] added. */
async function adapterTensors(model: ViT): Promise<Map<string, NamedArray>> {
  const plan = model.options.plan;
  if (plan?.method === 'full')
    throw new CheckpointError(
      'adapter',
      'full fine-tuning trains every weight: save a checkpoint (saveCheckpoint or saveMerged), not an adapter',
    );
  const out = await readTrainables(model);
  for (const l of branchLinears(model)) {
    const spec = l.branchSpec!;
    if (!DISTANCE.has(spec.kind as TuneMethod)) continue;
    out.set(`${l.branchName}.shared_coeff_fc`, {
      shape: [spec.kernelHeads, 1, 1],
      data: Float32Array.from(spec.coeff ?? defaultCoeff(spec.kernelHeads)),
    });
  }
  return out;
}

export interface SaveAdapterOptions {
  /** The base model's name or path, recorded for whoever loads the adapter. */
  baseModel?: string;
  /** The naming of the base checkpoint, recorded (tensor names do not depend on it). */
  baseNaming?: Naming;
  dtype?: 'F32' | 'F16';
}

export async function saveAdapter(folder: Folder, model: ViT, options: SaveAdapterOptions = {}): Promise<void> {
  const tensors = await adapterTensors(model);
  const plan = model.options.plan;
  const c = model.config;
  const first = branchLinears(model)[0]?.branchSpec;
  const config = {
    peft_type: 'SNELL',
    library: 'snell-js',
    format_version: 1,
    method: plan?.method ?? 'head',
    kernel: !plan ? null : plan.method === 'dense' ? 'dense' : plan.method === 'lora' ? 'linear' : 'distance',
    r: plan?.rank ?? 0,
    kernel_heads: plan?.kernelHeads ?? 0,
    sparsity: plan?.sparsity ?? 0,
    ...(movedSparsities(model) && { layer_sparsity: referenceSparsities(model) }),
    coeff: first ? [...(first.coeff ?? defaultCoeff(first.kernelHeads))] : [],
    target_modules: plan ? [...plan.targets] : [],
    block_range: plan ? [...(plan.blocks ?? [0, c.depth])] : [0, 0],
    branch_dropout: plan?.branchDropout ?? 0,
    branch_drop_path: plan?.branchDropPath ?? 0,
    base_model_name_or_path: options.baseModel ?? null,
    base_naming: options.baseNaming ?? null,
    modules_to_save: c.patchDim !== null ? ['head', 'cls_token'] : ['head'],
    num_classes: c.classes,
    tensor_prefix: PREFIX,
    vit: {
      dim: c.dim,
      depth: c.depth,
      heads: c.heads,
      mlp_ratio: c.mlpRatio,
      tokens: c.tokens,
      patch_dim: c.patchDim,
      pooling: c.pooling,
      eps: c.eps,
    },
  };
  const named = new Map([...tensors].map(([n, t]) => [PREFIX + n, t]));
  await folder.write(ADAPTER_WEIGHTS, (sink) =>
    writeSafetensors(sink, named, { format: 'pt' }, { dtype: options.dtype }).then(() => {}),
  );
  await writeText(folder, ADAPTER_CONFIG, `${JSON.stringify(config, null, 2)}\n`);
}

export interface LoadedAdapter {
  /** The tuning plan (null for a head-only adapter: a linear probe). */
  plan: TuningPlan | null;
  /** The base weights with the adapter's tensors laid over them: pass to `new ViT`. */
  weights: Map<string, NamedArray>;
  /** The base config with the adapter's class count. */
  config: ViTConfig;
  adapterConfig: Record<string, unknown>;
}

/** Loads an adapter onto base weights, checking every tensor's name and shape against the plan. */
export async function loadAdapter(folder: Folder, base: { weights: Weights; config: ViTConfig }): Promise<LoadedAdapter> {
  const cfgName = `${folder.name}/${ADAPTER_CONFIG}`;
  const json = await readJson(folder, ADAPTER_CONFIG);
  if (!json) throw new CheckpointError(cfgName, 'not found: not an adapter folder');
  const fail = (p: string): never => {
    throw new CheckpointError(cfgName, p);
  };
  if (json.peft_type !== 'SNELL') fail(`peft_type is ${JSON.stringify(json.peft_type)}, not "SNELL"`);
  const method = json.method as string;
  if (!METHODS.includes(method)) fail(`method ${JSON.stringify(method)} is not one of ${METHODS.join(', ')}`);
  const int = (key: string, min: number) => {
    const v = json[key];
    if (!Number.isInteger(v) || (v as number) < min) fail(`${key} must be an integer ≥ ${min}, got ${JSON.stringify(v)}`);
    return v as number;
  };
  const c = base.config;
  const vit = json.vit as { dim?: unknown; depth?: unknown } | undefined;
  if (vit && (vit.dim !== c.dim || vit.depth !== c.depth))
    fail(
      `was trained on a ViT with D = ${String(vit.dim)}, depth ${String(vit.depth)}; the base has D = ${c.dim}, depth ${c.depth}`,
    );
  let plan: TuningPlan | null = null;
  if (method !== 'head') {
    const targets = json.target_modules as unknown[];
    if (!Array.isArray(targets) || targets.some((t) => !LINEAR_NAMES.includes(t as LinearName)))
      fail(`target_modules must list names from ${LINEAR_NAMES.join(', ')}`);
    const range = json.block_range as number[];
    if (
      !Array.isArray(range) ||
      range.length !== 2 ||
      !(Number.isInteger(range[0]) && Number.isInteger(range[1]) && range[0] >= 0 && range[0] <= range[1] && range[1] <= c.depth)
    ) {
      fail(`block_range ${JSON.stringify(range)} is not [first, last) within the base's ${c.depth} blocks`);
    }
    const sparsity = json.sparsity as number;
    if (typeof sparsity !== 'number' || !(sparsity >= 0 && sparsity < 1))
      fail(`sparsity must be in [0, 1), got ${JSON.stringify(sparsity)}`);
    const num = (key: string) => (typeof json[key] === 'number' ? (json[key] as number) : 0);
    const layers = json.layer_sparsity as Record<string, unknown> | undefined;
    if (layers !== undefined) {
      if (method !== 'snella') fail(`layer_sparsity is SNELLA's (method snella), not ${method}'s: remove it`);
      if (typeof layers !== 'object' || layers === null || Array.isArray(layers))
        fail('layer_sparsity must map branch names to sparsities');
      for (const [name, s] of Object.entries(layers))
        if (typeof s !== 'number' || !(s >= 0 && s <= 1))
          fail(`layer_sparsity of ${name} must be in [0, 1], got ${JSON.stringify(s)}`);
    }
    plan = {
      method: method as TuneMethod,
      rank: int('r', 1),
      kernelHeads: int('kernel_heads', 1),
      sparsity,
      targets: targets as LinearName[],
      blocks: [range[0], range[1]],
      branchDropout: num('branch_dropout'),
      branchDropPath: num('branch_drop_path'),
      ...(layers && { layerSparsity: layers as Record<string, number> }),
    };
  }
  const file = await readAdapterTensors(folder);
  try {
    const classes = file.entries.get(`${PREFIX}head.weight`)?.shape[0];
    if (classes === undefined) throw new CheckpointError(file.file, `has no "${PREFIX}head.weight"`);
    const config = { ...c, classes };
    const expected = expectedAdapterShapes(plan, config);
    for (const [name, { shape, optional }] of expected) {
      const e = file.entries.get(PREFIX + name);
      if (!e) {
        if (optional) continue;
        throw new CheckpointError(
          file.file,
          `has no tensor "${PREFIX}${name}" (shape [${shape.join(', ')}] expected by ${ADAPTER_CONFIG})`,
        );
      }
      if (e.shape.length !== shape.length || e.shape.some((d, i) => d !== shape[i])) {
        throw new CheckpointError(
          file.file,
          `tensor "${PREFIX}${name}" has shape [${e.shape.join(', ')}], but ${ADAPTER_CONFIG} and the base model imply [${shape.join(', ')}]`,
        );
      }
    }
    const weights = new Map(base.weights);
    for (const name of file.names) {
      const key = name.startsWith(PREFIX) ? name.slice(PREFIX.length) : null;
      if (key === null || !expected.has(key))
        throw new CheckpointError(file.file, `tensor "${name}" is not part of this adapter (${method}, ${ADAPTER_CONFIG})`);
      weights.set(key, await file.read(name));
    }
    return { plan, weights, config, adapterConfig: json };
  } finally {
    await file.close();
  }
}

async function readAdapterTensors(folder: Folder): Promise<SafetensorsFile> {
  const src = await folder.open(ADAPTER_WEIGHTS);
  if (!src) throw new CheckpointError(`${folder.name}/${ADAPTER_WEIGHTS}`, 'not found');
  try {
    return await SafetensorsFile.open(src, `${folder.name}/${ADAPTER_WEIGHTS}`);
  } catch (e) {
    await src.close?.();
    throw e;
  }
}

/** Engine name → shape of every tensor an adapter of `plan` on a ViT of `c` holds. */
function expectedAdapterShapes(plan: TuningPlan | null, c: ViTConfig): Map<string, { shape: number[]; optional?: boolean }> {
  const out = new Map<string, { shape: number[]; optional?: boolean }>();
  out.set('head.weight', { shape: [c.classes, c.dim] });
  out.set('head.bias', { shape: [c.classes] });
  if (c.patchDim !== null) out.set('cls_token', { shape: [1, 1, c.dim] });
  if (!plan) return out;
  const D = c.dim;
  const hidden = c.mlpRatio * D;
  const dims: Record<LinearName, [number, number]> = {
    q: [D, D],
    k: [D, D],
    v: [D, D],
    proj: [D, D],
    fc1: [D, hidden],
    fc2: [hidden, D],
  };
  const H = plan.kernelHeads;
  const k = plan.rank / H;
  if (plan.method !== 'dense' && !Number.isInteger(k))
    throw new CheckpointError(ADAPTER_CONFIG, `r ${plan.rank} is not divisible by kernel_heads ${H}`);
  const [first, last] = plan.blocks ?? [0, c.depth];
  for (let n = first; n < last; n++) {
    for (const t of plan.targets) {
      const p = `blocks.${n}.${t === 'fc1' || t === 'fc2' ? 'mlp' : 'attn'}.additional_${t}.learnable.`;
      const [dIn, dOut] = dims[t];
      if (plan.method === 'dense') {
        out.set(`${p}delta`, { shape: [dIn, dOut] });
        continue;
      }
      out.set(`${p}In_Qs`, { shape: [H, dIn, k] });
      out.set(`${p}Out_Qs`, { shape: [H, dOut, k] });
      if (DISTANCE.has(plan.method)) out.set(`${p}shared_coeff_fc`, { shape: [H, 1, 1], optional: true });
      if (plan.method === 'snella') for (const s of ['alpha', 'gamma', 'beta']) out.set(`${p}${s}`, { shape: [1] });
    }
  }
  return out;
}

/**
 * The adapter in the official SNELL PyTorch module's state-dict names and shapes (a subset of its
 * state dict, for load_state_dict(strict=False)): blocks.N.{attn,mlp}.additional_X.learnable.In_Qs,
 * Out_Qs, shared_coeff_fc [H, 1, 1], SNELLA's alpha, gamma, beta [1]; head.weight, head.bias; and
 * cls_token [1, 1, D] when the model has a patch embedding (it trains too).
 */
export async function exportReferenceState(model: ViT): Promise<Map<string, NamedArray>> {
  const method = model.options.plan?.method;
  if (!method || !DISTANCE.has(method)) {
    throw new CheckpointError(
      'export',
      `the SNELL reference has modules for snell, klora and snella branches only, not ${method ?? 'a linear probe'}: use saveAdapter`,
    );
  }
  return adapterTensors(model);
}

/**
 * Each SNELLA branch's sparsity by module name, as the authors' allocator records it (their
 * alloc_volume_dict.json; in PyTorch, `model.get_submodule(name).init_thres = s` restores it).
 */
export function referenceSparsities(model: ViT): Record<string, number> {
  return Object.fromEntries(model.adaptedLayers().map((l) => [l.name, l.sparsity]));
}

/** True when some SNELLA branch's sparsity is no longer the plan's (SNELLA's allocator moved it). */
function movedSparsities(model: ViT): boolean {
  const plan = model.options.plan;
  return plan?.method === 'snella' && model.adaptedLayers().some((l) => l.sparsity !== plan.sparsity);
}

/** The file beside an export that carries SNELLA's per-module sparsities, named as the authors' code names it. */
export const ALLOC_VOLUME_FILE = 'alloc_volume_dict.json';

/**
 * Writes `exportReferenceState(model)` as one safetensors file (torch: safetensors.torch.load_file);
 * for SNELLA also the per-module sparsities, in the file's metadata (`alloc_volume_dict`) and as
 * alloc_volume_dict.json beside it.
 */
export async function saveReferenceState(folder: Folder, file: string, model: ViT): Promise<void> {
  const tensors = await exportReferenceState(model);
  const snella = model.options.plan?.method === 'snella';
  const volumes = snella ? JSON.stringify(referenceSparsities(model)) : null;
  const metadata = { format: 'pt', ...(volumes && { alloc_volume_dict: volumes }) };
  await folder.write(file, (sink) => writeSafetensors(sink, tensors, metadata).then(() => {}));
  if (volumes) await writeText(folder, ALLOC_VOLUME_FILE, `${volumes}\n`);
}
