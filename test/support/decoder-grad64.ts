// Float64 backward of the decoder reference (src/reference/decoder64.ts), for writing lm_block and
// lm_train vectors: one LLaMA-family layer or GPT-2 block run on a tape (every intermediate of its
// forward kept), its input's and every adapter's gradient for an upstream dy; and a LLaMA causal LM's
// mean token cross-entropy with the gradient of every adapter factor.
//
// Adapted projection, u [R, in] → [R, out]: P(u) = u·weight(ᵀ) + bias + u·W_sparse with
//   W[i, o] = Σ_h c_h·‖A[h, i] − B[h, o]‖₂ (A = In_Qs [H, in, k], B = Out_Qs [H, out, k]),
//   W_sparse = W·|W|·[|W| > t], t = quantile(|W|, s) (s > 0), or W itself (s = 0, KLoRA).
// Its backward follows the vectors README: |W| and t are constants, so dW = (uᵀ·dy)·|W|·[|W| > t]
// (s > 0) or uᵀ·dy (s = 0), then dA, dB by the distance kernel's chain rule (src/reference/snell64.ts).
// Everything else is the exact derivative, from the float64 primitives' backward passes: RMSNorm and
// LayerNorm, rotate-half RoPE (its transpose is the rotation by −angle), masked grouped-query attention
// (each KV head's dk, dv summed over its query heads), SwiGLU, gelu_new, the residual adds, the final
// norm and the tied or untied head. The embedding is frozen: the gradient stops at h₀.

import { IGNORE_LABEL } from '../../src/backend.js';
import {
  type DecoderAttention64,
  decoderAttention64,
  decoderAttentionBackward64,
} from '../../src/reference/decoder-attention64.js';
import {
  geluTanh64,
  geluTanhGrad64,
  rmsNorm64,
  rmsNormBackward64,
  rope64,
  siluMul64,
  siluMulBackward64,
} from '../../src/reference/decoder-ops64.js';
import { embed64, tokenCrossEntropy64 } from '../../src/reference/decoder-tokens64.js';
import type { DecoderShape, Rows, Tensors64 } from '../../src/reference/decoder64.js';
import {
  matmul64,
  merge64,
  mergeBackward64,
  quantileAbs64,
  sparsify64,
  sparsifyBackward64,
} from '../../src/reference/snell64.js';
import { layerNorm64, layerNormBackward64 } from '../../src/reference/transformer64.js';

type Arr = ArrayLike<number>;
/** Gradients by tensor name (`<prefix><path>.snell.In_Qs`, `.Out_Qs`). */
export type Grads64 = Map<string, Float64Array>;

export interface AdapterStats {
  /** quantile(|W|, s); null for s = 0 */
  threshold: number | null;
  kept: number;
  /** The gap between the sorted |W| values at and after the quantile position, over max|W| (1 for s = 0). */
  gap: number;
}

function get(p: Tensors64, name: string): Arr {
  const t = p.get(name);
  if (!t) throw new Error(`decoder backward: tensor "${name}" is missing`);
  return t.data;
}

const add = (a: Arr, b: Arr): Float64Array => Float64Array.from(a, (v, i) => v + b[i]!);

function thresholdGap(W: Arr, s: number): number {
  const v = Float64Array.from(W, Math.abs).sort();
  const lo = Math.floor(s * (v.length - 1));
  return (v[Math.min(lo + 1, v.length - 1)]! - v[lo]!) / v[v.length - 1]!;
}

/** One projection with its adapter (when the tensors hold one), ready for forward and backward. */
class Projection64 {
  private readonly adapter: {
    A: Arr;
    B: Arr;
    coeff: Arr;
    H: number;
    k: number;
    W: Float64Array;
    Ws: Float64Array;
    threshold: number | null;
  } | null;
  readonly stats: AdapterStats | null;

