// Tensor names of decoder language models: the weight map's names (those of transformers'
// LlamaForCausalLM and GPT2LMHeadModel) with their shapes for an LmConfig, and the names a checkpoint
// stores them under.
//
//   LLaMA family (Linear weights [out, in])              GPT-2 (Conv1D weights [in, out])
//   model.embed_tokens.weight        [V, hidden]         transformer.wte.weight           [V, hidden]
//                                                        transformer.wpe.weight           [P, hidden]
//   model.layers.<l>.                                    transformer.h.<l>.
//     input_layernorm.weight         [hidden]              ln_1.weight, ln_1.bias         [hidden]
//     self_attn.q_proj.weight        [H·D, hidden]         attn.c_attn.weight             [hidden, 3·hidden]
//     self_attn.k_proj|v_proj.weight [KV·D, hidden]        attn.c_attn.bias               [3·hidden]
//     self_attn.o_proj.weight        [hidden, H·D]         attn.c_proj.weight, .bias      [hidden, hidden], [hidden]
//     post_attention_layernorm.weight [hidden]             ln_2.weight, ln_2.bias         [hidden]
//     mlp.gate_proj|up_proj.weight   [I, hidden]           mlp.c_fc.weight, .bias         [hidden, I], [I]
//     mlp.down_proj.weight           [hidden, I]           mlp.c_proj.weight, .bias       [I, hidden], [hidden]
//   model.norm.weight                [hidden]            transformer.ln_f.weight, .bias   [hidden]
//   lm_head.weight                   [V, hidden]         lm_head.weight                   [V, hidden]
// Biases of the LLaMA family ([out]) where the config has them (attentionBias: q/k/v, outputBias:
// o_proj, mlpBias: the MLP). lm_head.weight is absent when the embeddings are tied.
// Checkpoints store these names, or (a bare LlamaModel or GPT2Model, as the original gpt2 files) the
// same without the "model." / "transformer." prefix. Buffers are skipped: GPT-2's attn.bias and
// attn.masked_bias (the causal mask), old LLaMA files' self_attn.rotary_emb.inv_freq.

import type { NamedArray, Weights } from '../core/weights.js';
import type { LmArch, LmConfig } from './lm-config.js';

/** How a checkpoint stored its names, so it can be written back the same way. */
export interface LmLayout {
  arch: LmArch;
  /** The prefix of every stored name but lm_head's: "model." / "transformer.", or "" for a bare model. */
  prefix: string;
}

/** The weight map's prefix of each arrangement. */
export const LM_PREFIX: Record<LmArch, string> = { llama: 'model.', gpt2: 'transformer.' };
const LM_HEAD = 'lm_head.weight';

/** Every tensor of the model, by weight-map name, with its shape. */
export function lmWeightShapes(c: LmConfig): Map<string, number[]> {
  const out = new Map<string, number[]>();
  const V = c.vocabSize;
  const E = c.hidden;
  const I = c.intermediate;
  const linear = (name: string, inputs: number, outputs: number, bias: boolean) => {
    out.set(`${name}.weight`, c.arch === 'gpt2' ? [inputs, outputs] : [outputs, inputs]);
    if (bias) out.set(`${name}.bias`, [outputs]);
  };
  if (c.arch === 'llama') {
    const q = c.heads * c.headDim;
    const kv = c.kvHeads * c.headDim;
    out.set('model.embed_tokens.weight', [V, E]);
    for (let l = 0; l < c.layers; l++) {
      const p = `model.layers.${l}.`;
      out.set(`${p}input_layernorm.weight`, [E]);
      linear(`${p}self_attn.q_proj`, E, q, c.attentionBias);
      linear(`${p}self_attn.k_proj`, E, kv, c.attentionBias);
      linear(`${p}self_attn.v_proj`, E, kv, c.attentionBias);
      linear(`${p}self_attn.o_proj`, q, E, c.outputBias);
      out.set(`${p}post_attention_layernorm.weight`, [E]);
      linear(`${p}mlp.gate_proj`, E, I, c.mlpBias);
      linear(`${p}mlp.up_proj`, E, I, c.mlpBias);
      linear(`${p}mlp.down_proj`, I, E, c.mlpBias);
    }
    out.set('model.norm.weight', [E]);
  } else {
    out.set('transformer.wte.weight', [V, E]);
    out.set('transformer.wpe.weight', [c.maxPositions, E]);
    for (let l = 0; l < c.layers; l++) {
      const p = `transformer.h.${l}.`;
      for (const norm of ['ln_1', 'ln_2']) {
        out.set(`${p}${norm}.weight`, [E]);
        out.set(`${p}${norm}.bias`, [E]);
      }
      linear(`${p}attn.c_attn`, E, 3 * E, true);
      linear(`${p}attn.c_proj`, E, E, true);
      linear(`${p}mlp.c_fc`, E, I, true);
      linear(`${p}mlp.c_proj`, I, E, true);
    }
    out.set('transformer.ln_f.weight', [E]);
    out.set('transformer.ln_f.bias', [E]);
  }
  if (!c.tieWordEmbeddings) out.set(LM_HEAD, [V, E]);
  return out;
}

/** The token embedding's weight-map name. */
export function embeddingName(arch: LmArch): string {
  return arch === 'llama' ? 'model.embed_tokens.weight' : 'transformer.wte.weight';
}

/** The output projection [V, hidden]: lm_head.weight, or the token embedding when tied. */
export function lmHeadWeight(weights: Weights, c: LmConfig): NamedArray {
  const name = c.tieWordEmbeddings ? embeddingName(c.arch) : LM_HEAD;
  const w = weights.get(name);
  if (!w) throw new Error(`the weights have no "${name}"${c.tieWordEmbeddings ? ' (the tied output projection)' : ''}`);
  return w;
}

const BUFFERS: Record<LmArch, RegExp> = {
  llama: /^layers\.\d+\.self_attn\.rotary_emb\.inv_freq$/,
  gpt2: /^h\.\d+\.attn\.(bias|masked_bias)$/,
};

/** The layout of a checkpoint of `arch` from its stored names. */
export function detectLmLayout(names: readonly string[], arch: LmArch): LmLayout {
  return { arch, prefix: names.some((n) => n.startsWith(LM_PREFIX[arch])) ? LM_PREFIX[arch] : '' };
}

/** The weight-map name of a stored tensor; null for a skipped buffer; undefined for a name outside the layout. */
export function toLmName(stored: string, layout: LmLayout): string | null | undefined {
  if (stored === LM_HEAD) return LM_HEAD;
  if (!stored.startsWith(layout.prefix)) return undefined;
  const rest = stored.slice(layout.prefix.length);
  if (BUFFERS[layout.arch].test(rest)) return null;
  return LM_PREFIX[layout.arch] + rest;
}

/** The stored name of a weight-map tensor in `layout`. */
export function fromLmName(name: string, layout: LmLayout): string {
  if (name === LM_HEAD) return name;
  const prefix = LM_PREFIX[layout.arch];
  if (!name.startsWith(prefix)) throw new Error(`"${name}" is not a weight-map name of a ${layout.arch} model`);
  return layout.prefix + name.slice(prefix.length);
}
