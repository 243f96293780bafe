// A decoder language model's config.json (Hugging Face transformers) as a typed LmConfig, and back.
//
// Two arrangements:
//   'llama'  model_type llama, qwen2 or mistral: RMSNorm, RoPE (rotate_half), grouped-query attention
//            (kvHeads key/value heads, each serving heads/kvHeads query heads), SwiGLU MLP.
//            hidden_size, num_hidden_layers, num_attention_heads, num_key_value_heads (default: heads),
//            head_dim (default hidden/heads), intermediate_size, rms_norm_eps, rope_theta (10000),
//            max_position_embeddings, tie_word_embeddings (false, transformers' default for all three).
//            Biases: llama's attention_bias puts one on q, k, v and o_proj, mlp_bias on the MLP;
//            qwen2 always has q/k/v biases and never o_proj or MLP ones; mistral has none.
//   'gpt2'   LayerNorm, learned positions (wpe), fused Conv1D c_attn, gelu_new MLP:
//            n_embd, n_layer, n_head, n_inner (null → 4·n_embd), layer_norm_epsilon (1e-5),
//            n_positions, tie_word_embeddings (true), every Conv1D with a bias.
// What the model cannot compute is refused, naming the field and the fix: rope_scaling (other than
// the default rope type), sliding windows that could take effect, other activations, GPT-2's
// attention-scaling variants, head sizes that do not divide.

import type { DecoderArch, DecoderConfig } from '../model/decoder/config.js';
import { CheckpointError } from './errors.js';

type Json = Record<string, unknown>;

export type LmArch = DecoderArch;
/** silu (SwiGLU's gate, LLaMA family) or gelu_new (GPT-2's tanh approximation). */
export type LmActivation = 'silu' | 'gelu_new';

/** What the model computes with (model/decoder/config.ts), plus what config.json says around it. */
export interface LmConfig extends DecoderConfig {
  arch: LmArch;
  /** config.json's model_type: 'llama', 'qwen2', 'mistral' or 'gpt2'. */
  modelType: string;
  bosTokenId: number | null;
  /** Every id that ends a sequence (config.json may give one or a list). */
  eosTokenIds: number[];
  padTokenId: number | null;
  activation: LmActivation;
}

const LLAMA_TYPES = ['llama', 'qwen2', 'mistral'];
/** The config.json model_type values of the decoders. */
export const LM_MODEL_TYPES: readonly string[] = [...LLAMA_TYPES, 'gpt2'];
/** transformers' MistralConfig default window. */
const MISTRAL_WINDOW = 4096;

/** The LmConfig of a config.json object; `file` names it in errors. */
export function parseLmConfig(json: Json, file = 'config.json'): LmConfig {
  const fail = (problem: string): never => {
    throw new CheckpointError(file, problem);
  };
  const modelType = json.model_type;
  if (typeof modelType !== 'string')
    fail('has no "model_type": a decoder language model\'s config.json names it ("llama", "qwen2", "mistral" or "gpt2")');
  if (modelType === 'gpt2') return gpt2Config(json, fail);
  if (LLAMA_TYPES.includes(modelType as string)) return llamaConfig(json, modelType as string, fail);
  return fail(
    `model_type "${String(modelType)}" is not supported: the decoders are ${LM_MODEL_TYPES.map((t) => `"${t}"`).join(', ')}`,
  );
}

type Fail = (problem: string) => never;

