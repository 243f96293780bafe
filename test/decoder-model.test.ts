// DecoderLM from Hugging Face checkpoints of each family — Qwen2 (q/k/v biases, grouped-query, untied
// head, sharded once), SmolLM2-style Llama (one key/value head, tied head) and GPT-2 (bare GPT2Model
// names with their attention buffers, learned positions, tied head) — built from synthetic weights
// under the real names and config fields, gives the float64 reference's logits (src/reference/
// decoder64.ts, the math the lm_* golden vectors pin) on both backends, padded batches included; a
// model with SNELL branches adds exactly their update; bad batches are refused by name.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../src/backend.js';
import type { NamedArray } from '../src/core/weights.js';
import { loadLmCheckpoint } from '../src/io/lm-checkpoint.js';
import { parseLmConfig } from '../src/io/lm-config.js';
import { lmWeightShapes } from '../src/io/lm-naming.js';
import { encodeSafetensors } from '../src/io/safetensors-write.js';
import { blobFolder } from '../src/io/source-blob.js';
import { targetNames } from '../src/model/decoder/config.js';
import { DecoderLM } from '../src/model/decoder/lm.js';
import { decoderLogits64 } from '../src/reference/decoder64.js';
import { uniform } from '../src/reference/random.js';
import { BACKENDS } from './support/backends.js';
import { expectClose } from './support/close.js';

const FAMILIES = {
  qwen2: {
    model_type: 'qwen2',
    vocab_size: 53,
    hidden_size: 24,
    intermediate_size: 40,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    rms_norm_eps: 1e-6,
    rope_theta: 1000000.0,
    max_position_embeddings: 32,
    tie_word_embeddings: false,
  },
  smollm2: {
    model_type: 'llama',
    vocab_size: 47,
    hidden_size: 24,
    intermediate_size: 64,
    num_hidden_layers: 2,
    num_attention_heads: 3,
    num_key_value_heads: 1,
    rms_norm_eps: 1e-5,
    rope_theta: 100000.0,
    max_position_embeddings: 32,
    tie_word_embeddings: true,
  },
  gpt2: {
    model_type: 'gpt2',
    vocab_size: 50,
    n_embd: 16,
    n_layer: 2,
    n_head: 2,
    n_positions: 12,
    activation_function: 'gelu_new',
  },
} as const;

/** Weights of every shape the config implies, under the checkpoint's stored names (GPT-2 bare, as the original files). */
function checkpoint(family: keyof typeof FAMILIES): ReturnType<typeof blobFolder> {
  const json = FAMILIES[family];
  const shapes = lmWeightShapes(parseLmConfig(json));
  const stored = new Map<string, NamedArray>();
  [...shapes].forEach(([name, shape], i) => {
    const size = shape.reduce((a, d) => a * d, 1);
    const norm = /norm|ln_/.test(name) && name.endsWith('weight');
    const data = uniform(size, 100 + i, norm ? 0.8 : -0.3, norm ? 1.2 : 0.3);
    stored.set(family === 'gpt2' ? name.replace(/^transformer\./, '') : name, { shape, data });
  });
  const text = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));
  if (family === 'gpt2') {
    // the causal-mask buffers the original GPT-2 files store beside each attention
    for (let l = 0; l < FAMILIES.gpt2.n_layer; l++)
      stored.set(`h.${l}.attn.bias`, { shape: [1, 1, 12, 12], data: new Float32Array(144).fill(1) });
  }
  if (family !== 'qwen2') return blobFolder({ 'config.json': text(json), 'model.safetensors': encodeSafetensors(stored) });
  const names = [...stored.keys()];
  const half = Math.floor(names.length / 2);
  const file = (i: number) => `model-0000${i + 1}-of-00002.safetensors`;
  const shard = (list: string[]) => encodeSafetensors(new Map(list.map((n) => [n, stored.get(n)!])));
  return blobFolder({
    'config.json': text(json),
    'model.safetensors.index.json': text({
      metadata: {},
      weight_map: Object.fromEntries(names.map((n, i) => [n, file(i < half ? 0 : 1)])),
    }),
    [file(0)]: shard(names.slice(0, half)),
    [file(1)]: shard(names.slice(half)),
  });
}

const batchOf = (V: number, B: number, T: number) => Int32Array.from({ length: B * T }, (_, i) => (i * 7 + 3) % V);

for (const [kind, make] of BACKENDS) {
  describe(`DecoderLM from Hugging Face checkpoints (${kind})`, () => {
    let b: Backend;
    beforeAll(async () => {
      b = await make();
    });
    afterAll(() => b?.destroy());

    for (const family of Object.keys(FAMILIES) as (keyof typeof FAMILIES)[]) {
      it(`${family}: the reference's logits, padded and not`, async () => {
        const { weights, config } = await loadLmCheckpoint(checkpoint(family));
        const model = new DecoderLM(b, config, weights, { plan: null, seed: 0 });
        const [B, T] = [3, 6];
        const ids = batchOf(config.vocabSize, B, T);
        for (const lengths of [undefined, [6, 4, 1]]) {
          const logits = model.forward({ ids, shape: [B, T], lengths }, false);
          const ref = decoderLogits64(weights, config, ids, { B, T, lengths });
          expectClose((await b.read(logits)) as Float32Array, ref, 2e-6, `${family} logits, lengths ${lengths ?? 'full'}`);
          model.backend.free(logits);
        }
        expect(model.memory().live.activations + model.memory().live.scratch).toBe(0);
        model.dispose();
      });
    }

    it('SNELL branches on every projection add exactly their sparsified update', async () => {
      const { weights, config } = await loadLmCheckpoint(checkpoint('smollm2'));
      const plan = { method: 'snell' as const, rank: 4, kernelHeads: 2, sparsity: 0.6, targets: targetNames('llama') };
      const model = new DecoderLM(b, config, weights, { plan, seed: 3 });
      const withBranches = new Map(weights);
      for (const p of model.params())
        withBranches.set(p.name, { shape: [...p.tensor.shape], data: (await b.read(p.tensor)) as Float32Array });
      expect(model.params()).toHaveLength(2 * 7 * config.layers);
      const [B, T] = [2, 5];
      const ids = batchOf(config.vocabSize, B, T);
      const logits = model.forward({ ids, shape: [B, T], lengths: [5, 3] }, false);
      const ref = decoderLogits64(withBranches, config, ids, { B, T, lengths: [5, 3] }, { sparsity: 0.6 });
      expectClose((await b.read(logits)) as Float32Array, ref, 2e-6, 'logits with branches');
      model.backend.free(logits);
      model.dispose();
    });

    it('refuses batches it cannot compute, naming the problem', async () => {
      const { weights, config } = await loadLmCheckpoint(checkpoint('gpt2'));
      const model = new DecoderLM(b, config, weights, { plan: null, seed: 0 });
      expect(() => model.forward({ ids: new Int32Array(13 * 1), shape: [1, 13] }, false)).toThrow(
        /13 tokens exceed the model's 12 positions/,
      );
      expect(() => model.forward({ ids: Int32Array.of(1, 50), shape: [1, 2] }, false)).toThrow(
        /token id 50 at 1 is outside the vocabulary of 50/,
      );
      expect(() => model.forward({ ids: new Int32Array(4), shape: [2, 2], lengths: [2, 0] }, false)).toThrow(
        /lengths\[1\] = 0 must be an integer in \[1, 2\]/,
      );
      model.dispose();
    });
  });
}
