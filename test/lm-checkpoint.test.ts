// Decoder checkpoints: a LLaMA-family folder (the lm_train vector's tensors under transformers' names)
// and a GPT-2 one (bare GPT2Model names with the attention-mask buffers, as the original gpt2 files)
// load to the weight map, single-file or sharded, F16 and BF16 widened; tied heads dropped when equal
// and refused when not; every missing or misshapen tensor named with the shape expected; and saving
// writes the stored names back.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { vectorReader } from '../src/conformance/vector-reader.js';
import type { NamedArray } from '../src/core/weights.js';
import { loadLmCheckpoint, saveLmCheckpoint } from '../src/io/lm-checkpoint.js';
import { parseLmConfig } from '../src/io/lm-config.js';
import { lmHeadWeight, lmWeightShapes } from '../src/io/lm-naming.js';
import { SafetensorsFile } from '../src/io/safetensors.js';
import { encodeSafetensors } from '../src/io/safetensors-write.js';
import { blobFolder } from '../src/io/source-blob.js';
import { causalLmLoss64, decoderLogits64 } from '../src/reference/decoder64.js';
import { uniform } from '../src/reference/random.js';
import { VECTORS_DIR } from './support/vectors.js';

const vector = vectorReader(
  new Uint8Array(readFileSync(join(VECTORS_DIR, 'lm_train_llama_h32_untied.safetensors'))),
  'lm_train_llama_h32_untied',
);
/** The vector's base model (adapters left out), by transformers' names. */
const llamaTensors = new Map([...vector.under('param.')].filter(([n]) => !n.includes('.snell.')));
const llamaJson = {
  model_type: 'llama',
  vocab_size: 61,
  hidden_size: 32,
  intermediate_size: 64,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  rms_norm_eps: 1e-5,
  max_position_embeddings: 64,
  tie_word_embeddings: false,
};
const gpt2Json = { model_type: 'gpt2', vocab_size: 50, n_embd: 16, n_layer: 2, n_head: 2, n_positions: 12 };

/** Random tensors of every shape of `json`'s model, under the weight-map names. */
function randomWeights(json: Record<string, unknown>): Map<string, NamedArray> {
  const shapes = lmWeightShapes(parseLmConfig(json));
  return new Map(
    [...shapes].map(([name, shape], i) => [
      name,
      {
        shape,
        data: uniform(
          shape.reduce((a, d) => a * d, 1),
          i + 1,
        ),
      },
    ]),
  );
}

const folderOf = (json: object, tensors: Map<string, NamedArray>, extra: Record<string, Uint8Array> = {}) =>
  blobFolder({
    'config.json': new TextEncoder().encode(JSON.stringify(json)),
    'model.safetensors': encodeSafetensors(tensors),
    ...extra,
  });

/** A safetensors file of the tensors in BF16 (the top 16 bits of each float32, truncated). */
function bf16File(tensors: Map<string, NamedArray>): Uint8Array {
  const header: Record<string, unknown> = {};
  let offset = 0;
  for (const [name, t] of tensors) {
    header[name] = { dtype: 'BF16', shape: t.shape, data_offsets: [offset, offset + 2 * t.data.length] };
    offset += 2 * t.data.length;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const t of tensors.values()) {
    const bits = new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length);
    for (const b of bits) {
      out[at++] = (b >>> 16) & 0xff;
      out[at++] = b >>> 24;
    }
  }
  return out;
}

