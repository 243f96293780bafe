// Generation with a KV cache, on both backends, for a tiny LLaMA (grouped-query: 4 heads over 2
// key/value heads, RoPE, untied head) and a tiny GPT-2 (learned positions, tied head) from synthetic
// weights under their transformers names: every cached step's logits equal the full forward's at that
// position and the float64 reference's (src/reference/decoder64.ts) for prompts of different lengths
// batched together; generate() draws what the sampler draws from repeated full forwards (greedy,
// seeded temperature/top-k/top-p); top-k 1 is greedy; a stop token ends its sequence; SNELL branches
// generate with their noise-free forward; bad requests are refused by name.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../src/backend.js';
import type { NamedArray } from '../src/core/weights.js';
import { type LmConfig, parseLmConfig } from '../src/io/lm-config.js';
import { lmWeightShapes } from '../src/io/lm-naming.js';
import { targetNames } from '../src/model/decoder/config.js';
import { DecoderLM } from '../src/model/decoder/lm.js';
import { decoderLogits64 } from '../src/reference/decoder64.js';
import { uniform } from '../src/reference/random.js';
import { generate } from '../src/text/generate.js';
import { greedyToken, type SamplingOptions, TokenSampler } from '../src/text/sampler.js';
import { BACKENDS } from './support/backends.js';
import { expectClose } from './support/close.js';

const CONFIGS = {
  llama: {
    model_type: 'llama',
    vocab_size: 41,
    hidden_size: 32,
    intermediate_size: 48,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    rms_norm_eps: 1e-5,
    rope_theta: 10000.0,
    max_position_embeddings: 16,
    tie_word_embeddings: false,
  },
  gpt2: {
    model_type: 'gpt2',
    vocab_size: 37,
    n_embd: 16,
    n_layer: 2,
    n_head: 2,
    n_positions: 16,
    activation_function: 'gelu_new',
  },
} as const;
type Family = keyof typeof CONFIGS;

function checkpoint(family: Family): { config: LmConfig; weights: Map<string, NamedArray> } {
  const config = parseLmConfig(CONFIGS[family]);
  const weights = new Map<string, NamedArray>();
  [...lmWeightShapes(config)].forEach(([name, shape], i) => {
    const norm = /norm|ln_/.test(name) && name.endsWith('weight');
    // larger weights than an initialised model's, so logits spread and sampled tokens vary
    const data = uniform(
      shape.reduce((a, d) => a * d, 1),
      200 + i,
      norm ? 0.8 : -0.5,
      norm ? 1.2 : 0.5,
    );
    weights.set(name, { shape, data });
  });
  return { config, weights };
}

const PROMPTS = [
  [3, 14, 1, 5, 9],
  [2, 6],
  [5, 3, 5],
];
const NEW = 6;

/** The last row of the full forward's logits for one sequence. */
async function lastLogits(model: DecoderLM, seq: readonly number[]): Promise<Float32Array> {
  const logits = model.forward({ ids: Int32Array.from(seq), shape: [1, seq.length] }, false);
  const rows = (await model.backend.read(logits)) as Float32Array;
  model.backend.free(logits);
  return rows.slice((seq.length - 1) * model.config.vocabSize);
}

/** Tokens drawn by fresh full forwards over the growing sequence, one sampler per prompt (seed + index). */
async function uncached(model: DecoderLM, options: SamplingOptions & { maxNewTokens: number }): Promise<number[][]> {
  return Promise.all(
    PROMPTS.map(async (prompt, p) => {
      const sampler = new TokenSampler({ ...options, seed: (options.seed ?? 0) + p });
      const seq = [...prompt];
      for (let i = 0; i < options.maxNewTokens; i++) seq.push(sampler.next(await lastLogits(model, seq)));
      return seq.slice(prompt.length);
    }),
  );
}