  constructor(
    private readonly p: Tensors64,
    readonly path: string,
    readonly dIn: number,
    readonly dOut: number,
    private readonly conv1d: boolean,
    sparsity: number,
  ) {
    const A = p.get(`${path}.snell.In_Qs`);
    if (!A) {
      this.adapter = null;
      this.stats = null;
      return;
    }
    const [H, k] = [A.shape[0]!, A.shape[2]!];
    const B = get(p, `${path}.snell.Out_Qs`);
    const coeff = get(p, `${path}.snell.shared_coeff_fc`);
    const W = merge64(A.data, B, H, dIn, dOut, k, 'distance', coeff);
    if (sparsity > 0) {
      const threshold = quantileAbs64(W, sparsity);
      const { Ws, kept } = sparsify64(W, threshold);
      this.adapter = { A: A.data, B, coeff, H, k, W, Ws, threshold };
      this.stats = { threshold, kept, gap: thresholdGap(W, sparsity) };
    } else {
      this.adapter = { A: A.data, B, coeff, H, k, W, Ws: W, threshold: null };
      this.stats = { threshold: null, kept: W.length, gap: 1 };
    }
  }

  forward(u: Arr, R: number): Float64Array {
    const { dIn, dOut } = this;
    const y = matmul64(u, get(this.p, `${this.path}.weight`), R, dIn, dOut, false, !this.conv1d);
    const bias = this.p.get(`${this.path}.bias`)?.data;
    if (bias) for (let i = 0; i < y.length; i++) y[i] += bias[i % dOut]!;
    if (this.adapter) {
      const branch = matmul64(u, this.adapter.Ws, R, dIn, dOut);
      for (let i = 0; i < y.length; i++) y[i] += branch[i]!;
    }
    return y;
  }

  /** du for dy [R, out]; the adapter's dA, dB go into `grads`. */
  backward(u: Arr, dy: Arr, R: number, grads: Grads64): Float64Array {
    const { dIn, dOut } = this;
    const du = matmul64(dy, get(this.p, `${this.path}.weight`), R, dOut, dIn, false, this.conv1d);
    const a = this.adapter;
    if (!a) return du;
    const viaBranch = matmul64(dy, a.Ws, R, dOut, dIn, false, true);
    for (let i = 0; i < du.length; i++) du[i] += viaBranch[i]!;
    const uTdy = matmul64(u, dy, dIn, R, dOut, true, false);
    const dW = a.threshold === null ? uTdy : sparsifyBackward64(uTdy, a.W, a.threshold);
    const { dA, dB } = mergeBackward64(a.A, a.B, dW, a.H, dIn, dOut, a.k, 'distance', a.coeff);
    grads.set(`${this.path}.snell.In_Qs`, dA);
    grads.set(`${this.path}.snell.Out_Qs`, dB);
    return du;
  }
}

export interface LayerTape {
  y: Float64Array;
  /** dx for dy [B, T, hidden]; every adapter's gradient goes into `grads`. */
  backward(dy: Arr, grads: Grads64): Float64Array;
  /** Each adapter's threshold, kept count and gap, by its path under the layer prefix. */
  adapters: Map<string, AdapterStats>;
}

function attentionSpec(rows: Rows, heads: number, kvHeads: number, hd: number): DecoderAttention64 {
  const { B, T, lengths } = rows;
  const keyMask = lengths && Float64Array.from({ length: B * T }, (_, i) => (i % T < lengths[Math.floor(i / T)]! ? 1 : 0));
  return { B, Tq: T, Tk: T, heads, kvHeads, hd, causal: true, ...(keyMask && { keyMask }) };
}

function statsOf(prefix: string, projections: Projection64[]): Map<string, AdapterStats> {
  return new Map(projections.flatMap((q) => (q.stats ? [[q.path.slice(prefix.length), q.stats] as const] : [])));
}

