// ViT checkpoints in and out: a folder with model.safetensors (or model.safetensors.index.json and its
// shards) and an optional config.json, in timm or Hugging Face transformers naming (vit-naming.ts).
// Loading reads the headers, works out the ViTConfig (vit-config.ts), checks every tensor's shape
// against it before reading any data, then reads the tensors one at a time into the engine's
// timm-named Weights (patch_embed.proj.weight flattened from [D, C, p, p] to [D, C·p·p], no copy).
// Saving writes the weights back in the naming (and fusion, conv shape) they came in, with a
// config.json, each file atomically.

import type { ViTConfig } from '../model/config.js';
import { rng } from '../core/random.js';
import type { NamedArray, Weights } from '../core/weights.js';
import { CheckpointError } from './errors.js';
import { writeSafetensors } from './safetensors-write.js';
import { type Folder, readText, writeText } from './source.js';
import { openTensors } from './tensor-store.js';
import { type ConfigOptions, configJson, expectedShapes, resolveConfig } from './vit-config.js';
import {
  BRANCH_TENSOR,
  type CheckpointLayout,
  detectNaming,
  fromEngineName,
  splitQkvWeights,
  toCheckpointTensors,
  toEngineName,
} from './vit-naming.js';

type Json = Record<string, unknown>;

export interface LoadCheckpointOptions extends ConfigOptions {
  /** The safetensors file (or the stem of its .index.json); default model.safetensors. */
  file?: string;
  /** A fresh head for this many classes when the stored head has another count, or there is none. */
  classes?: number;
  /** Seed of a fresh head (default 0). */
  seed?: number;
  /** Skip tensors the engine does not know instead of refusing the checkpoint. */
  ignoreUnknown?: boolean;
}

export interface LoadedCheckpoint {
  /** The model's names (timm's, q/k/v separate: a fused attn.qkv is split, as views). */
  weights: Map<string, NamedArray>;
  config: ViTConfig;
  layout: CheckpointLayout;
  /** config.json as read, or null. */
  sourceConfig: Json | null;
  /** Assumptions made and tensors skipped, for the user to see. */
  notes: string[];
}

