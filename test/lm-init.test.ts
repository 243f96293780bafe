// initDecoderWeights against transformers' LLaMA initialisation: every tensor of lmWeightShapes, with
// N(0, 0.02²) linears and embedding (untruncated: 4.55% beyond 2σ), RMSNorms 1, biases 0, the
// padding row 0; the same seed gives the same draws.

import { describe, expect, it } from 'vitest';
import { parseLmConfig } from '../src/io/lm-config.js';
import { lmWeightShapes } from '../src/io/lm-naming.js';
import { initDecoderWeights } from '../src/io/lm-init.js';

const LLAMA = {
  model_type: 'llama',
  vocab_size: 512,
  hidden_size: 64,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  intermediate_size: 96,
  max_position_embeddings: 64,
  tie_word_embeddings: false,
};

function moments(data: Float32Array): { mean: number; std: number; beyond2: number } {
  let sum = 0;
  for (const v of data) sum += v;
  const mean = sum / data.length;
  let sq = 0;
  for (const v of data) sq += (v - mean) ** 2;
  const std = Math.sqrt(sq / data.length);
  return { mean, std, beyond2: data.filter((v) => Math.abs(v) > 0.04).length / data.length };
}

describe('initDecoderWeights', () => {
  it('draws every tensor of the config with LLaMA’s statistics', () => {
    const config = parseLmConfig(LLAMA);
    const w = initDecoderWeights(config, 0);
    const shapes = lmWeightShapes(config);
    expect([...w.keys()]).toEqual([...shapes.keys()]);
    for (const [name, shape] of shapes) {
      const t = w.get(name)!;
      expect(t.shape).toEqual(shape);
      expect(t.data.length).toBe(shape.reduce((a, d) => a * d, 1));
      if (shape.length === 1) expect(t.data.every((v) => v === 1)).toBe(true);
    }
    // all matrices pooled: 2 · 512·64 + 2 · (64·64 + 2·64·32 + 64·64 + 3·64·96) = 126 976 draws
    const matrices = [...w.values()].filter((t) => t.shape.length === 2);
    const pooled = Float32Array.from(matrices.flatMap((t) => [...t.data]));
    expect(pooled.length).toBe(126_976);
    const m = moments(pooled);
    // standard errors: mean 0.02/√n ≈ 5.7e-5, std 0.02/√(2n) ≈ 4e-5, P(|z| > 2) √(p(1−p)/n) ≈ 6e-4
    expect(Math.abs(m.mean)).toBeLessThan(3e-4);
    expect(m.std).toBeCloseTo(0.02, 3);
    expect(Math.abs(m.beyond2 - 0.0455)).toBeLessThan(0.004);
    // each matrix on its own, too
    for (const t of matrices) expect(moments(t.data).std).toBeGreaterThan(0.018);
  });

  it('repeats for a seed and differs across seeds', () => {
    const config = parseLmConfig(LLAMA);
    const a = initDecoderWeights(config, 3).get('model.layers.1.mlp.down_proj.weight')!.data;
    expect(initDecoderWeights(config, 3).get('model.layers.1.mlp.down_proj.weight')!.data).toEqual(a);
    expect(initDecoderWeights(config, 4).get('model.layers.1.mlp.down_proj.weight')!.data).not.toEqual(a);
  });

  it('zeroes the padding row and the biases, and scales by initializerRange', () => {
    const config = parseLmConfig({ ...LLAMA, pad_token_id: 7, attention_bias: true });
    const w = initDecoderWeights(config, 0, 0.1);
    const embedding = w.get('model.embed_tokens.weight')!.data;
    expect(embedding.subarray(7 * 64, 8 * 64).every((v) => v === 0)).toBe(true);
    expect(embedding.subarray(6 * 64, 7 * 64).some((v) => v !== 0)).toBe(true);
    expect(w.get('model.layers.0.self_attn.q_proj.bias')!.data.every((v) => v === 0)).toBe(true);
    expect(moments(w.get('lm_head.weight')!.data).std).toBeCloseTo(0.1, 2);
  });

  it('refuses GPT-2 and a non-positive range', () => {
    const gpt2 = parseLmConfig({ model_type: 'gpt2', vocab_size: 16, n_embd: 8, n_layer: 1, n_head: 2, n_positions: 8 });
    expect(() => initDecoderWeights(gpt2, 0)).toThrow(/GPT-2's scaled residual init\) is not supported: use a llama config/);
    expect(() => initDecoderWeights(parseLmConfig(LLAMA), 0, 0)).toThrow(/initializerRange must be > 0/);
  });
});