function llamaTape(p: Tensors64, prefix: string, x: Arr, c: DecoderShape, rows: Rows, sparsity: number): LayerTape {
  const R = rows.B * rows.T;
  const [E, H, KV, D, I] = [c.hidden, c.heads, c.kvHeads, c.headDim, c.intermediate];
  const theta = c.ropeTheta!;
  const proj = (name: string, dIn: number, dOut: number) => new Projection64(p, prefix + name, dIn, dOut, false, sparsity);
  const [Pq, Pk, Pv, Po] = [
    proj('self_attn.q_proj', E, H * D),
    proj('self_attn.k_proj', E, KV * D),
    proj('self_attn.v_proj', E, KV * D),
    proj('self_attn.o_proj', H * D, E),
  ];
  const [Pgate, Pup, Pdown] = [proj('mlp.gate_proj', E, I), proj('mlp.up_proj', E, I), proj('mlp.down_proj', I, E)];
  const [wIn, wPost] = [get(p, `${prefix}input_layernorm.weight`), get(p, `${prefix}post_attention_layernorm.weight`)];
  const spec = attentionSpec(rows, H, KV, D);
  const n1 = rmsNorm64(x, wIn, R, E, c.normEps).out;
  const q = rope64(Pq.forward(n1, R), rows.B, rows.T, H * D, H, theta, 0);
  const k = rope64(Pk.forward(n1, R), rows.B, rows.T, KV * D, KV, theta, 0);
  const v = Pv.forward(n1, R);
  const a = decoderAttention64(q, k, v, spec).out;
  const h = add(x, Po.forward(a, R));
  const n2 = rmsNorm64(h, wPost, R, E, c.normEps).out;
  const [gate, up] = [Pgate.forward(n2, R), Pup.forward(n2, R)];
  const s = siluMul64(gate, up);
  const y = add(h, Pdown.forward(s, R));
  return {
    y,
    adapters: statsOf(prefix, [Pq, Pk, Pv, Po, Pgate, Pup, Pdown]),
    backward(dy, grads) {
      const { dGate, dUp } = siluMulBackward64(Pdown.backward(s, dy, R, grads), gate, up);
      const dn2 = add(Pgate.backward(n2, dGate, R, grads), Pup.backward(n2, dUp, R, grads));
      const dh = add(dy, rmsNormBackward64(dn2, h, wPost, R, E, c.normEps).dx);
      const { dq, dk, dv } = decoderAttentionBackward64(Po.backward(a, dh, R, grads), q, k, v, spec);
      const dqPre = rope64(dq, rows.B, rows.T, H * D, H, theta, 0, true);
      const dkPre = rope64(dk, rows.B, rows.T, KV * D, KV, theta, 0, true);
      const dn1 = add(add(Pq.backward(n1, dqPre, R, grads), Pk.backward(n1, dkPre, R, grads)), Pv.backward(n1, dv, R, grads));
      return add(dh, rmsNormBackward64(dn1, x, wIn, R, E, c.normEps).dx);
    },
  };
}

/** Columns [from, from + width) of rows of `stride` values. */
function columns(z: Arr, R: number, stride: number, from: number, width: number): Float64Array {
  const out = new Float64Array(R * width);
  for (let r = 0; r < R; r++) for (let j = 0; j < width; j++) out[r * width + j] = z[r * stride + from + j]!;
  return out;
}

