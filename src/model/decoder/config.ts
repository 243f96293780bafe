// The shape of a decoder language model (LLaMA family or GPT-2, in Hugging Face transformers' naming)
// and what trains on it: SNELL-family, LoRA or dense branches beside the projections PEFT targets by
// name; or every tensor (`full`); or the output head alone (`head`).
//
// Projections of one layer, input → output widths (E hidden, H·D queries, KV·D keys and values, I the MLP):
//   llama  self_attn.q_proj E → H·D, k_proj, v_proj E → KV·D, o_proj H·D → E,
//          mlp.gate_proj, up_proj E → I, down_proj I → E                      (nn.Linear, weight [out, in])
//   gpt2   attn.c_attn E → 3E (q, k, v fused), attn.c_proj E → E, mlp.c_fc E → I, mlp.c_proj I → E
//          (Conv1D, weight [in, out])
// A target name matches a projection's last path component, as PEFT's target_modules does
// (GPT-2's `c_proj` is both the attention's and the MLP's).

import { ADAPTER_KINDS, AdapterConfigError, type AdapterKind } from '../../adapter/config.js';

export type DecoderArch = 'llama' | 'gpt2';

/** The fields of a transformers config.json the model computes with (io/lm-config.ts reads them). */
export interface DecoderConfig {
  arch: DecoderArch;
  vocabSize: number;
  /** The residual width E. */
  hidden: number;
  layers: number;
  /** Query heads H. */
  heads: number;
  /** Key/value heads KV (H for GPT-2); H is a multiple of KV. */
  kvHeads: number;
  /** Width D of one head; q_proj has H·D outputs (hidden for GPT-2). */
  headDim: number;
  /** The MLP's inner width I. */
  intermediate: number;
  /** ε of every norm (RMSNorm or LayerNorm). */
  normEps: number;
  /** RoPE's base θ (LLaMA family); null for GPT-2's learned positions. */
  ropeTheta: number | null;
  /** q, k, v projections carry a bias (c_attn for GPT-2). */
  attentionBias: boolean;
  /** The attention output projection (o_proj, GPT-2's attn.c_proj) carries a bias. */
  outputBias: boolean;
  /** The MLP's projections carry biases. */
  mlpBias: boolean;
  /** lm_head.weight is the token embedding (no lm_head stored). */
  tieWordEmbeddings: boolean;
  /** The longest sequence the model takes (GPT-2: wpe's rows). */
  maxPositions: number;
}

/**
 * A branch kind beside the targeted projections (`dense`: a ΔW [in, out] starting at 0), `full`: every
 * tensor trains, or `head`: only the output head (lm_head, or a classifier's score).
 */
export type DecoderMethod = AdapterKind | 'dense' | 'full' | 'head';
export const DECODER_METHODS: readonly DecoderMethod[] = [...ADAPTER_KINDS, 'dense', 'full', 'head'];

export interface DecoderPlan {
  method: DecoderMethod;
  /** Branch rank, kernel heads, sparsity and targets: read for branch methods only (not full, head). */
  rank: number;
  kernelHeads: number;
  sparsity: number;
  /** PEFT target names (e.g. q_proj, v_proj; c_attn); default every projection of the arch. */
  targets: readonly string[];
  /** Layers [first, last) that carry branches (default all). */
  layers?: readonly [number, number];
  /** Sparsities of single branches by name (SNELLA's allocator), over `sparsity`. */
  layerSparsity?: Readonly<Record<string, number>>;
}

export interface Projection {
  /** The path inside a layer, e.g. `self_attn.q_proj`. */
  path: string;
  dims: (c: DecoderConfig) => [number, number];
  bias: (c: DecoderConfig) => boolean;
  /** Conv1D: the stored weight is [in, out]. */
  conv1d: boolean;
}

const linear = (path: string, dims: Projection['dims'], bias: Projection['bias']): Projection => ({
  path,
  dims,
  bias,
  conv1d: false,
});
const conv = (path: string, dims: Projection['dims'], bias: Projection['bias']): Projection => ({
  path,
  dims,
  bias,
  conv1d: true,
});

