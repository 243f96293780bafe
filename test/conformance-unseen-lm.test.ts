// The runner on decoder-LM vectors it was not written against: lm_block_llama_*, lm_block_gpt2_* and
// lm_train_llama_* files of shapes and settings the stored ones do not use (other GQA ratios, odd and
// padded sequences up to T = 33, q/k/v biases, rope_theta, ranks, sparsities, 1 to 4 kernel heads,
// head widths apart from hidden/heads or odd, adapters on some projections only), through the same
// runLmBlockCase / runLmTrainCase the golden vectors go through, on both backends; corrupted copies
// must fail naming the fault.
//
// What is independent of the engine: the expected values come from float64 code only —
// src/reference/decoder64.ts (the forward, checked against the stored lm_* files in
// decoder-reference.test.ts) and test/support/decoder-grad64.ts (its backward, written from the
// vectors README) with src/reference/transformer64.ts's AdamW. No engine module computes any expected
// value. The backward is checked here twice before any file is written: against central finite
// differences of decoder64's forward (grad.x exactly; an adapter's gradient exactly for KLoRA and at
// half for SNELL, since holding |W| constant halves d(W·|W|)/dW = 2|W| while the kept set is locally
// fixed), and against the gradients, losses and trained adapters stored in the golden lm_* files.

import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../src/backend.js';
import { relL2 } from '../src/conformance/compare.js';
import { runConformance, type VectorFile } from '../src/conformance/run.js';
import { vectorReader } from '../src/conformance/vector-reader.js';
import { SafetensorsFile } from '../src/io/safetensors.js';
import { encodeSafetensors, type NamedTensor } from '../src/io/safetensors-write.js';
import {
  causalLmLoss64,
  type DecoderShape,
  decoderLayer64,
  decoderLogits64,
  type Tensors64,
} from '../src/reference/decoder64.js';
import { BACKENDS } from './support/backends.js';
import { decoderLayerTape64, type Grads64, llamaLmLoss64 } from './support/decoder-grad64.js';
import { type LmTrainSpec, makeLmTrainVector, trainLm64 } from './support/make-lm-train-vector.js';
import {
  Draws,
  type LmBlockSpec,
  layerParams,
  makeLmBlockVector,
  projections,
  shapeOf,
  targeted,
} from './support/make-lm-vector.js';
import { VECTORS_DIR } from './support/vectors.js';

type Arr = ArrayLike<number>;

/** Central differences of f at `at` along the flat entries `indices`, step h. */
function centralDifferences(f: (t: Float64Array) => number, at: Arr, indices: number[], h: number): number[] {
  return indices.map((i) => {
    const t = Float64Array.from(at);
    t[i] = at[i]! + h;
    const up = f(t);
    t[i] = at[i]! - h;
    return (up - f(t)) / (2 * h);
  });
}

/** Eight entries spread over a tensor of n values. */
const spread = (n: number) => Array.from({ length: 8 }, (_, j) => Math.floor(((j + 0.5) * n) / 8));

const withTensor = (p: Tensors64, name: string, data: Arr): Tensors64 =>
  new Map([...p, [name, { shape: p.get(name)!.shape, data }]]);

/** relL2 of the analytic gradients against central differences over every adapter factor (FD ÷ ratio). */
function adapterCheck(
  p: Tensors64,
  grads: Grads64,
  f: (p: Tensors64) => number,
  ratio: number,
): { worst: number; checked: number } {
  let worst = 0;
  let checked = 0;
  for (const [name, g] of grads) {
    const at = p.get(name)!.data;
    const idx = spread(at.length);
    const fd = centralDifferences((t) => f(withTensor(p, name, t)), at, idx, 3e-6).map((d) => d / ratio);
    worst = Math.max(
      worst,
      relL2(
        idx.map((i) => g[i]!),
        fd,
      ),
    );
    checked++;
  }
  return { worst, checked };
}

const dot = (a: Arr, b: Arr) => Array.from(a).reduce((s, v, i) => s + v * b[i]!, 0);

/** A small layer and its inputs for the finite-difference checks. */
function smallLayer(shape: LmBlockSpec['shape'], attentionBias: boolean, sparsity: number, seed: number, B: number, T: number) {
  const draw = new Draws(seed);
  const params = layerParams(draw, '', shape, attentionBias, { qDim: 4, kernelHeads: 2, sparsity });
  return { params, x: draw.uniform([B, T, shape.hidden], -1.7, 1.7).data, g: draw.uniform([B, T, shape.hidden], -1.7, 1.7).data };
}