describe('decoder checkpoints', () => {
  it('loads a LLaMA-family model.safetensors to the weight map, every tensor as stored', async () => {
    const loaded = await loadLmCheckpoint(folderOf(llamaJson, llamaTensors));
    expect(loaded.layout).toEqual({ arch: 'llama', prefix: 'model.' });
    expect([...loaded.weights.keys()].sort()).toEqual([...llamaTensors.keys()].sort());
    for (const [name, t] of llamaTensors) expect(loaded.weights.get(name)).toEqual(t);
    expect(lmHeadWeight(loaded.weights, loaded.config)).toBe(loaded.weights.get('lm_head.weight'));
    expect(loaded.notes).toEqual([]);
  });

  it('gives a weight map the float64 model reads: with the vector adapters, its step-0 loss', async () => {
    const loaded = await loadLmCheckpoint(folderOf(llamaJson, llamaTensors));
    const adapters = [...vector.under('param.')].filter(([n]) => n.includes('.snell.'));
    const [B, T] = [vector.int('batch'), vector.int('seq_len')];
    const rows = { B, T, lengths: vector.meta('lengths') as number[] };
    const snell = { sparsity: vector.num('init_thres') };
    const logits = decoderLogits64(
      new Map([...loaded.weights, ...adapters]),
      loaded.config,
      vector.tensor('input_ids').data,
      rows,
      snell,
    );
    const loss = causalLmLoss64(logits, vector.tensor('labels').data, B * T, loaded.config.vocabSize);
    expect(Math.abs(Math.fround(loss) - vector.tensor('losses').data[0])).toBeLessThanOrEqual(2 ** -21);
  });

  it('loads a sharded checkpoint through model.safetensors.index.json', async () => {
    const names = [...llamaTensors.keys()];
    const shard = (list: string[]) => encodeSafetensors(new Map(list.map((n) => [n, llamaTensors.get(n)!])));
    const half = Math.floor(names.length / 2);
    const index = {
      metadata: { total_size: 0 },
      weight_map: Object.fromEntries(
        names.map((n, i) => [n, i < half ? 'model-00001-of-00002.safetensors' : 'model-00002-of-00002.safetensors']),
      ),
    };
    const folder = blobFolder({
      'config.json': new TextEncoder().encode(JSON.stringify(llamaJson)),
      'model.safetensors.index.json': new TextEncoder().encode(JSON.stringify(index)),
      'model-00001-of-00002.safetensors': shard(names.slice(0, half)),
      'model-00002-of-00002.safetensors': shard(names.slice(half)),
    });
    const loaded = await loadLmCheckpoint(folder);
    for (const [name, t] of llamaTensors) expect(loaded.weights.get(name)!.data).toEqual(t.data);
  });

  it('widens F16 and BF16 tensors to float32', async () => {
    const f16 = await loadLmCheckpoint(
      blobFolder({
        'config.json': new TextEncoder().encode(JSON.stringify(llamaJson)),
        'model.safetensors': encodeSafetensors(llamaTensors, undefined, { dtype: 'F16' }),
      }),
    );
    const bf16 = await loadLmCheckpoint(
      blobFolder({
        'config.json': new TextEncoder().encode(JSON.stringify(llamaJson)),
        'model.safetensors': bf16File(llamaTensors),
      }),
    );
    const name = 'model.layers.1.mlp.down_proj.weight';
    const stored = llamaTensors.get(name)!.data;
    const f16File = SafetensorsFile.parse(
      encodeSafetensors(new Map([[name, llamaTensors.get(name)!]]), undefined, { dtype: 'F16' }),
      'x',
    );
    expect(f16.weights.get(name)!.data).toEqual(f16File.tensor(name).data);
    for (let i = 0; i < stored.length; i++) {
      expect(Math.abs(f16.weights.get(name)!.data[i] - stored[i])).toBeLessThanOrEqual(Math.abs(stored[i]) * 2 ** -11 + 2 ** -25);
      const bits = new Uint32Array(Float32Array.of(stored[i]).buffer)[0];
      expect(bf16.weights.get(name)!.data[i]).toBe(new Float32Array(Uint32Array.of(bits & 0xffff0000).buffer)[0]);
    }
  });

  it('drops a stored head equal to the tied embedding, and refuses one that differs', async () => {
    const tied = { ...llamaJson, tie_word_embeddings: true };
    const withCopy = new Map(llamaTensors);
    withCopy.set('lm_head.weight', llamaTensors.get('model.embed_tokens.weight')!);
    const loaded = await loadLmCheckpoint(folderOf(tied, withCopy));
    expect(loaded.weights.has('lm_head.weight')).toBe(false);
    expect(loaded.notes).toEqual(['dropped the stored lm_head.weight: it equals the embedding (tied)']);
    expect(lmHeadWeight(loaded.weights, loaded.config)).toBe(loaded.weights.get('model.embed_tokens.weight'));
    await expect(loadLmCheckpoint(folderOf(tied, llamaTensors))).rejects.toThrow(
      /tensor "lm_head.weight" differs from the embedding, but config.json ties them.*set tie_word_embeddings to false/,
    );
    const headless = new Map(llamaTensors);
    headless.delete('lm_head.weight');
    expect((await loadLmCheckpoint(folderOf(tied, headless))).weights.has('lm_head.weight')).toBe(false);
    await expect(loadLmCheckpoint(folderOf(llamaJson, headless))).rejects.toThrow(
      /has no tensor "lm_head.weight" \(shape \[61, 32\] expected\).*set it true if the head is the embedding/,
    );
  });

  it('names the tensor and the shape expected when one is missing, misshapen or unknown', async () => {
    const missing = new Map(llamaTensors);
    missing.delete('model.layers.1.self_attn.k_proj.weight');
    await expect(loadLmCheckpoint(folderOf(llamaJson, missing))).rejects.toThrow(
      /has no tensor "model.layers.1.self_attn.k_proj.weight" \(shape \[16, 32\] expected\)/,
    );
    await expect(loadLmCheckpoint(folderOf({ ...llamaJson, num_key_value_heads: 4 }, llamaTensors))).rejects.toThrow(
      /tensor "model.layers.0.self_attn.k_proj.weight" has shape \[16, 32\], but config.json implies \[32, 32\]/,
    );
    await expect(loadLmCheckpoint(folderOf({ ...llamaJson, attention_bias: true }, llamaTensors))).rejects.toThrow(
      /has no tensor "model.layers.0.self_attn.q_proj.bias" \(shape \[32\] expected\)/,
    );
    const withBuffer = new Map(llamaTensors);
    withBuffer.set('model.layers.0.self_attn.rotary_emb.inv_freq', { shape: [4], data: new Float32Array(4) });
    expect((await loadLmCheckpoint(folderOf(llamaJson, withBuffer))).notes).toEqual([
      'skipped 1 stored buffer(s) (causal masks, rotary frequencies): the model computes them',
    ]);
    const extra = new Map(llamaTensors);
    extra.set('model.layers.2.input_layernorm.weight', { shape: [32], data: new Float32Array(32) });
    await expect(loadLmCheckpoint(folderOf(llamaJson, extra))).rejects.toThrow(
      /holds 1 tensor\(s\) a llama model of 2 layers \(config.json\) does not have: "model.layers.2.input_layernorm.weight".*ignoreUnknown/,
    );
    const skipped = await loadLmCheckpoint(folderOf(llamaJson, extra), { ignoreUnknown: true });
    expect(skipped.notes).toEqual(['skipped 1 unknown tensor(s): "model.layers.2.input_layernorm.weight"']);
    await expect(loadLmCheckpoint(blobFolder({ 'model.safetensors': encodeSafetensors(llamaTensors) }))).rejects.toThrow(
      /config.json: not found/,
    );
  });

  it('loads GPT-2 under bare names, skipping the attention-mask buffers, and saves them back bare', async () => {
    const weights = randomWeights(gpt2Json);
    const bare = new Map([...weights].map(([n, t]) => [n.replace(/^transformer\./, ''), t]));
    for (let l = 0; l < 2; l++) {
      bare.set(`h.${l}.attn.bias`, { shape: [1, 1, 12, 12], data: new Float32Array(144) });
      bare.set(`h.${l}.attn.masked_bias`, { shape: [], data: Float32Array.of(-1e4) });
    }
    const folder = folderOf(gpt2Json, bare);
    const loaded = await loadLmCheckpoint(folder);
    expect(loaded.layout).toEqual({ arch: 'gpt2', prefix: '' });
    expect(loaded.config.tieWordEmbeddings).toBe(true);
    expect([...loaded.weights.keys()].sort()).toEqual([...weights.keys()].sort());
    expect(loaded.weights.get('transformer.h.1.attn.c_attn.weight')).toEqual(weights.get('transformer.h.1.attn.c_attn.weight'));
    expect(loaded.weights.get('transformer.h.1.attn.c_attn.weight')!.shape).toEqual([16, 48]);
    expect(loaded.notes).toEqual(['skipped 4 stored buffer(s) (causal masks, rotary frequencies): the model computes them']);

    await saveLmCheckpoint(folder, loaded.weights, loaded.config, loaded.layout, { sourceConfig: loaded.sourceConfig });
    const saved = SafetensorsFile.parse(new Uint8Array(await folder.files.get('model.safetensors')!.arrayBuffer()), 'saved');
    expect(saved.names.sort()).toEqual([...weights.keys()].map((n) => n.replace(/^transformer\./, '')).sort());
    const again = await loadLmCheckpoint(folder);
    expect(again.config).toEqual(loaded.config);
    for (const [name, t] of weights) expect(again.weights.get(name)!.data).toEqual(t.data);
  });

  it('saves a LLaMA-family model under model.* names with its config, refusing incomplete weight maps', async () => {
    const folder = blobFolder();
    const config = parseLmConfig(llamaJson);
    await saveLmCheckpoint(folder, llamaTensors, config, { arch: 'llama', prefix: 'model.' }, { dtype: 'F16' });
    const loaded = await loadLmCheckpoint(folder);
    expect(loaded.config).toEqual(config);
    const name = 'model.embed_tokens.weight';
    const t = llamaTensors.get(name)!.data;
    for (let i = 0; i < t.length; i++)
      expect(Math.abs(loaded.weights.get(name)!.data[i] - t[i])).toBeLessThanOrEqual(Math.abs(t[i]) * 2 ** -11 + 2 ** -25);
    const partial = new Map(llamaTensors);
    partial.delete('model.norm.weight');
    await expect(saveLmCheckpoint(folder, partial, config, loaded.layout)).rejects.toThrow(
      /the weights have no "model.norm.weight" \(\[32\]\)/,
    );
    const adapters = new Map(vector.under('param.'));
    await expect(saveLmCheckpoint(folder, adapters, config, loaded.layout)).rejects.toThrow(
      /are not part of the model.*adapters are saved with their own files/,
    );
  });
});
