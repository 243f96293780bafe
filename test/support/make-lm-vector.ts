// Builds lm_block_llama_<tag> and lm_block_gpt2_<tag> vectors (test/vectors/README.md, "Text
// transformers") in float64: seeded float32 parameters and inputs at the stored files' scales, y from
// the decoder reference (src/reference/decoder64.ts), grad.x and every adapter's gradient of Σ g·y
// from the float64 backward of test/support/decoder-grad64.ts, and the tensors and metadata keys the
// stored lm_block_* files carry (thresholds, kept counts, the smallest threshold gap).

import { encodeSafetensors, type NamedTensor } from '../../src/io/safetensors-write.js';
import { uniform } from '../../src/reference/random.js';
import { type DecoderShape, decoderLayer64, type Rows } from '../../src/reference/decoder64.js';
import { type AdapterStats, decoderLayerTape64, type Grads64 } from './decoder-grad64.js';

export interface LmAdapterSettings {
  /** q_dim: the adapter's rank r, split over the kernel heads */
  qDim: number;
  /** num_Hs: kernel heads H, with coefficients 0.1·(−1)^h */
  kernelHeads: number;
  /** init_thres; 0 is the KLoRA case (no sparsify) */
  sparsity: number;
  /** PEFT target names (a projection's last path component) that get an adapter; all when absent */
  targets?: readonly string[];
}

export interface LmBlockSpec extends LmAdapterSettings {
  tag: string;
  seed: number;
  /** vocabSize, layers and tieWordEmbeddings are unused by one layer */
  shape: Omit<DecoderShape, 'vocabSize' | 'layers' | 'tieWordEmbeddings'>;
  /** q, k, v biases (LLaMA's attention_bias, the Qwen2 arrangement); GPT-2 always has its biases */
  attentionBias: boolean;
  batch: number;
  seqLen: number;
  /** Real tokens per sequence (right padding); all seqLen when absent. */
  lengths?: number[];
}

export interface Projection {
  path: string;
  in: number;
  out: number;
  bias: boolean;
}

/** Whether projection `path` gets an adapter under PEFT's target names (its last path component). */
export const targeted = (path: string, targets: readonly string[] | undefined): boolean =>
  !targets || targets.includes(path.split('.').pop()!);

/** The projections of one layer, in the arch's order, with their widths and whether a bias is stored. */
export function projections(c: LmBlockSpec['shape'], attentionBias: boolean): Projection[] {
  const [E, I] = [c.hidden, c.intermediate];
  const p = (path: string, dIn: number, dOut: number, bias: boolean) => ({ path, in: dIn, out: dOut, bias });
  if (c.arch === 'gpt2')
    return [
      p('attn.c_attn', E, 3 * E, true),
      p('attn.c_proj', E, E, true),
      p('mlp.c_fc', E, I, true),
      p('mlp.c_proj', I, E, true),
    ];
  const [Q, KV] = [c.heads * c.headDim, c.kvHeads * c.headDim];
  return [
    p('self_attn.q_proj', E, Q, attentionBias),
    p('self_attn.k_proj', E, KV, attentionBias),
    p('self_attn.v_proj', E, KV, attentionBias),
    p('self_attn.o_proj', Q, E, false),
    p('mlp.gate_proj', E, I, false),
    p('mlp.up_proj', E, I, false),
    p('mlp.down_proj', I, E, false),
  ];
}

/** Seeded tensors drawn one after another, each float32 (hence exact in float64). */
export class Draws {
  constructor(private seed: number) {}

  uniform(shape: number[], lo: number, hi: number): NamedTensor {
    return {
      shape,
      data: uniform(
        shape.reduce((a, b) => a * b, 1),
        this.seed++,
        lo,
        hi,
      ),
    };
  }
}