const SMALL_LLAMA = {
  arch: 'llama',
  hidden: 16,
  heads: 4,
  kvHeads: 2,
  headDim: 4,
  intermediate: 24,
  normEps: 1e-6,
  ropeTheta: 5e5,
} as const;
const SMALL_GPT2 = {
  arch: 'gpt2',
  hidden: 12,
  heads: 3,
  kvHeads: 3,
  headDim: 4,
  intermediate: 20,
  normEps: 1e-5,
  ropeTheta: null,
} as const;

describe('the float64 backward against finite differences of the reference forward', () => {
  for (const [label, shape, bias, s, seed] of [
    ['llama, GQA 2, q/k/v biases, SNELL s = 0.5', SMALL_LLAMA, true, 0.5, 48],
    ['llama, KLoRA', SMALL_LLAMA, false, 0, 41],
    ['gpt2, SNELL s = 0.4', SMALL_GPT2, true, 0.4, 43],
  ] as const) {
    it(label, () => {
      const [B, T] = [2, 5];
      const rows = { B, T, lengths: [5, 3] };
      const { params, x, g } = smallLayer(shape, bias, s, seed, B, T);
      const c = shapeOf(shape);
      const forward = (p: Tensors64, input: Arr) => decoderLayer64(p, '', input, c, rows, { sparsity: s });
      const tape = decoderLayerTape64(params, '', x, c, rows, s);
      expect(relL2(tape.y, forward(params, x))).toBeLessThan(1e-14);
      // a step h = 3e-6 moves W by at most 0.1·h, far inside every gap: the kept sets stay put
      if (s > 0) expect(Math.min(...[...tape.adapters.values()].map((a) => a.gap))).toBeGreaterThan(5e-4);
      const grads: Grads64 = new Map();
      const dx = tape.backward(g, grads);
      expect(grads.size).toBe(2 * (shape.arch === 'llama' ? 7 : 4));
      const idx = spread(x.length);
      const fdX = centralDifferences((t) => dot(g, forward(params, t)), x, idx, 1e-5);
      expect(
        relL2(
          idx.map((i) => dx[i]!),
          fdX,
        ),
      ).toBeLessThan(1e-7);
      const { worst } = adapterCheck(params, grads, (p) => dot(g, forward(p, x)), s > 0 ? 2 : 1);
      expect(worst).toBeLessThan(1e-6);
    });
  }

  it('a tied llama LM: the loss equals the reference, every adapter gradient its finite difference ÷ 2', () => {
    const [B, T, V] = [2, 6, 11];
    const draw = new Draws(80);
    const init = new Map<string, NamedTensor>([['model.embed_tokens.weight', draw.uniform([V, 16], -0.35, 0.35)]]);
    for (let l = 0; l < 2; l++)
      for (const [n, t] of layerParams(draw, `model.layers.${l}.`, SMALL_LLAMA, true, { qDim: 4, kernelHeads: 2, sparsity: 0.5 }))
        init.set(n, t);
    init.set('model.norm.weight', draw.uniform([16], 0.8, 1.2));
    const c: DecoderShape = shapeOf(SMALL_LLAMA, V, 2, true);
    const rows = { B, T, lengths: [6, 4] };
    const ids = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 0, 0];
    const labels = [1, 4, 1, 5, 9, -100, 6, 5, 3, -100, -100, -100];
    const loss = (p: Tensors64) => causalLmLoss64(decoderLogits64(p, c, ids, rows, { sparsity: 0.5 }), labels, B * T, V);
    const ours = llamaLmLoss64(init, c, ids, labels, rows, 0.5);
    expect(Math.abs(ours.loss - loss(init))).toBeLessThan(1e-13);
    expect(Math.min(...[...ours.adapters.values()].map((a) => a.gap))).toBeGreaterThan(5e-4);
    const { worst, checked } = adapterCheck(init, ours.grads, loss, 2);
    expect(checked).toBe(28);
    // gradients of ~1e-4 against the rounding of a loss near 2.4 over a step of 3e-6 (~2e-10)
    expect(worst).toBeLessThan(1e-5);
  });
});

const open = (name: string) => vectorReader(new Uint8Array(readFileSync(`${VECTORS_DIR}/${name}.safetensors`)), name);