function gpt2Tape(p: Tensors64, prefix: string, x: Arr, c: DecoderShape, rows: Rows, sparsity: number): LayerTape {
  const R = rows.B * rows.T;
  const [E, H, I] = [c.hidden, c.heads, c.intermediate];
  const proj = (name: string, dIn: number, dOut: number) => new Projection64(p, prefix + name, dIn, dOut, true, sparsity);
  const [Pattn, Pproj, Pfc, Pmlp] = [
    proj('attn.c_attn', E, 3 * E),
    proj('attn.c_proj', E, E),
    proj('mlp.c_fc', E, I),
    proj('mlp.c_proj', I, E),
  ];
  const ln = (name: string) => ({ w: get(p, `${prefix}${name}.weight`), b: get(p, `${prefix}${name}.bias`) });
  const [ln1, ln2] = [ln('ln_1'), ln('ln_2')];
  const spec = attentionSpec(rows, H, H, E / H);
  const n1 = layerNorm64(x, ln1.w, ln1.b, R, E, c.normEps).out;
  const z = Pattn.forward(n1, R);
  const [q, k, v] = [0, 1, 2].map((i) => columns(z, R, 3 * E, i * E, E)) as [Float64Array, Float64Array, Float64Array];
  const a = decoderAttention64(q, k, v, spec).out;
  const h = add(x, Pproj.forward(a, R));
  const n2 = layerNorm64(h, ln2.w, ln2.b, R, E, c.normEps).out;
  const f = Pfc.forward(n2, R);
  const g = Float64Array.from(f, geluTanh64);
  const y = add(h, Pmlp.forward(g, R));
  return {
    y,
    adapters: statsOf(prefix, [Pattn, Pproj, Pfc, Pmlp]),
    backward(dy, grads) {
      const dg = Pmlp.backward(g, dy, R, grads);
      const df = Float64Array.from(dg, (d, i) => d * geluTanhGrad64(f[i]!));
      const dh = add(dy, layerNormBackward64(Pfc.backward(n2, df, R, grads), h, ln2.w, R, E, c.normEps).dx);
      const parts = decoderAttentionBackward64(Pproj.backward(a, dh, R, grads), q, k, v, spec);
      const dz = new Float64Array(R * 3 * E);
      [parts.dq, parts.dk, parts.dv].forEach((d, i) => {
        for (let r = 0; r < R; r++) for (let j = 0; j < E; j++) dz[r * 3 * E + i * E + j] = d[r * E + j]!;
      });
      return add(dh, layerNormBackward64(Pattn.backward(n1, dz, R, grads), x, ln1.w, R, E, c.normEps).dx);
    },
  };
}

/** One layer of `c.arch` on x [B, T, hidden], tensors under `prefix`, every adapter at sparsity s. */
export function decoderLayerTape64(p: Tensors64, prefix: string, x: Arr, c: DecoderShape, rows: Rows, sparsity: number) {
  return c.arch === 'llama' ? llamaTape(p, prefix, x, c, rows, sparsity) : gpt2Tape(p, prefix, x, c, rows, sparsity);
}

export interface LmLoss64 {
  loss: number;
  grads: Grads64;
  /** Every adapter's stats, by its full path (`model.layers.<l>.<P>`). */
  adapters: Map<string, AdapterStats>;
}

/**
 * A LLaMA causal LM on ids [B, T] with pre-shifted labels (−100 ignored): mean token cross-entropy
 * over the counted positions and the gradients of every adapter factor.
 */
export function llamaLmLoss64(p: Tensors64, c: DecoderShape, ids: Arr, labels: Arr, rows: Rows, sparsity: number): LmLoss64 {
  if (c.arch !== 'llama') throw new Error(`decoder backward: the LM loss is written for llama, got ${c.arch}`);
  const R = rows.B * rows.T;
  const [E, V] = [c.hidden, c.vocabSize];
  const embedding = get(p, 'model.embed_tokens.weight');
  let h: Float64Array = embed64(ids, embedding, V, E);
  const tapes: LayerTape[] = [];
  const adapters = new Map<string, AdapterStats>();
  for (let l = 0; l < c.layers; l++) {
    const prefix = `model.layers.${l}.`;
    const tape = decoderLayerTape64(p, prefix, h, c, rows, sparsity);
    for (const [path, s] of tape.adapters) adapters.set(prefix + path, s);
    tapes.push(tape);
    h = tape.y;
  }
  const normW = get(p, 'model.norm.weight');
  const final = rmsNorm64(h, normW, R, E, c.normEps).out;
  const head = c.tieWordEmbeddings ? embedding : get(p, 'lm_head.weight');
  const logits = matmul64(final, head, R, E, V, false, true);
  const counted = Float64Array.from(labels, (y) => (y === -100 ? IGNORE_LABEL : y));
  const { loss, dLogits } = tokenCrossEntropy64(logits, counted, R, V);
  const grads: Grads64 = new Map();
  let dh: Float64Array = rmsNormBackward64(matmul64(dLogits, head, R, V, E), h, normW, R, E, c.normEps).dx;
  for (let l = c.layers - 1; l >= 0; l--) dh = tapes[l]!.backward(dh, grads);
  return { loss, grads, adapters };
}