for (const [kind, make] of BACKENDS) {
  describe(`generation with a KV cache (${kind})`, () => {
    let b: Backend;
    beforeAll(async () => {
      b = await make();
    });
    afterAll(() => b?.destroy());

    for (const family of Object.keys(CONFIGS) as Family[]) {
      it(`${family}: each cached step's logits are the full forward's and the reference's`, async () => {
        const { config, weights } = checkpoint(family);
        const model = new DecoderLM(b, config, weights, { plan: null, seed: 0 });
        const V = config.vocabSize;
        const T = Math.max(...PROMPTS.map((p) => p.length));
        const B = PROMPTS.length;
        const ids = new Int32Array(B * T);
        PROMPTS.forEach((p, s) => ids.set(p, s * T));
        const cache = model.kvCache(B, T + NEW - 1);
        const steps: Float32Array[] = [];
        const seqs = PROMPTS.map((p) => [...p]);
        let batch: Parameters<DecoderLM['decode']>[1] = { ids, shape: [B, T], lengths: PROMPTS.map((p) => p.length) };
        for (let step = 0; step < NEW; step++) {
          const logits = model.decode(cache, batch);
          const rows = (await b.read(logits)) as Float32Array;
          model.backend.free(logits);
          steps.push(rows);
          seqs.forEach((seq, s) => seq.push(greedyToken(rows.subarray(s * V, (s + 1) * V))));
          batch = { ids: Int32Array.from(seqs, (seq) => seq[seq.length - 1]!), shape: [B, 1] };
        }
        expect(cache.filled).toBe(T + NEW - 1);
        cache.dispose();
        for (const [s, seq] of seqs.entries()) {
          const L = PROMPTS[s]!.length;
          const fed = seq.slice(0, -1);
          const full = model.forward({ ids: Int32Array.from(fed), shape: [1, fed.length] }, false);
          const fullRows = (await b.read(full)) as Float32Array;
          model.backend.free(full);
          const ref = decoderLogits64(weights, config, fed, { B: 1, T: fed.length });
          for (let step = 0; step < NEW; step++) {
            const at = (L - 1 + step) * V;
            const cached = steps[step]!.subarray(s * V, (s + 1) * V);
            expectClose(cached, fullRows.subarray(at, at + V), 1e-5, `prompt ${s} step ${step} against the full forward`);
            expectClose(cached, ref.subarray(at, at + V), 1e-5, `prompt ${s} step ${step} against the reference`);
            expect(seq[L + step], `prompt ${s} step ${step}: the reference's argmax`).toBe(greedyToken(ref.subarray(at, at + V)));
          }
        }
        expect(model.memory().live.activations + model.memory().live.scratch).toBe(0);
        model.dispose();
      });

      it(`${family}: generate() draws what the sampler draws from repeated full forwards`, async () => {
        const { config, weights } = checkpoint(family);
        const model = new DecoderLM(b, config, weights, { plan: null, seed: 0 });
        const greedy = await generate(model, PROMPTS, { maxNewTokens: NEW, temperature: 0 });
        expect(greedy).toEqual(await uncached(model, { maxNewTokens: NEW, temperature: 0 }));
        expect(await generate(model, PROMPTS, { maxNewTokens: NEW, topK: 1 })).toEqual(greedy);
        expect(await generate(model, PROMPTS[1]!, { maxNewTokens: NEW, temperature: 0 })).toEqual(greedy[1]);

        const sampling = { maxNewTokens: NEW, temperature: 1.5, topK: 20, topP: 0.95, seed: 11 };
        const drawn = await generate(model, PROMPTS, sampling);
        expect(drawn).toEqual(await uncached(model, sampling));
        expect(await generate(model, PROMPTS, sampling)).toEqual(drawn);
        expect(await generate(model, PROMPTS, { ...sampling, seed: 12 })).not.toEqual(drawn);
        expect(drawn).not.toEqual(greedy);

        const seen: (number | null)[][] = [];
        const stop = greedy[0]![2]!;
        const stopped = await generate(model, PROMPTS, {
          maxNewTokens: NEW,
          temperature: 0,
          stopTokens: [stop],
          onStep: (tokens) => seen.push([...tokens]),
        });
        stopped.forEach((out, s) => {
          const at = greedy[s]!.indexOf(stop);
          expect(out, `prompt ${s} stops after its first ${stop}`).toEqual(at < 0 ? greedy[s] : greedy[s]!.slice(0, at + 1));
        });
        expect(seen.map((tokens) => tokens[0])).toEqual(stopped[0]!.concat(Array(seen.length - stopped[0]!.length).fill(null)));
        expect(model.memory().live.activations + model.memory().live.scratch).toBe(0);
        model.dispose();
      });
    }

    it('a model with SNELL branches generates with their noise-free forward', async () => {
      const { config, weights } = checkpoint('llama');
      const plan = { method: 'snell' as const, rank: 4, kernelHeads: 2, sparsity: 0.5, targets: targetNames('llama') };
      const model = new DecoderLM(b, config, weights, { plan, seed: 5 });
      const greedy = await generate(model, PROMPTS, { maxNewTokens: 4, temperature: 0 });
      expect(greedy).toEqual(await uncached(model, { maxNewTokens: 4, temperature: 0 }));
      const withBranches = new Map(weights);
      for (const p of model.params())
        withBranches.set(p.name, { shape: [...p.tensor.shape], data: (await b.read(p.tensor)) as Float32Array });
      const seq = [...PROMPTS[0]!, ...greedy[0]!.slice(0, -1)];
      const ref = decoderLogits64(withBranches, config, seq, { B: 1, T: seq.length }, { sparsity: 0.5 });
      const V = config.vocabSize;
      greedy[0]!.forEach((token, i) => {
        const at = (PROMPTS[0]!.length - 1 + i) * V;
        expect(token, `step ${i}: the reference's argmax`).toBe(greedyToken(ref.subarray(at, at + V)));
      });
      model.dispose();
    });

    it('refuses requests it cannot serve, naming the fix', async () => {
      const { config, weights } = checkpoint('gpt2');
      const model = new DecoderLM(b, config, weights, { plan: null, seed: 0 });
      const opts = { maxNewTokens: 2 };
      await expect(generate(model, [], opts)).rejects.toThrow(/at least one prompt/);
      await expect(generate(model, [[1], []], opts)).rejects.toThrow(/prompt 1 is empty/);
      await expect(generate(model, [1, 37], opts)).rejects.toThrow(/token id 37 at 1, outside the vocabulary of 37/);
      await expect(generate(model, Array(17).fill(1), opts)).rejects.toThrow(/17 tokens, more than the model's 16 positions/);
      await expect(generate(model, Array(10).fill(1), { maxNewTokens: 8 })).rejects.toThrow(
        /8 new ones need 17 positions and the model has 16: ask for at most 7 new tokens/,
      );
      await expect(generate(model, [1], { maxNewTokens: 0 })).rejects.toThrow(/maxNewTokens must be an integer ≥ 1/);
      await expect(generate(model, [1], { maxNewTokens: 2, topP: 0 })).rejects.toThrow(/topP must be in \(0, 1\]/);
      expect(await generate(model, Array(10).fill(1), { maxNewTokens: 7 })).toHaveLength(7);
      const cache = model.kvCache(1, 4);
      model.backend.free(model.decode(cache, { ids: Int32Array.of(1, 2, 3), shape: [1, 3] }));
      expect(() => model.decode(cache, { ids: Int32Array.of(1, 2), shape: [1, 2] })).toThrow(/one token per sequence/);
      model.backend.free(model.decode(cache, { ids: Int32Array.of(4), shape: [1, 1] }));
      expect(() => model.decode(cache, { ids: Int32Array.of(4), shape: [1, 1] })).toThrow(/holds 4 tokens per sequence/);
      cache.dispose();
      expect(model.memory().live.activations + model.memory().live.scratch).toBe(0);
      model.dispose();
    });
  });
}