function storedShape(v: ReturnType<typeof open>): DecoderShape {
  const llama = v.meta('arch') === 'llama';
  const heads = v.int('num_attention_heads');
  return {
    arch: llama ? 'llama' : 'gpt2',
    vocabSize: v.int('vocab_size', 1),
    hidden: v.int('hidden_size'),
    layers: v.int('num_hidden_layers', 1),
    heads,
    kvHeads: llama ? v.int('num_key_value_heads') : heads,
    headDim: v.int('head_dim'),
    intermediate: v.int(llama ? 'intermediate_size' : 'n_inner'),
    normEps: v.num(llama ? 'rms_norm_eps' : 'layer_norm_epsilon'),
    ropeTheta: llama ? v.num('rope_theta') : null,
    tieWordEmbeddings: v.meta('tie_word_embeddings', false) === true,
  };
}

describe('the float64 backward reproduces the stored lm_* vectors', () => {
  for (const name of [
    'lm_block_llama_h32_s0.5',
    'lm_block_llama_h32_pad_s0.7',
    'lm_block_llama_h32_klora',
    'lm_block_gpt2_h32_s0.5',
  ]) {
    it(`${name}: grad.x and every adapter gradient`, () => {
      const v = open(name);
      const [B, T] = [v.int('batch'), v.int('seq_len')];
      const rows = { B, T, lengths: v.meta('lengths') as number[] };
      const tape = decoderLayerTape64(v.under('param.'), '', v.tensor('x').data, storedShape(v), rows, v.num('init_thres'));
      const grads: Grads64 = new Map();
      expect(relL2(tape.backward(v.tensor('g').data, grads), v.tensor('grad.x').data)).toBeLessThan(1e-6);
      const stored = v.st.names.filter((n) => n.startsWith('grad.') && n !== 'grad.x');
      expect([...grads.keys()].map((n) => `grad.${n}`).sort()).toEqual(stored.sort());
      for (const n of stored) expect(relL2(grads.get(n.slice(5))!, v.tensor(n).data), n).toBeLessThan(1e-6);
    });
  }

  for (const name of ['lm_train_llama_h32_tied', 'lm_train_llama_h32_untied']) {
    it(`${name}: every step's loss and the trained adapters`, () => {
      const v = open(name);
      const [B, T] = [v.int('batch'), v.int('seq_len')];
      const o = v.meta('optimizer') as LmTrainSpec['optimizer'];
      const adapter = { qDim: v.int('q_dim'), kernelHeads: v.int('num_Hs'), sparsity: v.num('init_thres') };
      const run = trainLm64(
        storedShape(v),
        adapter,
        v.under('param.'),
        v.tensor('input_ids').data,
        v.tensor('labels').data,
        { B, T, lengths: v.meta('lengths') as number[] },
        v.int('steps'),
        o,
      );
      const losses = v.tensor('losses').data;
      expect(Math.max(...run.losses.map((l, i) => Math.abs(l - losses[i]!) / losses[i]!))).toBeLessThan(1e-6);
      let worst = 0;
      for (const [n, final] of run.finals) worst = Math.max(worst, relL2(final, v.tensor(`final.${n}`).data));
      expect(run.finals.size).toBe(v.int('num_hidden_layers') * 14);
      expect(worst).toBeLessThan(1e-5);
    });
  }
});

/**
 * LLaMA: GQA at 3 query heads per KV head, Qwen2's q/k/v biases, rope_theta 1e6, odd T = 9, three
 * padded sequences (one of a single token), rank 12.
 */
const LLAMA_GQA3: LmBlockSpec = {
  tag: 'h48_gqa3_bias_pad_s0.6',
  seed: 1101,
  shape: { arch: 'llama', hidden: 48, heads: 6, kvHeads: 2, headDim: 8, intermediate: 80, normEps: 1e-6, ropeTheta: 1e6 },
  attentionBias: true,
  batch: 4,
  seqLen: 9,
  lengths: [9, 5, 1, 7],
  qDim: 12,
  kernelHeads: 2,
  sparsity: 0.6,
};

/**
 * LLaMA: multi-query attention (one KV head for 5 query heads), rope_theta 5e5, 4 kernel heads, s =
 * 0.35, T = 5; adapters on q, v and down only.
 */
const LLAMA_MQA: LmBlockSpec = {
  tag: 'h40_mqa_q8h4_qvdown_pad_s0.35',
  seed: 1202,
  shape: { arch: 'llama', hidden: 40, heads: 5, kvHeads: 1, headDim: 8, intermediate: 72, normEps: 1e-5, ropeTheta: 5e5 },
  attentionBias: false,
  batch: 3,
  seqLen: 5,
  lengths: [5, 2, 4],
  qDim: 8,
  kernelHeads: 4,
  sparsity: 0.35,
  targets: ['q_proj', 'v_proj', 'down_proj'],
};