function reader(json: Json, fail: Fail) {
  const int = (key: string, fallback?: number): number => {
    const v = json[key] ?? fallback;
    if (v === undefined) return fail(`has no "${key}"`);
    if (!Number.isSafeInteger(v) || (v as number) < 1)
      return fail(`"${key}" must be a positive integer, got ${JSON.stringify(v)}`);
    return v as number;
  };
  const positive = (key: string, fallback: number): number => {
    const v = json[key] ?? fallback;
    if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v))
      return fail(`"${key}" must be a positive number, got ${JSON.stringify(v)}`);
    return v;
  };
  const bool = (key: string, fallback: boolean): boolean => {
    const v = json[key] ?? fallback;
    if (typeof v !== 'boolean') return fail(`"${key}" must be true or false, got ${JSON.stringify(v)}`);
    return v;
  };
  const id = (key: string, fallback: number | null): number | null => {
    const v = key in json ? json[key] : fallback;
    if (v === null) return null;
    if (!Number.isSafeInteger(v) || (v as number) < 0)
      return fail(`"${key}" must be a token id (an integer ≥ 0) or null, got ${JSON.stringify(v)}`);
    return v as number;
  };
  const ids = (key: string, fallback: number | null): number[] => {
    const v = key in json ? json[key] : fallback;
    if (v === null) return [];
    const list = Array.isArray(v) ? v : [v];
    if (list.some((x) => !Number.isSafeInteger(x) || x < 0))
      return fail(`"${key}" must be a token id, a list of them or null, got ${JSON.stringify(v)}`);
    return list as number[];
  };
  return { int, positive, bool, id, ids };
}

function llamaConfig(json: Json, modelType: string, fail: Fail): LmConfig {
  const r = reader(json, fail);
  const act = json.hidden_act ?? 'silu';
  if (act !== 'silu')
    fail(`hidden_act "${String(act)}" is not supported: the LLaMA-family MLP is SwiGLU with "silu" (set hidden_act to "silu")`);
  const scaling = json.rope_scaling as Json | null | undefined;
  if (scaling != null && (scaling.rope_type ?? scaling.type) !== 'default')
    fail(
      `rope_scaling ${JSON.stringify(scaling)} is not supported: only plain RoPE is (rope_scaling null); use a model without RoPE scaling`,
    );
  const hidden = r.int('hidden_size');
  const heads = r.int('num_attention_heads');
  const kvHeads = r.int('num_key_value_heads', heads);
  if (heads % kvHeads !== 0)
    fail(
      `num_attention_heads ${heads} is not a multiple of num_key_value_heads ${kvHeads}: each key/value head serves a whole group`,
    );
  if (json.head_dim == null && hidden % heads !== 0)
    fail(`hidden_size ${hidden} is not a multiple of num_attention_heads ${heads}: give head_dim`);
  const headDim = json.head_dim == null ? hidden / heads : r.int('head_dim');
  if (headDim % 2 !== 0) fail(`the head width ${headDim} is odd: RoPE rotates pairs of columns (head_dim must be even)`);
  const maxPositions = r.int('max_position_embeddings', 2048);
  checkSlidingWindow(json, modelType, maxPositions, fail);
  const qwen = modelType === 'qwen2';
  const attentionBias = qwen || (modelType === 'llama' && r.bool('attention_bias', false));
  return {
    arch: 'llama',
    modelType,
    vocabSize: r.int('vocab_size'),
    hidden,
    layers: r.int('num_hidden_layers'),
    heads,
    kvHeads,
    headDim,
    intermediate: r.int('intermediate_size'),
    normEps: r.positive('rms_norm_eps', 1e-6),
    ropeTheta: r.positive('rope_theta', 10000),
    attentionBias,
    outputBias: modelType === 'llama' && attentionBias,
    mlpBias: modelType === 'llama' && r.bool('mlp_bias', false),
    tieWordEmbeddings: r.bool('tie_word_embeddings', false),
    maxPositions,
    bosTokenId: r.id('bos_token_id', qwen ? null : 1),
    eosTokenIds: r.ids('eos_token_id', qwen ? null : 2),
    padTokenId: r.id('pad_token_id', null),
    activation: 'silu',
  };
}

/** Qwen2's window applies only with use_sliding_window; Mistral's whenever a sequence outgrows it. */
function checkSlidingWindow(json: Json, modelType: string, maxPositions: number, fail: Fail): void {
  if (modelType === 'qwen2' && json.use_sliding_window === true)
    fail('use_sliding_window is true: sliding-window attention is not supported (set use_sliding_window to false)');
  if (modelType !== 'mistral') return;
  const window = 'sliding_window' in json ? json.sliding_window : MISTRAL_WINDOW;
  if (window !== null && !(typeof window === 'number' && window >= maxPositions))
    fail(
      `sliding_window ${JSON.stringify(window)} is below max_position_embeddings ${maxPositions}: sliding-window attention is not supported (set sliding_window to null, or max_position_embeddings to at most the window)`,
    );
}

