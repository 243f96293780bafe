// Builds lm_train_llama_<tag> vectors (test/vectors/README.md, "lm_train_llama_<tag>") in float64: a
// tiny LLaMA causal LM with a SNELL adapter beside every projection, trained on one right-padded batch
// (labels pre-shifted, −100 on the last real position and the padding) by PyTorch's AdamW on the
// adapters' In_Qs and Out_Qs only, everything else frozen. Per step: loss and gradients at the current
// adapters (thresholds recomputed, test/support/decoder-grad64.ts), record the loss, one AdamW step
// (src/reference/transformer64.ts adamw64, weight decay on every factor).

import type { NamedTensor } from '../../src/io/safetensors-write.js';
import { encodeSafetensors } from '../../src/io/safetensors-write.js';
import { rng } from '../../src/core/random.js';
import type { DecoderShape, Rows, Tensors64 } from '../../src/reference/decoder64.js';
import { adamw64 } from '../../src/reference/transformer64.js';
import { llamaLmLoss64 } from './decoder-grad64.js';
import {
  archMeta,
  Draws,
  encodeMeta,
  layerParams,
  type LmAdapterSettings,
  type LmBlockSpec,
  padMask,
  shapeOf,
} from './make-lm-vector.js';

export interface AdamWSettings {
  lr: number;
  weight_decay: number;
  betas: [number, number];
  eps: number;
}

export interface LmTrainSpec extends LmAdapterSettings {
  tag: string;
  seed: number;
  shape: LmBlockSpec['shape'] & { arch: 'llama' };
  attentionBias: boolean;
  vocabSize: number;
  layers: number;
  tieWordEmbeddings: boolean;
  batch: number;
  seqLen: number;
  lengths: number[];
  padTokenId: number;
  steps: number;
  optimizer: AdamWSettings;
}

export interface LmTrainRun {
  losses: number[];
  /** Every In_Qs and Out_Qs after the last step. */
  finals: Map<string, Float64Array>;
  /** The smallest threshold gap (over max|W|) of any adapter at any step. */
  minGap: number;
}

/** Trains copies of the adapters in `initial` (names without `param.`) for `steps` steps. */
export function trainLm64(
  c: DecoderShape,
  a: LmAdapterSettings,
  initial: Tensors64,
  ids: ArrayLike<number>,
  labels: ArrayLike<number>,
  rows: Rows,
  steps: number,
  o: AdamWSettings,
): LmTrainRun {
  const params = new Map([...initial].map(([k, t]) => [k, { shape: t.shape, data: Float64Array.from(t.data) }]));
  const trainable = [...params.keys()].filter((n) => n.endsWith('.snell.In_Qs') || n.endsWith('.snell.Out_Qs'));
  const moments = new Map(
    trainable.map((n) => [
      n,
      { m: new Float64Array(params.get(n)!.data.length), v: new Float64Array(params.get(n)!.data.length) },
    ]),
  );
  const losses: number[] = [];
  let minGap = Infinity;
  for (let step = 1; step <= steps; step++) {
    const { loss, grads, adapters } = llamaLmLoss64(params, c, ids, labels, rows, a.sparsity);
    losses.push(loss);
    for (const s of adapters.values()) minGap = Math.min(minGap, s.gap);
    for (const name of trainable) {
      const p = params.get(name)!;
      const st = moments.get(name)!;
      const next = adamw64(p.data, grads.get(name)!, st.m, st.v, o.lr, o.betas[0], o.betas[1], o.eps, o.weight_decay, step);
      params.set(name, { shape: p.shape, data: next.p });
      moments.set(name, { m: next.m, v: next.v });
    }
  }
  return { losses, finals: new Map(trainable.map((n) => [n, params.get(n)!.data])), minGap };
}

/** Token ids with `pad` after each sequence's real tokens, and the pre-shifted labels. */
function tokens(spec: LmTrainSpec) {
  const { batch: B, seqLen: T, lengths } = spec;
  const next = rng(spec.seed + 7919);
  const ids = new Float32Array(B * T);
  const labels = new Float32Array(B * T).fill(-100);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) ids[b * T + t] = t < lengths[b]! ? Math.floor(next() * spec.vocabSize) : spec.padTokenId;
    for (let t = 0; t + 1 < lengths[b]!; t++) labels[b * T + t] = ids[b * T + t + 1]!;
  }
  return { ids, labels };
}

export function makeLmTrainVector(spec: LmTrainSpec): { name: string; bytes: Uint8Array; run: LmTrainRun } {
  const { batch: B, seqLen: T, shape: c, vocabSize: V } = spec;
  const E = c.hidden;
  const draw = new Draws(spec.seed);
  const init = new Map<string, NamedTensor>();
  const embedBound = 0.35;
  init.set('model.embed_tokens.weight', draw.uniform([V, E], -embedBound, embedBound));
  for (let l = 0; l < spec.layers; l++) {
    for (const [n, t] of layerParams(draw, `model.layers.${l}.`, c, spec.attentionBias, spec)) init.set(n, t);
  }
  init.set('model.norm.weight', draw.uniform([E], 0.8, 1.2));
  if (!spec.tieWordEmbeddings) init.set('lm_head.weight', draw.uniform([V, E], -embedBound, embedBound));
  const { ids, labels } = tokens(spec);
  const shape = shapeOf(c, V, spec.layers, spec.tieWordEmbeddings);
  const rows: Rows = { B, T, lengths: spec.lengths };
  const run = trainLm64(shape, spec, init, ids, labels, rows, spec.steps, spec.optimizer);
  const name = `lm_train_llama_${spec.tag}`;
  const tensors: Record<string, NamedTensor> = {};
  for (const [n, t] of init) tensors[`param.${n}`] = t;
  Object.assign(tensors, {
    input_ids: { shape: [B, T], data: ids },
    pad_mask: padMask(B, T, spec.lengths),
    labels: { shape: [B, T], data: labels },
    losses: { shape: [spec.steps], data: Float32Array.from(run.losses) },
  });
  for (const [n, t] of init) {
    const final = run.finals.get(n);
    if (final || n.endsWith('.snell.shared_coeff_fc'))
      tensors[`final.${n}`] = { shape: t.shape, data: final ? Float32Array.from(final) : t.data };
  }
  const meta = {
    case: name,
    ...archMeta(c, spec.attentionBias, spec),
    batch: B,
    seq_len: T,
    vocab_size: V,
    num_hidden_layers: spec.layers,
    tie_word_embeddings: spec.tieWordEmbeddings,
    lengths: spec.lengths,
    pad_token_id: spec.padTokenId,
    steps: spec.steps,
    optimizer: { name: 'AdamW', ...spec.optimizer },
    trainable:
      'adapters only (*.snell.In_Qs, *.snell.Out_Qs); embed_tokens, all base weights and biases, norms and lm_head frozen',
    lm_head_trainable: false,
    labels: 'pre-shifted: labels[b,t] = input_ids[b,t+1] for t+1 < lengths[b], else -100; no further shift',
    loss: 'cross-entropy of logits[b,t] against labels[b,t], mean over positions with labels != -100',
    positions: '0..seq_len-1 for every row',
    dropout: 'none',
    min_threshold_gap: spec.sparsity === 0 ? null : run.minGap,
    generator: 'float64: test/support/decoder-grad64.ts loss and gradients, src/reference/transformer64.ts AdamW',
  };
  return { name: `${name}.safetensors`, bytes: encodeSafetensors(tensors, encodeMeta(meta)), run };
}