/**
 * LLaMA KLoRA: plain multi-head attention (KV = H), head_dim 12 with H·D = 48 ≠ hidden 24, biases, T =
 * 11.
 */
const LLAMA_KLORA: LmBlockSpec = {
  tag: 'h24_hd12_bias_klora',
  seed: 1303,
  shape: { arch: 'llama', hidden: 24, heads: 4, kvHeads: 4, headDim: 12, intermediate: 56, normEps: 1e-6, ropeTheta: 25000 },
  attentionBias: true,
  batch: 2,
  seqLen: 11,
  qDim: 6,
  kernelHeads: 2,
  sparsity: 0,
};

/** LLaMA: T = 33 (two sequences, one padded to 17), 6 heads of 6 over 3 KV heads, 3 kernel heads, s = 0.9. */
const LLAMA_T33: LmBlockSpec = {
  tag: 'h36_t33_h3_pad_s0.9',
  seed: 1606,
  shape: { arch: 'llama', hidden: 36, heads: 6, kvHeads: 3, headDim: 6, intermediate: 50, normEps: 1e-5, ropeTheta: 10000 },
  attentionBias: true,
  batch: 2,
  seqLen: 33,
  lengths: [33, 17],
  qDim: 6,
  kernelHeads: 3,
  sparsity: 0.9,
};

/**
 * GPT-2: width 48 in 6 heads, n_inner 160 (not 4·hidden), rank 6, s = 0.8, two padded sequences, T =
 * 9; adapters on c_attn and c_fc only.
 */
const GPT2_PAD: LmBlockSpec = {
  tag: 'h48_n160_attnfc_pad_s0.8',
  seed: 1405,
  shape: { arch: 'gpt2', hidden: 48, heads: 6, kvHeads: 6, headDim: 8, intermediate: 160, normEps: 1e-5, ropeTheta: null },
  attentionBias: true,
  batch: 3,
  seqLen: 9,
  lengths: [9, 4, 6],
  qDim: 6,
  kernelHeads: 2,
  sparsity: 0.8,
  targets: ['c_attn', 'c_fc'],
};

/**
 * GPT-2 KLoRA: width 24 in 2 heads of 12, n_inner null (the default 4·hidden), 4 kernel heads of rank
 * 2 each, T = 6.
 */
const GPT2_KLORA: LmBlockSpec = {
  tag: 'h24_q8h4_klora',
  seed: 1505,
  shape: { arch: 'gpt2', hidden: 24, heads: 2, kvHeads: 2, headDim: 12, intermediate: 96, normEps: 1e-5, ropeTheta: null },
  attentionBias: true,
  batch: 2,
  seqLen: 6,
  qDim: 8,
  kernelHeads: 4,
  sparsity: 0,
};

/**
 * Three layers, tied, GQA 3, biases, rope_theta 1e6, odd T = 9 with two padded sequences; 8 steps of
 * lr 0.02, β (0.8, 0.95), eps 1e-7.
 */
const TRAIN_TIED: LmTrainSpec = {
  tag: 'h24_l3_gqa3_bias_tied_s0.4',
  seed: 2102,
  shape: { arch: 'llama', hidden: 24, heads: 6, kvHeads: 2, headDim: 4, intermediate: 40, normEps: 1e-6, ropeTheta: 1e6 },
  attentionBias: true,
  vocabSize: 37,
  layers: 3,
  tieWordEmbeddings: true,
  batch: 3,
  seqLen: 9,
  lengths: [9, 6, 2],
  padTokenId: 0,
  qDim: 4,
  kernelHeads: 2,
  sparsity: 0.4,
  steps: 8,
  optimizer: { lr: 0.02, weight_decay: 0.05, betas: [0.8, 0.95], eps: 1e-7 },
};

/**
 * One untied layer, multi-query, KLoRA with 4 kernel heads on q_proj and v_proj only (PEFT's LoRA
 * default), five sequences (three padded, pad id 3); 4 steps of lr 0.005, no weight decay.
 */