export const PROJECTIONS: Record<DecoderArch, readonly Projection[]> = {
  llama: [
    linear(
      'self_attn.q_proj',
      (c) => [c.hidden, c.heads * c.headDim],
      (c) => c.attentionBias,
    ),
    linear(
      'self_attn.k_proj',
      (c) => [c.hidden, c.kvHeads * c.headDim],
      (c) => c.attentionBias,
    ),
    linear(
      'self_attn.v_proj',
      (c) => [c.hidden, c.kvHeads * c.headDim],
      (c) => c.attentionBias,
    ),
    linear(
      'self_attn.o_proj',
      (c) => [c.heads * c.headDim, c.hidden],
      (c) => c.outputBias,
    ),
    linear(
      'mlp.gate_proj',
      (c) => [c.hidden, c.intermediate],
      (c) => c.mlpBias,
    ),
    linear(
      'mlp.up_proj',
      (c) => [c.hidden, c.intermediate],
      (c) => c.mlpBias,
    ),
    linear(
      'mlp.down_proj',
      (c) => [c.intermediate, c.hidden],
      (c) => c.mlpBias,
    ),
  ],
  gpt2: [
    conv(
      'attn.c_attn',
      (c) => [c.hidden, 3 * c.hidden],
      (c) => c.attentionBias,
    ),
    conv(
      'attn.c_proj',
      (c) => [c.hidden, c.hidden],
      (c) => c.outputBias,
    ),
    conv(
      'mlp.c_fc',
      (c) => [c.hidden, c.intermediate],
      (c) => c.mlpBias,
    ),
    conv(
      'mlp.c_proj',
      (c) => [c.intermediate, c.hidden],
      (c) => c.mlpBias,
    ),
  ],
};

/** PEFT's target names of an arch, each projection's last path component. */
export function targetNames(arch: DecoderArch): string[] {
  return [...new Set(PROJECTIONS[arch].map((p) => p.path.split('.').pop()!))];
}

/** Tensor-name prefix of layer l, e.g. `model.layers.3.` or `transformer.h.3.`. */
export function layerPrefix(arch: DecoderArch, l: number): string {
  return arch === 'llama' ? `model.layers.${l}.` : `transformer.h.${l}.`;
}

/** Checks what the model computes with, naming the field and the fix. */
export function checkDecoderConfig(c: DecoderConfig): void {
  const fail = (m: string) => {
    throw new AdapterConfigError(`decoder config: ${m}`);
  };
  for (const key of ['vocabSize', 'hidden', 'layers', 'heads', 'kvHeads', 'headDim', 'intermediate', 'maxPositions'] as const) {
    if (!Number.isInteger(c[key]) || c[key] < 1) fail(`${key} must be a positive integer, got ${c[key]}`);
  }
  if (c.heads % c.kvHeads !== 0) fail(`heads ${c.heads} is not a multiple of kvHeads ${c.kvHeads}`);
  if (!(c.normEps >= 0)) fail(`normEps must be ≥ 0, got ${c.normEps}`);
  if (c.arch === 'llama') {
    if (c.headDim % 2 !== 0) fail(`RoPE needs an even head width, got headDim ${c.headDim}`);
    if (!(c.ropeTheta !== null && c.ropeTheta > 0)) fail(`a llama-family model needs ropeTheta > 0, got ${c.ropeTheta}`);
  } else if (c.heads * c.headDim !== c.hidden || c.kvHeads !== c.heads) {
    fail(`GPT-2 splits hidden ${c.hidden} into ${c.heads} heads of ${c.headDim} with kvHeads = heads`);
  }
}

/** Whether a plan's method puts branches beside projections (not full, not head). */
export function branchMethod(method: DecoderMethod): method is AdapterKind | 'dense' {
  return method !== 'full' && method !== 'head';
}

/** Checks a plan against the arch: known targets, a layer range inside the model (branch methods). */
export function checkDecoderPlan(plan: DecoderPlan, c: DecoderConfig): void {
  if (!DECODER_METHODS.includes(plan.method)) {
    throw new AdapterConfigError(`method ${JSON.stringify(plan.method)} is not one of ${DECODER_METHODS.join(', ')}`);
  }
  if (!branchMethod(plan.method)) return;
  const names = targetNames(c.arch);
  const unknown = plan.targets.filter((t) => !names.includes(t));
  if (unknown.length || plan.targets.length === 0) {
    throw new AdapterConfigError(
      `targets ${JSON.stringify(plan.targets)} must name ${c.arch} projections: ${names.join(', ')} (PEFT's target_modules)`,
    );
  }
  const [first, last] = plan.layers ?? [0, c.layers];
  if (!(Number.isInteger(first) && Number.isInteger(last) && 0 <= first && first < last && last <= c.layers)) {
    throw new AdapterConfigError(`layers [${first}, ${last}) must lie within the model's ${c.layers} layers`);
  }
}
