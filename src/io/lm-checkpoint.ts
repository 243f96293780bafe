// Decoder language model checkpoints in and out: a folder with config.json and model.safetensors (or
// model.safetensors.index.json and its shards), as transformers saves LlamaForCausalLM, Qwen2, Mistral
// and GPT2LMHeadModel. Loading parses the config (lm-config.ts), checks every stored name and shape
// against it (lm-naming.ts) before reading any data, then reads the tensors one at a time into a
// weight map under the transformers names (F16 and BF16 widened to float32 by the reader). A tied
// head is the embedding: a stored lm_head.weight equal to it is dropped, one that differs refused.
// Saving writes the same names back (the layout's prefix), with config.json, each file atomically.

import type { NamedArray, Weights } from '../core/weights.js';
import { readJson } from './checkpoint.js';
import { CheckpointError } from './errors.js';
import { type LmConfig, lmConfigJson, parseLmConfig } from './lm-config.js';
import { detectLmLayout, embeddingName, fromLmName, type LmLayout, lmWeightShapes, toLmName } from './lm-naming.js';
import { writeSafetensors } from './safetensors-write.js';
import { type Folder, writeText } from './source.js';
import { openTensors } from './tensor-store.js';

type Json = Record<string, unknown>;

export interface LoadLmOptions {
  /** The safetensors file (or the stem of its .index.json); default model.safetensors. */
  file?: string;
  /** Skip stored tensors the model does not have instead of refusing the checkpoint. */
  ignoreUnknown?: boolean;
}

export interface LoadedLm {
  /** By the names of lmWeightShapes(config); no lm_head.weight when the embeddings are tied. */
  weights: Map<string, NamedArray>;
  config: LmConfig;
  layout: LmLayout;
  /** config.json as read. */
  sourceConfig: Json;
  /** Tensors skipped and heads dropped, for the user to see. */
  notes: string[];
}

const LM_HEAD = 'lm_head.weight';
const shapeText = (s: readonly number[]) => `[${s.join(', ')}]`;
const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

export async function loadLmCheckpoint(folder: Folder, options: LoadLmOptions = {}): Promise<LoadedLm> {
  const configFile = `${folder.name}/config.json`;
  const sourceConfig = await readJson(folder, 'config.json');
  if (!sourceConfig) throw new CheckpointError(configFile, "not found: a language model's folder needs its config.json");
  const config = parseLmConfig(sourceConfig, configFile);
  const store = await openTensors(folder, options.file);
  try {
    const layout = detectLmLayout(store.names, config.arch);
    const expected = lmWeightShapes(config);
    const storedName = new Map<string, string>();
    const unknown: string[] = [];
    const notes: string[] = [];
    let buffers = 0;
    for (const n of store.names) {
      const name = toLmName(n, layout);
      if (name === null) buffers++;
      else if (name !== undefined && (expected.has(name) || name === LM_HEAD)) storedName.set(name, n);
      else unknown.push(n);
    }
    if (buffers) notes.push(`skipped ${buffers} stored buffer(s) (causal masks, rotary frequencies): the model computes them`);
    const listed = (names: string[]) =>
      `${names
        .slice(0, 4)
        .map((n) => `"${n}"`)
        .join(', ')}${names.length > 4 ? ', …' : ''}`;
    if (unknown.length && !options.ignoreUnknown) {
      throw new CheckpointError(
        store.name,
        `holds ${unknown.length} tensor(s) a ${config.modelType} model of ${config.layers} layers (config.json) does not have: ${listed(unknown)}; this variant is not supported, or pass { ignoreUnknown: true } to skip them`,
      );
    }
    if (unknown.length) notes.push(`skipped ${unknown.length} unknown tensor(s): ${listed(unknown)}`);
    for (const [name, shape] of expected) {
      const n = storedName.get(name);
      if (n === undefined) {
        const tied =
          name === LM_HEAD ? ' (config.json has tie_word_embeddings false: set it true if the head is the embedding)' : '';
        throw new CheckpointError(
          store.name,
          `has no tensor "${fromLmName(name, layout)}" (shape ${shapeText(shape)} expected)${tied}`,
        );
      }
      const actual = store.entry(n)!.shape;
      if (!sameShape(actual, shape))
        throw new CheckpointError(
          store.fileOf(n),
          `tensor "${n}" has shape ${shapeText(actual)}, but config.json implies ${shapeText(shape)}`,
        );
    }
    const weights = new Map<string, NamedArray>();
    for (const name of expected.keys()) weights.set(name, await store.read(storedName.get(name)!));
    const head = storedName.get(LM_HEAD);
    if (config.tieWordEmbeddings && head !== undefined) {
      const embedding = weights.get(embeddingName(config.arch))!;
      const stored = await store.read(head);
      if (!sameShape(stored.shape, embedding.shape) || stored.data.some((v, i) => !Object.is(v, embedding.data[i])))
        throw new CheckpointError(
          store.fileOf(head),
          `tensor "${head}" differs from the embedding, but config.json ties them (tie_word_embeddings): set tie_word_embeddings to false to use the stored head`,
        );
      notes.push(`dropped the stored ${head}: it equals the embedding (tied)`);
    }
    return { weights, config, layout, sourceConfig, notes };
  } finally {
    await store.close();
  }
}

export interface SaveLmOptions {
  /** How floats are stored (default F32). */
  dtype?: 'F32' | 'F16';
  /** The config.json that came with the checkpoint, updated and written back (default: a fresh one). */
  sourceConfig?: Json | null;
  /** Default model.safetensors. */
  file?: string;
}

/** Writes `weights` (weight-map names, exactly the model's tensors) in `layout`'s names, with config.json. */
export async function saveLmCheckpoint(
  folder: Folder,
  weights: Weights,
  config: LmConfig,
  layout: LmLayout,
  options: SaveLmOptions = {},
): Promise<void> {
  const file = options.file ?? 'model.safetensors';
  const expected = lmWeightShapes(config);
  const tensors = new Map<string, NamedArray>();
  for (const [name, shape] of expected) {
    const t = weights.get(name);
    if (!t)
      throw new CheckpointError(`${folder.name}/${file}`, `cannot save: the weights have no "${name}" (${shapeText(shape)})`);
    if (!sameShape(t.shape, shape))
      throw new CheckpointError(
        `${folder.name}/${file}`,
        `cannot save: "${name}" has shape ${shapeText(t.shape)}, but the config implies ${shapeText(shape)}`,
      );
    tensors.set(fromLmName(name, layout), t);
  }
  const extra = [...weights.keys()].filter((n) => !expected.has(n));
  if (extra.length)
    throw new CheckpointError(
      `${folder.name}/${file}`,
      `cannot save: ${extra.length} tensor(s) are not part of the model: ${extra.slice(0, 4).join(', ')} (adapters are saved with their own files)`,
    );
  await folder.write(file, (sink) => writeSafetensors(sink, tensors, { format: 'pt' }, { dtype: options.dtype }).then(() => {}));
  await writeText(folder, 'config.json', `${JSON.stringify(lmConfigJson(config, options.sourceConfig ?? null), null, 2)}\n`);
}