const TRAIN_KLORA: LmTrainSpec = {
  tag: 'h32_l1_mqa_qv_untied_klora',
  seed: 2202,
  shape: { arch: 'llama', hidden: 32, heads: 4, kvHeads: 1, headDim: 8, intermediate: 48, normEps: 1e-5, ropeTheta: 10000 },
  attentionBias: false,
  vocabSize: 50,
  layers: 1,
  tieWordEmbeddings: false,
  batch: 5,
  seqLen: 6,
  lengths: [6, 6, 3, 5, 2],
  padTokenId: 3,
  qDim: 8,
  kernelHeads: 4,
  sparsity: 0,
  targets: ['q_proj', 'v_proj'],
  steps: 4,
  optimizer: { lr: 0.005, weight_decay: 0, betas: [0.9, 0.99], eps: 1e-8 },
};

/** GPT-2: 4 heads of an odd width 5, one kernel head of rank 2, s = 0.3, T = 13 with one padded sequence. */
const GPT2_D5: LmBlockSpec = {
  tag: 'h20_d5_h1_pad_s0.3',
  seed: 1707,
  shape: { arch: 'gpt2', hidden: 20, heads: 4, kvHeads: 4, headDim: 5, intermediate: 44, normEps: 1e-5, ropeTheta: null },
  attentionBias: true,
  batch: 2,
  seqLen: 13,
  lengths: [13, 7],
  qDim: 2,
  kernelHeads: 1,
  sparsity: 0.3,
};

const BLOCK_SPECS = [LLAMA_GQA3, LLAMA_MQA, LLAMA_KLORA, LLAMA_T33, GPT2_PAD, GPT2_KLORA, GPT2_D5];
const blocks = BLOCK_SPECS.map(makeLmBlockVector);
const trains = [TRAIN_TIED, TRAIN_KLORA].map(makeLmTrainVector);
const generated: VectorFile[] = [...blocks, ...trains];

describe('the generated cases exercise what they claim', () => {
  it('file names, adapters on the targets only, padded rows unlike causal-only ones, kept counts, gaps a float32 W keeps', () => {
    expect(generated.map((f) => f.name)).toEqual([
      'lm_block_llama_h48_gqa3_bias_pad_s0.6.safetensors',
      'lm_block_llama_h40_mqa_q8h4_qvdown_pad_s0.35.safetensors',
      'lm_block_llama_h24_hd12_bias_klora.safetensors',
      'lm_block_llama_h36_t33_h3_pad_s0.9.safetensors',
      'lm_block_gpt2_h48_n160_attnfc_pad_s0.8.safetensors',
      'lm_block_gpt2_h24_q8h4_klora.safetensors',
      'lm_block_gpt2_h20_d5_h1_pad_s0.3.safetensors',
      'lm_train_llama_h24_l3_gqa3_bias_tied_s0.4.safetensors',
      'lm_train_llama_h32_l1_mqa_qv_untied_klora.safetensors',
    ]);
    BLOCK_SPECS.forEach((spec, i) => {
      const v = blocks[i]!;
      const st = SafetensorsFile.parse(v.bytes, v.name);
      expect(st.has('pad_mask')).toBe(spec.lengths !== undefined);
      const adapted = projections(spec.shape, spec.attentionBias).filter((p) => targeted(p.path, spec.targets));
      expect([...v.stats.keys()]).toEqual(adapted.map((p) => p.path));
      // In_Qs, Out_Qs, shared_coeff_fc and the two gradients of each adapted projection
      expect(st.names.filter((n) => n.includes('.snell.')).length).toBe(5 * adapted.length);
      for (const [path, s] of v.stats) {
        const shape = st.tensor(`param.${path}.snell.In_Qs`).shape;
        expect(shape[0]).toBe(spec.kernelHeads);
        const N = shape[1]! * (st.tensor(`param.${path}.snell.Out_Qs`).shape[1] ?? 0);
        // torch.quantile at position s(N − 1), strict >: N − 1 − ⌊s(N − 1)⌋ kept
        expect(s.kept).toBe(spec.sparsity === 0 ? N : N - 1 - Math.floor(spec.sparsity * (N - 1)));
        if (spec.sparsity > 0) expect(s.gap).toBeGreaterThan(1e-5);
      }
      if (spec.attentionBias && spec.shape.arch === 'llama') expect(st.has('param.self_attn.q_proj.bias')).toBe(true);
    });
    // padding changes the padded rows' outputs (and only theirs: decoder-reference.test.ts)
    const st = SafetensorsFile.parse(blocks[0]!.bytes, blocks[0]!.name);
    const params = new Map(st.names.filter((n) => n.startsWith('param.')).map((n) => [n.slice(6), st.tensor(n)]));
    const causal = decoderLayer64(params, '', st.tensor('x').data, shapeOf(LLAMA_GQA3.shape), { B: 4, T: 9 }, { sparsity: 0.6 });
    expect(relL2(causal, blocks[0]!.y)).toBeGreaterThan(1e-3);
  });

  it('training lowers the loss, moves every adapter, and keeps the thresholds clear of the entries', () => {
    for (const [spec, t] of [
      [TRAIN_TIED, trains[0]!],
      [TRAIN_KLORA, trains[1]!],
    ] as const) {
      expect(t.run.losses).toHaveLength(spec.steps);
      expect(t.run.losses.at(-1)!).toBeLessThan(t.run.losses[0]!);
      const st = SafetensorsFile.parse(t.bytes, t.name);
      expect(st.has('param.lm_head.weight')).toBe(!spec.tieWordEmbeddings);
      for (const [n, final] of t.run.finals) expect(relL2(final, st.tensor(`param.${n}`).data), n).toBeGreaterThan(1e-3);
      if (spec.sparsity > 0) expect(t.run.minGap).toBeGreaterThan(5e-6);
    }
  });
});

