// Float64 plain-loop reference of decoder language models (the vectors README's "Text transformers"),
// written for clarity: one LLaMA-family decoder layer or GPT-2 block, optionally with a SNELL adapter
// beside every projection, and the whole model from token ids to logits, with its causal-LM loss.
//
// Rows r = b·T + t of [B, T, ·] activations. Projection P with input u [R, in]:
//   LLaMA (Linear, weight [out, in]): P(u) = u·weightᵀ + bias + u·W_sparse
//   GPT-2 (Conv1D, weight [in, out]): P(u) = u·weight  + bias + u·W_sparse
// where bias is absent for projections without one, and W_sparse [in, out] comes from the tensors
// `<P>.snell.In_Qs` [H, in, q/H], `<P>.snell.Out_Qs` [H, out, q/H], `<P>.snell.shared_coeff_fc` [H, 1, 1]
// (H kernel heads, 2 in the vectors; coefficients 0.1·(−1)^h where none are stored):
// W = merge (distance kernel), then, for sparsity s > 0, W_sparse = W·|W|·[|W| > quantile(|W|, s)]
// (s = 0: W_sparse = W, the KLoRA case). A projection without adapter tensors has no branch.
//   LLaMA layer: h = x + o_proj(Attn(RoPE(q_proj(n)), RoPE(k_proj(n)), v_proj(n))), n = RMSNorm_in(x);
//                y = h + down_proj(silu(gate_proj(m)) ⊙ up_proj(m)), m = RMSNorm_post(h).
//   GPT-2 block: z = c_attn(LN_1(x)) split into q, k, v after the bias and the branch;
//                h = x + attn.c_proj(Attn(q, k, v)); y = h + mlp.c_proj(gelu_new(mlp.c_fc(LN_2(h)))).
// Attention: query head n reads key/value head ⌊n/(H/KV)⌋; scores q_i·k_j/√D over the keys j ≤ i that
// are real (j < lengths[b], right padding) or j = 0, softmax, weighted sum of v.
// RoPE (rotate_half): columns c and c + D/2 of a head at position t turn by t·θ^(−2c/D).
// Model: LLaMA h₀ = embed_tokens[ids]; GPT-2 h₀ = wte[ids] + wpe[t]; the layers; the final norm;
// logits = h·headᵀ with head = lm_head.weight, or the token embedding when tied.

import { geluTanh64, rmsNorm64, rope64, silu64 } from './decoder-ops64.js';
import { layerNorm64 } from './transformer64.js';
import { matmul64, merge64, quantileAbs64, sparsify64 } from './snell64.js';

type Arr = ArrayLike<number>;
export type Tensors64 = ReadonlyMap<string, { shape: readonly number[]; data: Arr }>;

/** The fields of an LmConfig (src/io/lm-config.ts) the reference reads. */
export interface DecoderShape {
  arch: 'llama' | 'gpt2';
  vocabSize: number;
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  intermediate: number;
  normEps: number;
  ropeTheta: number | null;
  tieWordEmbeddings: boolean;
}

/** Rows of one batch: B sequences of T positions, each real for t < lengths[b] (default all T). */
export interface Rows {
  B: number;
  T: number;
  lengths?: readonly number[];
}

export interface Snell64 {
  /** The adapters' sparsity s (init_thres); 0 keeps W itself. */
  sparsity: number;
  /** Called once per adapted projection with its threshold (null for s = 0) and kept count. */
  onAdapter?: (path: string, stats: { threshold: number | null; kept: number }) => void;
}

function tensor(p: Tensors64, name: string): Arr {
  const t = p.get(name);
  if (!t) throw new Error(`reference decoder: tensor "${name}" is missing`);
  return t.data;
}

