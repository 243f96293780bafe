// Decoder configs from transformers' config.json: the published arrangements of Llama, SmolLM2,
// TinyLlama, Qwen2, Mistral and GPT-2 read to the right shapes and defaults, what the model cannot
// compute refused with the field and the fix, and config.json written back to the same config.

import { describe, expect, it } from 'vitest';
import { type LmConfig, lmConfigJson, parseLmConfig } from '../src/io/lm-config.js';

/** SmolLM2-135M's config.json (the fields that shape the model). */
const smolLm2 = {
  architectures: ['LlamaForCausalLM'],
  model_type: 'llama',
  vocab_size: 49152,
  hidden_size: 576,
  intermediate_size: 1536,
  num_hidden_layers: 30,
  num_attention_heads: 9,
  num_key_value_heads: 3,
  hidden_act: 'silu',
  max_position_embeddings: 8192,
  rms_norm_eps: 1e-5,
  rope_theta: 100000,
  rope_scaling: null,
  tie_word_embeddings: true,
  attention_bias: false,
  mlp_bias: false,
  bos_token_id: 0,
  eos_token_id: 0,
};

/** TinyLlama-1.1B's config.json, which leaves out tie_word_embeddings, rope_theta and the biases. */
const tinyLlama = {
  model_type: 'llama',
  vocab_size: 32000,
  hidden_size: 2048,
  intermediate_size: 5632,
  num_hidden_layers: 22,
  num_attention_heads: 32,
  num_key_value_heads: 4,
  hidden_act: 'silu',
  max_position_embeddings: 2048,
  rms_norm_eps: 1e-5,
  bos_token_id: 1,
  eos_token_id: 2,
};

/** Qwen2-0.5B's config.json. */
const qwen2 = {
  model_type: 'qwen2',
  vocab_size: 151936,
  hidden_size: 896,
  intermediate_size: 4864,
  num_hidden_layers: 24,
  num_attention_heads: 14,
  num_key_value_heads: 2,
  hidden_act: 'silu',
  max_position_embeddings: 131072,
  rms_norm_eps: 1e-6,
  rope_theta: 1000000,
  tie_word_embeddings: true,
  use_sliding_window: false,
  sliding_window: 131072,
  max_window_layers: 24,
  bos_token_id: 151643,
  eos_token_id: 151643,
};

/** GPT-2 small's config.json. */
const gpt2 = {
  model_type: 'gpt2',
  activation_function: 'gelu_new',
  vocab_size: 50257,
  n_embd: 768,
  n_layer: 12,
  n_head: 12,
  n_inner: null,
  n_positions: 1024,
  n_ctx: 1024,
  layer_norm_epsilon: 1e-5,
  bos_token_id: 50256,
  eos_token_id: 50256,
};