export async function loadCheckpoint(folder: Folder, options: LoadCheckpointOptions = {}): Promise<LoadedCheckpoint> {
  const sourceConfig = await readJson(folder, 'config.json');
  const store = await openTensors(folder, options.file);
  try {
    const naming = detectNaming(store.names);
    const checkpointName = new Map<string, string>();
    const unknown: string[] = [];
    const notes: string[] = [];
    for (const n of store.names) {
      const e = toEngineName(n, naming);
      if (e === undefined) unknown.push(n);
      else if (e === null) notes.push(`skipped "${n}" (not used for classification)`);
      else checkpointName.set(e, n);
    }
    if (unknown.length && !options.ignoreUnknown) {
      throw new CheckpointError(
        store.name,
        `holds ${unknown.length} tensor(s) a plain ViT (${naming.naming} naming) does not have: ${unknown
          .slice(0, 4)
          .map((n) => `"${n}"`)
          .join(
            ', ',
          )}${unknown.length > 4 ? ', …' : ''}; this model variant is not supported, or pass { ignoreUnknown: true } to skip them`,
      );
    }
    if (unknown.length)
      notes.push(
        `skipped ${unknown.length} unknown tensor(s): ${unknown.slice(0, 4).join(', ')}${unknown.length > 4 ? ', …' : ''}`,
      );
    const shapeOf = (e: string) => {
      const n = checkpointName.get(e);
      return n === undefined ? undefined : store.entry(n)!.shape;
    };
    const depthSeen = Math.max(0, ...[...checkpointName.keys()].map((e) => Number(/^blocks\.(\d+)\./.exec(e)?.[1] ?? -1) + 1));
    const resolved = resolveConfig(sourceConfig, shapeOf, depthSeen, options, `${folder.name}/config.json`);
    const config = resolved.config;
    notes.push(...resolved.notes);
    const layout: CheckpointLayout = { ...naming, patchShape: resolved.patchShape };
    const why = sourceConfig ? 'config.json' : 'the other tensors';
    const expected = expectedShapes(config, layout);
    for (const [e, { shape, optional }] of expected) {
      const n = checkpointName.get(e);
      if (n === undefined) {
        if (optional) continue;
        throw new CheckpointError(
          store.name,
          `has no tensor "${fromEngineName(e, naming)}" (shape [${shape.join(', ')}] expected)`,
        );
      }
      const actual = store.entry(n)!.shape;
      if (actual.length !== shape.length || actual.some((d, i) => d !== shape[i])) {
        throw new CheckpointError(
          store.fileOf(n),
          `tensor "${n}" has shape [${actual.join(', ')}], but ${why} implies [${shape.join(', ')}]`,
        );
      }
    }
    for (const [e, n] of checkpointName) {
      if (!expected.has(e) && !BRANCH_TENSOR.test(e)) {
        throw new CheckpointError(
          store.fileOf(n),
          `tensor "${n}" does not belong to a ViT of depth ${config.depth}${layout.fusedQkv ? ' with fused qkv' : ''} (${why})`,
        );
      }
    }
    const stored = new Map<string, NamedArray>();
    for (const [e, n] of checkpointName) {
      const t = await store.read(n);
      stored.set(e, e === 'patch_embed.proj.weight' ? { shape: [config.dim, config.patchDim!], data: t.data } : t);
    }
    fillMissingBiases(stored, config, layout, notes);
    const weights = splitQkvWeights(stored);
    const head = weights.get('head.weight');
    if (options.classes !== undefined && (!head || head.shape[0] !== options.classes)) {
      notes.push(`fresh head for ${options.classes} classes${head ? ` (the checkpoint's has ${head.shape[0]})` : ''}`);
      return { ...withFreshHead({ weights, config }, options.classes, options.seed ?? 0), layout, sourceConfig, notes };
    }
    if (!head)
      throw new CheckpointError(
        store.name,
        'has no classifier head (head.weight / classifier.weight): pass { classes } to add a fresh one',
      );
    return { weights, config, layout, sourceConfig, notes };
  } finally {
    await store.close();
  }
}

/** Zero biases for q, k, v (or qkv) where the checkpoint has none (qkv_bias = False). */
function fillMissingBiases(weights: Map<string, NamedArray>, c: ViTConfig, layout: CheckpointLayout, notes: string[]): void {
  let filled = 0;
  for (let n = 0; n < c.depth; n++) {
    for (const x of layout.fusedQkv ? ['qkv'] : ['q', 'k', 'v']) {
      const name = `blocks.${n}.attn.${x}.bias`;
      if (weights.has(name)) continue;
      const size = (x === 'qkv' ? 3 : 1) * c.dim;
      weights.set(name, { shape: [size], data: new Float32Array(size) });
      filled++;
    }
  }
  if (filled) notes.push(`${filled} attention input biases absent (qkv_bias = False): zeros used`);
}

/** A copy of `weights` with a fresh head for `classes` (timm's init: N(0, 0.02²) truncated at ±2σ, bias 0). */
export function replaceHead(weights: Weights, classes: number, seed: number): Map<string, NamedArray> {
  if (!Number.isInteger(classes) || classes < 1)
    throw new CheckpointError('replaceHead', `classes must be a positive integer, got ${classes}`);
  const D = weights.get('norm.weight')?.shape[0];
  if (D === undefined) throw new CheckpointError('replaceHead', 'the weights have no norm.weight to tell the width D from');
  const next = rng(seed);
  const normal = () => {
    for (;;) {
      const z = Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
      if (Math.abs(z) <= 2) return 0.02 * z;
    }
  };
  const out = new Map(weights);
  out.set('head.weight', { shape: [classes, D], data: Float32Array.from({ length: classes * D }, normal) });
  out.set('head.bias', { shape: [classes], data: new Float32Array(classes) });
  return out;
}

/** A model's weights and config with a fresh head for `classes` (replaceHead), as a new task starts. */
export function withFreshHead(
  model: { weights: Weights; config: ViTConfig },
  classes: number,
  seed: number,
): { weights: Map<string, NamedArray>; config: ViTConfig } {
  return { weights: replaceHead(model.weights, classes, seed), config: { ...model.config, classes } };
}

export interface SaveCheckpointOptions {
  /** How floats are stored (default F32). */
  dtype?: 'F32' | 'F16';
  /** The config.json that came with the checkpoint, updated and written back (default: a fresh one). */
  sourceConfig?: Json | null;
  /** Default model.safetensors. */
  file?: string;
}

/** Writes `weights` (engine names) as a plain checkpoint in `layout`'s naming, with config.json. */
export async function saveCheckpoint(
  folder: Folder,
  weights: Weights,
  config: ViTConfig,
  layout: CheckpointLayout,
  options: SaveCheckpointOptions = {},
): Promise<void> {
  const tensors = toCheckpointTensors(weights, layout);
  await folder.write(options.file ?? 'model.safetensors', (sink) =>
    writeSafetensors(sink, tensors, { format: 'pt' }, { dtype: options.dtype }).then(() => {}),
  );
  await writeText(
    folder,
    'config.json',
    `${JSON.stringify(configJson(config, layout.naming, layout.patchShape, options.sourceConfig ?? null), null, 2)}\n`,
  );
}

/** A JSON object file, or null when absent; anything else is a CheckpointError naming the file. */
export async function readJson(folder: Folder, file: string): Promise<Json | null> {
  const text = await readText(folder, file);
  if (text === null) return null;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(`${folder.name}/${file}`, `is not valid JSON (${(e as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new CheckpointError(`${folder.name}/${file}`, 'is not a JSON object');
  return json as Json;
}