function gpt2Config(json: Json, fail: Fail): LmConfig {
  const r = reader(json, fail);
  const act = json.activation_function ?? 'gelu_new';
  if (act !== 'gelu_new' && act !== 'gelu_pytorch_tanh')
    fail(
      `activation_function "${String(act)}" is not supported: GPT-2's MLP runs gelu_new (the tanh approximation; set activation_function to "gelu_new")`,
    );
  if (json.scale_attn_weights === false)
    fail('scale_attn_weights is false: only the 1/sqrt(head_dim) attention scale is supported');
  if (json.scale_attn_by_inverse_layer_idx === true)
    fail('scale_attn_by_inverse_layer_idx is true: this attention scaling is not supported (set it to false)');
  const hidden = r.int('n_embd');
  const heads = r.int('n_head');
  if (hidden % heads !== 0) fail(`n_embd ${hidden} is not a multiple of n_head ${heads}`);
  return {
    arch: 'gpt2',
    modelType: 'gpt2',
    vocabSize: r.int('vocab_size'),
    hidden,
    layers: r.int('n_layer'),
    heads,
    kvHeads: heads,
    headDim: hidden / heads,
    intermediate: json.n_inner == null ? 4 * hidden : r.int('n_inner'),
    normEps: r.positive('layer_norm_epsilon', 1e-5),
    ropeTheta: null,
    attentionBias: true,
    outputBias: true,
    mlpBias: true,
    tieWordEmbeddings: r.bool('tie_word_embeddings', true),
    maxPositions: r.int('n_positions', 1024),
    bosTokenId: r.id('bos_token_id', 50256),
    eosTokenIds: r.ids('eos_token_id', 50256),
    padTokenId: r.id('pad_token_id', null),
    activation: 'gelu_new',
  };
}

/** config.json for `c`, updating `source` (the one read, whose other fields are kept) where given. */
export function lmConfigJson(c: LmConfig, source: Json | null = null): Json {
  const eos = c.eosTokenIds.length === 0 ? null : c.eosTokenIds.length === 1 ? c.eosTokenIds[0] : c.eosTokenIds;
  const ids = { bos_token_id: c.bosTokenId, eos_token_id: eos, pad_token_id: c.padTokenId };
  if (c.arch === 'gpt2') {
    return {
      architectures: ['GPT2LMHeadModel'],
      ...source,
      model_type: 'gpt2',
      vocab_size: c.vocabSize,
      n_embd: c.hidden,
      n_layer: c.layers,
      n_head: c.heads,
      n_inner: c.intermediate,
      n_positions: c.maxPositions,
      layer_norm_epsilon: c.normEps,
      activation_function: source?.activation_function === 'gelu_pytorch_tanh' ? 'gelu_pytorch_tanh' : 'gelu_new',
      tie_word_embeddings: c.tieWordEmbeddings,
      ...ids,
    };
  }
  const architectures = { llama: 'LlamaForCausalLM', qwen2: 'Qwen2ForCausalLM', mistral: 'MistralForCausalLM' }[c.modelType];
  return {
    ...(architectures ? { architectures: [architectures] } : {}),
    ...source,
    model_type: c.modelType,
    vocab_size: c.vocabSize,
    hidden_size: c.hidden,
    num_hidden_layers: c.layers,
    num_attention_heads: c.heads,
    num_key_value_heads: c.kvHeads,
    head_dim: c.headDim,
    intermediate_size: c.intermediate,
    hidden_act: 'silu',
    rms_norm_eps: c.normEps,
    rope_theta: c.ropeTheta,
    max_position_embeddings: c.maxPositions,
    tie_word_embeddings: c.tieWordEmbeddings,
    ...(c.modelType === 'llama' ? { attention_bias: c.attentionBias, mlp_bias: c.mlpBias } : {}),
    ...(c.modelType === 'mistral' ? { sliding_window: source?.sliding_window ?? null } : {}),
    ...ids,
  };
}