describe('decoder configs', () => {
  it('reads SmolLM2 (tied, grouped-query attention)', () => {
    expect(parseLmConfig(smolLm2)).toEqual({
      arch: 'llama',
      modelType: 'llama',
      vocabSize: 49152,
      hidden: 576,
      layers: 30,
      heads: 9,
      kvHeads: 3,
      headDim: 64,
      intermediate: 1536,
      normEps: 1e-5,
      ropeTheta: 100000,
      attentionBias: false,
      outputBias: false,
      mlpBias: false,
      tieWordEmbeddings: true,
      maxPositions: 8192,
      bosTokenId: 0,
      eosTokenIds: [0],
      padTokenId: null,
      activation: 'silu',
    } satisfies LmConfig);
  });

  it("fills what TinyLlama leaves out with transformers' LlamaConfig defaults", () => {
    const c = parseLmConfig(tinyLlama);
    expect([c.tieWordEmbeddings, c.ropeTheta, c.attentionBias, c.mlpBias, c.headDim, c.kvHeads]).toEqual([
      false,
      10000,
      false,
      false,
      64,
      4,
    ]);
    const bare = parseLmConfig({
      model_type: 'llama',
      vocab_size: 10,
      hidden_size: 8,
      intermediate_size: 16,
      num_hidden_layers: 1,
      num_attention_heads: 2,
    });
    expect([bare.kvHeads, bare.normEps, bare.maxPositions, bare.bosTokenId, bare.eosTokenIds]).toEqual([2, 1e-6, 2048, 1, [2]]);
  });

  it('gives Qwen2 its q/k/v biases (never on o_proj or the MLP), and llama attention_bias all four', () => {
    const q = parseLmConfig(qwen2);
    expect([q.attentionBias, q.outputBias, q.mlpBias, q.headDim, q.ropeTheta]).toEqual([true, false, false, 64, 1e6]);
    const l = parseLmConfig({ ...tinyLlama, attention_bias: true, mlp_bias: true });
    expect([l.attentionBias, l.outputBias, l.mlpBias]).toEqual([true, true, true]);
  });

  it('takes head_dim when given and a list of eos ids', () => {
    const c = parseLmConfig({ ...tinyLlama, head_dim: 128, eos_token_id: [128001, 128009], pad_token_id: 5 });
    expect([c.headDim, c.eosTokenIds, c.padTokenId]).toEqual([128, [128001, 128009], 5]);
  });

  it('reads Mistral without a window in effect, and refuses one that is', () => {
    const mistral = { ...tinyLlama, model_type: 'mistral', max_position_embeddings: 32768, sliding_window: null };
    expect(parseLmConfig(mistral).arch).toBe('llama');
    expect(() => parseLmConfig({ ...mistral, sliding_window: 4096 })).toThrow(
      /sliding_window 4096 is below max_position_embeddings 32768.*set sliding_window to null/,
    );
    const { sliding_window: _, ...noWindow } = mistral;
    expect(() => parseLmConfig(noWindow)).toThrow(/sliding_window 4096/);
  });

  it('reads GPT-2: n_inner null is 4·n_embd, always biased, tied by default, learned positions', () => {
    const c = parseLmConfig(gpt2);
    expect(c).toMatchObject({
      arch: 'gpt2',
      hidden: 768,
      heads: 12,
      kvHeads: 12,
      headDim: 64,
      intermediate: 3072,
      normEps: 1e-5,
    });
    expect([c.ropeTheta, c.attentionBias, c.outputBias, c.mlpBias, c.tieWordEmbeddings, c.maxPositions]).toEqual([
      null,
      true,
      true,
      true,
      true,
      1024,
    ]);
    expect(parseLmConfig({ ...gpt2, n_inner: 1000, activation_function: 'gelu_pytorch_tanh' }).intermediate).toBe(1000);
  });

  it('refuses what the model cannot compute, naming the field and the fix', () => {
    const refused: Array<[object, RegExp]> = [
      [
        { ...tinyLlama, rope_scaling: { rope_type: 'llama3', factor: 8 } },
        /rope_scaling .*llama3.* is not supported.*rope_scaling null/,
      ],
      [{ ...tinyLlama, hidden_act: 'gelu' }, /hidden_act "gelu" is not supported.*set hidden_act to "silu"/],
      [
        { ...tinyLlama, model_type: 'gemma' },
        /model_type "gemma" is not supported: the decoders are "llama", "qwen2", "mistral", "gpt2"/,
      ],
      [{ ...tinyLlama, model_type: undefined }, /has no "model_type"/],
      [{ ...tinyLlama, num_key_value_heads: 5 }, /num_attention_heads 32 is not a multiple of num_key_value_heads 5/],
      [{ ...tinyLlama, hidden_size: 2050 }, /hidden_size 2050 is not a multiple of num_attention_heads 32: give head_dim/],
      [{ ...tinyLlama, head_dim: 63 }, /head width 63 is odd/],
      [{ ...tinyLlama, hidden_size: undefined }, /has no "hidden_size"/],
      [{ ...tinyLlama, rms_norm_eps: -1 }, /"rms_norm_eps" must be a positive number/],
      [{ ...tinyLlama, tie_word_embeddings: 'yes' }, /"tie_word_embeddings" must be true or false/],
      [{ ...tinyLlama, eos_token_id: [2, -1] }, /"eos_token_id" must be a token id/],
      [{ ...qwen2, use_sliding_window: true }, /use_sliding_window is true.*set use_sliding_window to false/],
      [{ ...gpt2, activation_function: 'relu' }, /activation_function "relu" is not supported.*"gelu_new"/],
      [{ ...gpt2, n_head: 7 }, /n_embd 768 is not a multiple of n_head 7/],
      [{ ...gpt2, scale_attn_by_inverse_layer_idx: true }, /scale_attn_by_inverse_layer_idx is true/],
    ];
    for (const [json, message] of refused)
      expect(() => parseLmConfig(json as Record<string, unknown>, 'm/config.json')).toThrow(message);
    expect(() => parseLmConfig({ ...tinyLlama, hidden_act: 'gelu' }, 'm/config.json')).toThrow(/^m\/config\.json: /);
  });

  it('writes config.json back to the same config, keeping the fields it does not read', () => {
    const mistral = { ...tinyLlama, model_type: 'mistral', sliding_window: null };
    for (const json of [smolLm2, tinyLlama, qwen2, gpt2, mistral, { ...tinyLlama, attention_bias: true, eos_token_id: [3, 4] }]) {
      const c = parseLmConfig(json);
      expect(parseLmConfig(lmConfigJson(c))).toEqual(c);
      const kept = lmConfigJson(c, { ...json, torch_dtype: 'bfloat16' });
      expect(kept.torch_dtype).toBe('bfloat16');
      expect(parseLmConfig(kept)).toEqual(c);
    }
    expect(lmConfigJson(parseLmConfig(qwen2)).architectures).toEqual(['Qwen2ForCausalLM']);
    expect(lmConfigJson(parseLmConfig(gpt2))).toMatchObject({ n_inner: 3072, n_embd: 768, eos_token_id: 50256 });
  });
});