/** P(u) for u [R, dIn] → [R, dOut], with P's bias and SNELL branch where present. */
function project(p: Tensors64, path: string, u: Arr, R: number, dIn: number, dOut: number, conv1d: boolean, snell?: Snell64) {
  const y = matmul64(u, tensor(p, `${path}.weight`), R, dIn, dOut, false, !conv1d);
  const bias = p.get(`${path}.bias`)?.data;
  if (bias) for (let r = 0; r < R; r++) for (let o = 0; o < dOut; o++) y[r * dOut + o] += bias[o];
  const A = p.get(`${path}.snell.In_Qs`);
  if (!A) return y;
  if (!snell) throw new Error(`reference decoder: "${path}" has adapter tensors but no sparsity was given`);
  const [heads, k] = [A.shape[0], A.shape[2]];
  const coeff = p.get(`${path}.snell.shared_coeff_fc`)?.data ?? Array.from({ length: heads }, (_, h) => 0.1 * (-1) ** h);
  const W = merge64(A.data, tensor(p, `${path}.snell.Out_Qs`), heads, dIn, dOut, k, 'distance', coeff);
  let Ws: Arr = W;
  if (snell.sparsity > 0) {
    const threshold = quantileAbs64(W, snell.sparsity);
    const s = sparsify64(W, threshold);
    Ws = s.Ws;
    snell.onAdapter?.(path, { threshold, kept: s.kept });
  } else snell.onAdapter?.(path, { threshold: null, kept: W.length });
  const branch = matmul64(u, Ws, R, dIn, dOut);
  for (let i = 0; i < y.length; i++) y[i] += branch[i];
  return y;
}

/** Masked grouped-query attention: q [R, H·D], k and v [R, KV·D] (row strides given) → [R, H·D]. */
export function maskedAttention64(
  q: Arr,
  k: Arr,
  v: Arr,
  rows: Rows,
  H: number,
  KV: number,
  D: number,
  strides: { q: number; kv: number } = { q: H * D, kv: KV * D },
): Float64Array {
  const { B, T } = rows;
  const out = new Float64Array(B * T * H * D);
  const w = new Float64Array(T);
  for (let b = 0; b < B; b++) {
    const length = rows.lengths?.[b] ?? T;
    for (let n = 0; n < H; n++) {
      const g = Math.floor(n / (H / KV));
      for (let i = 0; i < T; i++) {
        const qi = (b * T + i) * strides.q + n * D;
        let max = -Infinity;
        for (let j = 0; j <= i; j++) {
          w[j] = -Infinity;
          if (j >= length && j !== 0) continue;
          let s = 0;
          for (let d = 0; d < D; d++) s += q[qi + d] * k[(b * T + j) * strides.kv + g * D + d];
          w[j] = s / Math.sqrt(D);
          max = Math.max(max, w[j]);
        }
        let sum = 0;
        for (let j = 0; j <= i; j++) sum += w[j] = Math.exp(w[j] - max);
        const oi = (b * T + i) * H * D + n * D;
        for (let j = 0; j <= i; j++) {
          for (let d = 0; d < D; d++) out[oi + d] += (w[j] / sum) * v[(b * T + j) * strides.kv + g * D + d];
        }
      }
    }
  }
  return out;
}

const add = (a: Float64Array, b: Arr): Float64Array => a.map((v, i) => v + b[i]);

/** One LLaMA-family decoder layer on x [B, T, hidden]; tensors under `prefix` (e.g. "model.layers.0."). */
export function llamaLayer64(p: Tensors64, prefix: string, x: Arr, c: DecoderShape, rows: Rows, snell?: Snell64): Float64Array {
  const R = rows.B * rows.T;
  const [E, H, KV, D, I] = [c.hidden, c.heads, c.kvHeads, c.headDim, c.intermediate];
  const proj = (name: string, u: Arr, dIn: number, dOut: number) => project(p, prefix + name, u, R, dIn, dOut, false, snell);
  const n = rmsNorm64(x, tensor(p, `${prefix}input_layernorm.weight`), R, E, c.normEps).out;
  const q = proj('self_attn.q_proj', n, E, H * D);
  const k = proj('self_attn.k_proj', n, E, KV * D);
  const v = proj('self_attn.v_proj', n, E, KV * D);
  const theta = c.ropeTheta ?? 10000;
  const [qr, kr] = [rope64(q, rows.B, rows.T, H * D, H, theta, 0), rope64(k, rows.B, rows.T, KV * D, KV, theta, 0)];
  const h = add(proj('self_attn.o_proj', maskedAttention64(qr, kr, v, rows, H, KV, D), H * D, E), x);
  const m = rmsNorm64(h, tensor(p, `${prefix}post_attention_layernorm.weight`), R, E, c.normEps).out;
  const gate = proj('mlp.gate_proj', m, E, I);
  const up = proj('mlp.up_proj', m, E, I);
  return add(
    proj(
      'mlp.down_proj',
      gate.map((g, i) => silu64(g) * up[i]),
      I,
      E,
    ),
    h,
  );
}

