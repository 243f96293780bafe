// The float64 decoder reference (src/reference/decoder64.ts) against the lm_* golden vectors: one
// LLaMA-family layer or GPT-2 block with SNELL or KLoRA adapters (y, thresholds, kept counts), and the
// tiny causal LMs' step-0 loss from their initial parameters (pre-shifted labels, −100 ignored).
// The vectors store float32: y and the losses are the float64 results rounded once, so the reference,
// rounded to float32, must land on the stored value or one unit in the last place next to it; the
// thresholds are stored as float64 JSON and must agree to 1e-12.

import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { vectorReader } from '../src/conformance/vector-reader.js';
import { causalLmLoss64, type DecoderShape, decoderLayer64, decoderLogits64, type Snell64 } from '../src/reference/decoder64.js';
import { uniform } from '../src/reference/random.js';
import { matmul64 } from '../src/reference/snell64.js';
import { layerNorm64 } from '../src/reference/transformer64.js';
import { VECTORS_DIR } from './support/vectors.js';

const files = (prefix: string) => readdirSync(VECTORS_DIR).filter((f) => f.startsWith(prefix) && f.endsWith('.safetensors'));
const open = (file: string) => vectorReader(new Uint8Array(readFileSync(join(VECTORS_DIR, file))), file);

/** The number of float32 values between a and b (0 when equal). */
function ulps(a: number, b: number): number {
  const bits = new Int32Array(new Float32Array([a, b]).buffer);
  const ordered = (i: number) => (bits[i] < 0 ? -0x80000000 - bits[i] : bits[i]);
  return Math.abs(ordered(0) - ordered(1));
}

function relL2(ours: ArrayLike<number>, ref: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < ref.length; i++) {
    num += (ours[i] - ref[i]) ** 2;
    den += ref[i] ** 2;
  }
  return Math.sqrt(num / den);
}

function shapeOf(v: ReturnType<typeof open>): DecoderShape {
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

describe('float64 decoder reference on the lm_* vectors', () => {
  for (const file of [...files('lm_block_llama_'), ...files('lm_block_gpt2_')]) {
    it(`${file}: y to the stored float32 values, thresholds and kept counts exactly`, () => {
      const v = open(file);
      const c = shapeOf(v);
      const [B, T] = [v.int('batch'), v.int('seq_len')];
      const lengths = v.meta('lengths') as number[];
      const sparsity = v.num('init_thres');
      const seen = new Map<string, { threshold: number | null; kept: number }>();
      const snell: Snell64 = { sparsity, onAdapter: (path, stats) => seen.set(path, stats) };
      const y = decoderLayer64(v.under('param.'), '', v.tensor('x').data, c, { B, T, lengths }, snell);
      const stored = v.tensor('y').data;
      expect(y.length).toBe(stored.length);
      expect(relL2(y, stored)).toBeLessThan(1e-7);
      const worst = Math.max(...Array.from(stored, (s, i) => ulps(Math.fround(y[i]), s)));
      expect(worst).toBeLessThanOrEqual(1);
      expect(seen.size).toBe(c.arch === 'llama' ? 7 : 4);
      if (sparsity === 0) return;
      const thresholds = v.meta('threshold') as Record<string, number>;
      const kept = v.meta('kept') as Record<string, number>;
      expect(Object.fromEntries([...seen].map(([p, s]) => [p, s.kept]))).toEqual(kept);
      for (const [path, s] of seen) expect(Math.abs(s.threshold! - thresholds[path]) / thresholds[path]).toBeLessThan(1e-12);
    });
  }

  for (const file of files('lm_train_llama_')) {
    it(`${file}: the step-0 loss from the initial parameters`, () => {
      const v = open(file);
      const c = shapeOf(v);
      const [B, T] = [v.int('batch'), v.int('seq_len')];
      const lengths = v.meta('lengths') as number[];
      const params = v.under('param.');
      expect(params.has('lm_head.weight')).toBe(!c.tieWordEmbeddings);
      const ids = v.tensor('input_ids').data;
      const labels = v.tensor('labels').data;
      lengths.forEach((length, b) => {
        for (let t = 0; t < T; t++) {
          const label = labels[b * T + t];
          expect(label).toBe(t + 1 < length ? ids[b * T + t + 1] : -100);
        }
      });
      const logits = decoderLogits64(params, c, ids, { B, T, lengths }, { sparsity: v.num('init_thres') });
      const loss = causalLmLoss64(logits, labels, B * T, c.vocabSize);
      expect(ulps(Math.fround(loss), v.tensor('losses').data[0])).toBeLessThanOrEqual(1);
    });
  }

  it('feeds GPT-2 blocks token plus position embeddings and reads logits through ln_f and the tied wte', () => {
    // one token per row whose embedding plus its position's is the block vector's x: the block's stored
    // y then gives logits = LN_f(y)·wteᵀ
    const v = open('lm_block_gpt2_h32_s0.5.safetensors');
    const [B, T] = [v.int('batch'), v.int('seq_len')];
    const R = B * T;
    const c = { ...shapeOf(v), vocabSize: R, tieWordEmbeddings: true };
    const E = c.hidden;
    const x = v.tensor('x').data;
    const wpe = uniform(T * E, 3);
    const wte = Float64Array.from(x, (value, i) => value - wpe[(Math.floor(i / E) % T) * E + (i % E)]);
    const [lnW, lnB] = [uniform(E, 4, 0.5, 1.5), uniform(E, 5)];
    const p = new Map<string, { shape: readonly number[]; data: ArrayLike<number> }>([
      ['transformer.wte.weight', { shape: [R, E], data: wte }],
      ['transformer.wpe.weight', { shape: [T, E], data: wpe }],
      ['transformer.ln_f.weight', { shape: [E], data: lnW }],
      ['transformer.ln_f.bias', { shape: [E], data: lnB }],
      ...[...v.under('param.')].map(([n, t]) => [`transformer.h.0.${n}`, t] as const),
    ]);
    const ids = Array.from({ length: R }, (_, r) => r);
    const logits = decoderLogits64(p, c, ids, { B, T }, { sparsity: v.num('init_thres') });
    const expected = matmul64(layerNorm64(v.tensor('y').data, lnW, lnB, R, E, c.normEps).out, wte, R, E, R, false, true);
    expect(relL2(logits, expected)).toBeLessThan(1e-6);
  });

  it('right padding changes only the padded rows of a layer', () => {
    const v = open('lm_block_llama_h32_pad_s0.7.safetensors');
    const c = shapeOf(v);
    const [B, T] = [v.int('batch'), v.int('seq_len')];
    const lengths = v.meta('lengths') as number[];
    const params = v.under('param.');
    const x = v.tensor('x').data;
    const snell = { sparsity: v.num('init_thres') };
    const padded = decoderLayer64(params, '', x, c, { B, T, lengths }, snell);
    const causal = decoderLayer64(params, '', x, c, { B, T }, snell);
    const E = c.hidden;
    let changedPadded = 0;
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        const row = (a: Float64Array) => a.subarray((b * T + t) * E, (b * T + t + 1) * E);
        if (t < lengths[b]) expect(row(padded)).toEqual(row(causal));
        else if (relL2(row(padded), row(causal)) > 1e-6) changedPadded++;
      }
    }
    expect(changedPadded).toBe(lengths.reduce((n, l) => n + T - l, 0));
  });
});