/**
 * One layer's parameters under `prefix`, at the stored files' scales: norm weights in [0.8, 1.2], norm
 * biases and projection biases in ±0.2, projection weights of variance 1/in, and each targeted adapter's
 * In_Qs ±1/√(in·k), Out_Qs ±1/√(out·k) (k = q_dim/H), shared_coeff_fc [H, 1, 1] = 0.1·(−1)^h.
 */
export function layerParams(
  draw: Draws,
  prefix: string,
  c: LmBlockSpec['shape'],
  attentionBias: boolean,
  adapter: LmAdapterSettings,
): Map<string, NamedTensor> {
  const out = new Map<string, NamedTensor>();
  const E = c.hidden;
  const H = adapter.kernelHeads;
  const k = adapter.qDim / H;
  const norms = c.arch === 'llama' ? ['input_layernorm', 'post_attention_layernorm'] : ['ln_1', 'ln_2'];
  for (const n of norms) {
    out.set(`${prefix}${n}.weight`, draw.uniform([E], 0.8, 1.2));
    if (c.arch === 'gpt2') out.set(`${prefix}${n}.bias`, draw.uniform([E], -0.2, 0.2));
  }
  for (const p of projections(c, attentionBias)) {
    const bound = Math.sqrt(3 / p.in);
    out.set(`${prefix}${p.path}.weight`, draw.uniform(c.arch === 'gpt2' ? [p.in, p.out] : [p.out, p.in], -bound, bound));
    if (p.bias) out.set(`${prefix}${p.path}.bias`, draw.uniform([p.out], -0.2, 0.2));
    if (!targeted(p.path, adapter.targets)) continue;
    const [a, b] = [1 / Math.sqrt(p.in * k), 1 / Math.sqrt(p.out * k)];
    out.set(`${prefix}${p.path}.snell.In_Qs`, draw.uniform([H, p.in, k], -a, a));
    out.set(`${prefix}${p.path}.snell.Out_Qs`, draw.uniform([H, p.out, k], -b, b));
    out.set(`${prefix}${p.path}.snell.shared_coeff_fc`, {
      shape: [H, 1, 1],
      data: Float32Array.from({ length: H }, (_, h) => 0.1 * (-1) ** h),
    });
  }
  return out;
}

/** pad_mask [B, T]: 1 on the real tokens. */
export function padMask(B: number, T: number, lengths: readonly number[]): NamedTensor {
  return { shape: [B, T], data: Float32Array.from({ length: B * T }, (_, i) => (i % T < lengths[Math.floor(i / T)]! ? 1 : 0)) };
}

export function shapeOf(c: LmBlockSpec['shape'], vocabSize = 1, layers = 1, tieWordEmbeddings = false): DecoderShape {
  return { ...c, vocabSize, layers, tieWordEmbeddings };
}

/** The metadata both lm_* families share: the arch's shape fields and the adapter's. */
export function archMeta(c: LmBlockSpec['shape'], attentionBias: boolean, a: LmAdapterSettings) {
  const adapter = {
    q_dim: a.qDim,
    num_Hs: a.kernelHeads,
    init_thres: a.sparsity,
    tuning_model: 'snell',
    adapter: a.sparsity === 0 ? 'KLoRA (s = 0: no sparsify)' : 'SNELL',
  };
  const adapted = projections(c, attentionBias)
    .filter((p) => targeted(p.path, a.targets))
    .map((p) => p.path)
    .join(', ');
  if (c.arch === 'gpt2')
    return {
      arch: 'gpt2',
      hidden_size: c.hidden,
      num_attention_heads: c.heads,
      head_dim: c.headDim,
      // as GPT-2's config.json: null for the default 4·hidden
      n_inner: c.intermediate === 4 * c.hidden ? null : c.intermediate,
      layer_norm_epsilon: c.normEps,
      activation_function: 'gelu_new',
      conv1d_layout: 'weight [in, out]; y = x @ weight + bias',
      ...adapter,
      placement:
        `parallel SNELL branch beside each Conv1D ${adapted} (attn.c_attn: one adapter over the fused 3*hidden ` +
        'output): out = x @ weight + bias + x @ W_sparse',
    };
  return {
    arch: 'llama',
    hidden_size: c.hidden,
    num_attention_heads: c.heads,
    num_key_value_heads: c.kvHeads,
    head_dim: c.headDim,
    intermediate_size: c.intermediate,
    rms_norm_eps: c.normEps,
    rope_theta: c.ropeTheta,
    attention_bias: attentionBias,
    o_proj_bias: false,
    mlp_bias: false,
    hidden_act: 'silu',
    rope: 'rotate_half (non-interleaved), positions 0..seq_len-1',
    ...adapter,
    placement: `parallel SNELL branch beside each of ${adapted}: out = x @ weight.T + bias + x @ W_sparse`,
  };
}