/** One GPT-2 block on x [B, T, hidden]; tensors under `prefix` (e.g. "transformer.h.0."). */
export function gpt2Block64(p: Tensors64, prefix: string, x: Arr, c: DecoderShape, rows: Rows, snell?: Snell64): Float64Array {
  const R = rows.B * rows.T;
  const [E, H, I] = [c.hidden, c.heads, c.intermediate];
  const D = E / H;
  const proj = (name: string, u: Arr, dIn: number, dOut: number) => project(p, prefix + name, u, R, dIn, dOut, true, snell);
  const norm = (name: string, u: Arr) =>
    layerNorm64(u, tensor(p, `${prefix}${name}.weight`), tensor(p, `${prefix}${name}.bias`), R, E, c.normEps).out;
  const z = proj('attn.c_attn', norm('ln_1', x), E, 3 * E);
  const strides = { q: 3 * E, kv: 3 * E };
  const attended = maskedAttention64(z, z.subarray(E), z.subarray(2 * E), rows, H, H, D, strides);
  const h = add(proj('attn.c_proj', attended, E, E), x);
  const inner = proj('mlp.c_fc', norm('ln_2', h), E, I).map(geluTanh64);
  return add(proj('mlp.c_proj', inner, I, E), h);
}

/** One layer of `c.arch`. */
export function decoderLayer64(p: Tensors64, prefix: string, x: Arr, c: DecoderShape, rows: Rows, snell?: Snell64) {
  return c.arch === 'llama' ? llamaLayer64(p, prefix, x, c, rows, snell) : gpt2Block64(p, prefix, x, c, rows, snell);
}

/** Logits [B, T, V] of token ids [B, T] (tensors by their transformers names, adapters beside them). */
export function decoderLogits64(p: Tensors64, c: DecoderShape, ids: Arr, rows: Rows, snell?: Snell64): Float64Array {
  const R = rows.B * rows.T;
  const E = c.hidden;
  const llama = c.arch === 'llama';
  const embedding = tensor(p, llama ? 'model.embed_tokens.weight' : 'transformer.wte.weight');
  const positions = llama ? null : tensor(p, 'transformer.wpe.weight');
  let h: Float64Array = new Float64Array(R * E);
  for (let r = 0; r < R; r++) {
    for (let e = 0; e < E; e++) h[r * E + e] = embedding[ids[r] * E + e];
    if (positions) for (let e = 0; e < E; e++) h[r * E + e] += positions[(r % rows.T) * E + e];
  }
  for (let l = 0; l < c.layers; l++)
    h = decoderLayer64(p, llama ? `model.layers.${l}.` : `transformer.h.${l}.`, h, c, rows, snell);
  const final = llama
    ? rmsNorm64(h, tensor(p, 'model.norm.weight'), R, E, c.normEps).out
    : layerNorm64(h, tensor(p, 'transformer.ln_f.weight'), tensor(p, 'transformer.ln_f.bias'), R, E, c.normEps).out;
  const head = c.tieWordEmbeddings ? embedding : tensor(p, 'lm_head.weight');
  return matmul64(final, head, R, E, c.vocabSize, false, true);
}

/** Mean cross-entropy of logits [R, V] over the rows whose label is not −100 (labels already shifted). */
export function causalLmLoss64(logits: Arr, labels: Arr, R: number, V: number): number {
  let total = 0;
  let counted = 0;
  for (let r = 0; r < R; r++) {
    if (labels[r] === -100) continue;
    let max = -Infinity;
    for (let v = 0; v < V; v++) max = Math.max(max, logits[r * V + v]);
    let sum = 0;
    for (let v = 0; v < V; v++) sum += Math.exp(logits[r * V + v] - max);
    total += Math.log(sum) + max - logits[r * V + labels[r]];
    counted++;
  }
  return total / counted;
}