for (const [kind, make] of BACKENDS) {
  describe(`unseen lm vectors on ${kind}`, () => {
    let backend: Backend;
    beforeAll(async () => {
      backend = await make();
    });
    afterAll(() => backend?.destroy());

    it('every generated case passes', async () => {
      const lines: string[] = [];
      const r = await runConformance(generated, { backend, runtime: 'node', log: (l) => lines.push(l) });
      console.log(lines.join('\n'));
      expect(
        lines.filter((l) => !l.startsWith('PASS')),
        lines.join('\n'),
      ).toEqual([]);
      expect(r.passed).toBe(generated.length);
    });
  });
}

/** A copy of a generated file with one tensor scaled. */
function scaled(file: VectorFile, tensor: string, factor: number): VectorFile {
  const st = SafetensorsFile.parse(file.bytes, file.name);
  const tensors: Record<string, NamedTensor> = {};
  for (const name of st.names) tensors[name] = st.tensor(name);
  tensors[tensor] = { shape: tensors[tensor]!.shape, data: tensors[tensor]!.data.map((v) => v * factor) as Float32Array };
  return { name: file.name.replace('.safetensors', '_corrupt.safetensors'), bytes: encodeSafetensors(tensors, st.metadata) };
}

/** A copy of a generated file without the tensors whose names contain `part`. */
function without(file: VectorFile, part: string): VectorFile {
  const st = SafetensorsFile.parse(file.bytes, file.name);
  const tensors: Record<string, NamedTensor> = {};
  for (const name of st.names) if (!name.includes(part)) tensors[name] = st.tensor(name);
  return { name: file.name.replace('.safetensors', '_uneven.safetensors'), bytes: encodeSafetensors(tensors, st.metadata) };
}

// the comparison is the runner's own host code, the same for every backend: one backend suffices
const [firstKind, firstBackend] = BACKENDS[0]!;
describe(`corrupted copies on ${firstKind}`, () => {
  let backend: Backend;
  beforeAll(async () => {
    backend = await firstBackend();
  });
  afterAll(() => backend?.destroy());

  it('an adapter gradient 1e-3 off and a trained adapter 1% off fail, naming the tensor', async () => {
    const grad = scaled(blocks[0]!, 'grad.self_attn.k_proj.snell.Out_Qs', 1.001);
    const final = scaled(trains[1]!, 'final.model.layers.0.self_attn.v_proj.snell.In_Qs', 1.01);
    const lines: string[] = [];
    const r = await runConformance([grad, final], { backend, runtime: 'node', log: (l) => lines.push(l) });
    console.log(lines.join('\n'));
    expect(r.failed).toBe(2);
    expect(lines[0]).toMatch(/^FAIL .* -- grad\.self_attn\.k_proj\.snell\.Out_Qs relative error/);
    expect(lines[1]).toMatch(/-- final\.model\.layers\.0\.self_attn\.v_proj\.snell\.In_Qs relative error/);
  });

  it('a file whose layers adapt different projections fails, naming the odd one', async () => {
    const uneven = without(trains[0]!, 'model.layers.1.self_attn.q_proj.snell.');
    const lines: string[] = [];
    const r = await runConformance([uneven], { backend, runtime: 'node', log: (l) => lines.push(l) });
    expect(r.failed).toBe(1);
    expect(lines[0]).toMatch(/"model\.layers\.1\.self_attn\.q_proj" lacks an adapter .* the same target names/);
  });
});