/** threshold, kept and min_threshold_gap of the SNELL adapters (nothing for KLoRA). */
export function thresholdMeta(stats: ReadonlyMap<string, AdapterStats>, sparsity: number) {
  if (sparsity === 0) return {};
  const entries = [...stats];
  return {
    threshold: Object.fromEntries(entries.map(([path, s]) => [path, s.threshold])),
    kept: Object.fromEntries(entries.map(([path, s]) => [path, s.kept])),
    min_threshold_gap: Math.min(...entries.map(([, s]) => s.gap)),
  };
}

export const encodeMeta = (meta: Record<string, unknown>): Record<string, string> =>
  Object.fromEntries(Object.entries(meta).map(([key, v]) => [key, JSON.stringify(v)]));

export interface LmBlockVector {
  name: string;
  bytes: Uint8Array;
  y: Float64Array;
  gradX: Float64Array;
  grads: Grads64;
  stats: Map<string, AdapterStats>;
}

export function makeLmBlockVector(spec: LmBlockSpec): LmBlockVector {
  const { batch: B, seqLen: T, shape: c } = spec;
  const E = c.hidden;
  const lengths = spec.lengths ?? Array(B).fill(T);
  const padded = lengths.some((n) => n !== T);
  const draw = new Draws(spec.seed);
  const params = layerParams(draw, '', c, spec.attentionBias, spec);
  const x = draw.uniform([B, T, E], -1.7, 1.7);
  const g = draw.uniform([B, T, E], -1.7, 1.7);
  const rows: Rows = { B, T, lengths };
  const shape = shapeOf(c);
  const y = decoderLayer64(params, '', x.data, shape, rows, { sparsity: spec.sparsity });
  const tape = decoderLayerTape64(params, '', x.data, shape, rows, spec.sparsity);
  const grads: Grads64 = new Map();
  const gradX = tape.backward(g.data, grads);
  const name = `lm_block_${c.arch}_${spec.tag}`;
  const f32 = (a: ArrayLike<number>, shape: readonly number[]): NamedTensor => ({ shape, data: Float32Array.from(a) });
  const tensors: Record<string, NamedTensor> = {
    x,
    g,
    ...(padded && { pad_mask: padMask(B, T, lengths) }),
    y: f32(y, [B, T, E]),
  };
  tensors['grad.x'] = f32(gradX, [B, T, E]);
  for (const [n, t] of params) tensors[`param.${n}`] = t;
  for (const [n, d] of grads) tensors[`grad.${n}`] = f32(d, params.get(n)!.shape);
  const meta = {
    case: name,
    ...archMeta(c, spec.attentionBias, spec),
    batch: B,
    seq_len: T,
    padding: padded ? 'right' : 'none (causal only)',
    lengths,
    dropout: 'none',
    ...thresholdMeta(tape.adapters, spec.sparsity),
    generator: 'float64: src/reference/decoder64.ts forward, test/support/decoder-grad64.ts backward',
  };
  return {
    name: `${name}.safetensors`,
    bytes: encodeSafetensors(tensors, encodeMeta(meta)),
    y,
    gradX,
    grads,
    stats: tape.adapters,
  };
}
