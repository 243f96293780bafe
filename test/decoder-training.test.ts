// DecoderLM training beyond branches, on tiny LLaMA-family (grouped-query, tied and untied) and GPT-2
// models with synthetic weights under their Hugging Face names: method `full` gives every tensor the
// gradient of the float64 reference loss (central finite differences of decoderLogits64 +
// causalLmLoss64, or of the pooled classifier's cross-entropy), a tied embedding summing its lookup
// and head parts; `head` trains lm_head alone and refuses a tied model; `dense` branches start at the
// base weight's gradient; the sequence classifier's logits are the reference's at each sequence's last
// real token, padded batches included, with a score loaded from the weights or drawn from the seed.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Backend, IGNORE_LABEL, type Tensor } from '../src/backend.js';
import type { NamedArray } from '../src/core/weights.js';
import { type LmConfig, parseLmConfig } from '../src/io/lm-config.js';
import { lmWeightShapes } from '../src/io/lm-naming.js';
import { type DecoderPlan, targetNames } from '../src/model/decoder/config.js';
import { DecoderLM, type DecoderTask } from '../src/model/decoder/lm.js';
import { causalLmLoss64, decoderLogits64, type Rows } from '../src/reference/decoder64.js';
import { uniform } from '../src/reference/random.js';
import { BACKENDS } from './support/backends.js';
import { expectClose } from './support/close.js';

const MODELS = {
  'qwen2 (untied, grouped-query, q/k/v biases)': {
    model_type: 'qwen2',
    vocab_size: 13,
    hidden_size: 8,
    intermediate_size: 12,
    num_hidden_layers: 2,
    num_attention_heads: 2,
    num_key_value_heads: 1,
    rms_norm_eps: 1e-6,
    rope_theta: 10000.0,
    max_position_embeddings: 8,
    tie_word_embeddings: false,
  },
  'llama (tied, grouped-query)': {
    model_type: 'llama',
    vocab_size: 11,
    hidden_size: 8,
    intermediate_size: 12,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    rms_norm_eps: 1e-5,
    rope_theta: 10000.0,
    max_position_embeddings: 8,
    tie_word_embeddings: true,
  },
  'gpt2 (tied, learned positions)': {
    model_type: 'gpt2',
    vocab_size: 11,
    n_embd: 8,
    n_layer: 2,
    n_head: 2,
    n_positions: 6,
    activation_function: 'gelu_new',
  },
} as const;
type ModelName = keyof typeof MODELS;
const [QWEN2, LLAMA, GPT2] = Object.keys(MODELS) as ModelName[];

const planOf = (method: DecoderPlan['method'], arch: 'llama' | 'gpt2'): DecoderPlan => ({
  method,
  rank: 0,
  kernelHeads: 1,
  sparsity: 0,
  targets: targetNames(arch),
});

/** The model's float32 weights and the same values in float64 for the reference (finite differences perturb those). */
interface Model {
  config: LmConfig;
  weights: Map<string, NamedArray>;
  ref: Map<string, { shape: number[]; data: Float64Array }>;
}

function model(name: ModelName, classes = 0): Model {
  const config = parseLmConfig(MODELS[name]);
  const shapes = lmWeightShapes(config);
  if (classes) shapes.set('score.weight', [classes, config.hidden]);
  const weights = new Map<string, NamedArray>();
  const ref = new Map<string, { shape: number[]; data: Float64Array }>();
  [...shapes].forEach(([tensor, shape], i) => {
    const size = shape.reduce((a, d) => a * d, 1);
    const norm = /norm|ln_/.test(tensor) && tensor.endsWith('weight');
    const data = uniform(size, 300 + i, norm ? 0.7 : -0.4, norm ? 1.3 : 0.4);
    weights.set(tensor, { shape, data });
    ref.set(tensor, { shape, data: Float64Array.from(data) });
  });
  return { config, weights, ref };
}

const B = 2;
const T = 5;
const LENGTHS = [5, 3];
const ROWS: Rows = { B, T, lengths: LENGTHS };
const IDS = Int32Array.from({ length: B * T }, (_, i) => (i * 5 + 2) % 11);
/** Next-token labels: ids shifted left within each sequence's real tokens, the rest ignored. */
const LABELS = Array.from({ length: B * T }, (_, r) => {
  const [s, t] = [Math.floor(r / T), r % T];
  return t + 1 < LENGTHS[s]! ? IDS[r + 1]! : -100;
});
const CLASS_LABELS = [2, 0];
const CLASSES = 3;

function causalLoss64(m: Model): number {
  return causalLmLoss64(decoderLogits64(m.ref, m.config, IDS, ROWS), LABELS, B * T, m.config.vocabSize);
}

/** Logits [B, classes] of the pooled classifier: the reference model with score as an untied head, at rows lengths[b] − 1. */
function classifyLogits64(m: Model, rows: Rows, ids: ArrayLike<number>, classes: number): Float64Array {
  const withScore = new Map(m.ref);
  withScore.set('lm_head.weight', m.ref.get('score.weight')!);
  const all = decoderLogits64(withScore, { ...m.config, vocabSize: classes, tieWordEmbeddings: false }, ids, rows);
  const out = new Float64Array(rows.B * classes);
  for (let s = 0; s < rows.B; s++) {
    const r = s * rows.T + (rows.lengths?.[s] ?? rows.T) - 1;
    out.set(all.subarray(r * classes, (r + 1) * classes), s * classes);
  }
  return out;
}

/** Mean cross-entropy over the batch of the pooled classifier's logits. */
function classifyLoss64(m: Model): number {
  const logits = classifyLogits64(m, ROWS, IDS, CLASSES);
  let total = 0;
  for (let s = 0; s < B; s++) {
    const row = logits.subarray(s * CLASSES, (s + 1) * CLASSES);
    const max = Math.max(...row);
    total += Math.log(row.reduce((a, v) => a + Math.exp(v - max), 0)) + max - row[CLASS_LABELS[s]!]!;
  }
  return total / B;
}

/** Central differences of `loss` in every entry of the named reference tensors. */
function finiteDifferences(m: Model, names: readonly string[], loss: () => number, h = 1e-4): Map<string, Float64Array> {
  const out = new Map<string, Float64Array>();
  for (const name of names) {
    const t = m.ref.get(name)!;
    const g = new Float64Array(t.data.length);
    for (let i = 0; i < g.length; i++) {
      const v = t.data[i]!;
      t.data[i] = v + h;
      const up = loss();
      t.data[i] = v - h;
      const down = loss();
      t.data[i] = v;
      g[i] = (up - down) / (2 * h);
    }
    out.set(name, g);
  }
  return out;
}

/** Finite differences are computed once per model and loss, then checked on each backend. */
const fdCache = new Map<string, Map<string, Float64Array>>();
function cachedFd(key: string, m: Model, names: readonly string[], loss: () => number) {
  if (!fdCache.has(key)) fdCache.set(key, finiteDifferences(m, names, loss));
  return fdCache.get(key)!;
}

/** A GPT-2 Conv1D weight: the model holds it as [out, in], the reference (and the checkpoint) as [in, out]. */
const isConv1d = (m: Model, name: string) => m.config.arch === 'gpt2' && /\.(attn|mlp)\.c_\w+\.weight$/.test(name);

function transpose(a: ArrayLike<number>, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c]!;
  return out;
}

/** Upload helpers on the untracked backend, so the model's ledger counts only its own tensors. */
async function causalStep(b: Backend, lm: DecoderLM): Promise<number> {
  const logits = lm.forward({ ids: IDS, shape: [B, T], lengths: LENGTHS }, true);
  const labels = b.upload(
    Uint32Array.from(LABELS, (l) => (l === -100 ? IGNORE_LABEL : l)),
    [B * T],
    'u32',
  );
  return lossAndBackward(b, lm, logits, labels, 'token');
}

async function classifyStep(b: Backend, lm: DecoderLM): Promise<number> {
  const logits = lm.forward({ ids: IDS, shape: [B, T], lengths: LENGTHS }, true);
  expect(logits.shape).toEqual([B, CLASSES]);
  return lossAndBackward(b, lm, logits, b.upload(Uint32Array.from(CLASS_LABELS), [B], 'u32'), 'sequence');
}

async function lossAndBackward(b: Backend, lm: DecoderLM, logits: Tensor, labels: Tensor, kind: 'token' | 'sequence') {
  const [loss, dLogits, correct] = [b.zeros([1]), b.zeros(logits.shape), b.zeros([1], 'u32')];
  if (kind === 'token') b.tokenCrossEntropy(logits, labels, loss, dLogits, correct);
  else b.softmaxCrossEntropy(logits, labels, loss, dLogits, correct);
  lm.backward(dLogits);
  const value = ((await b.read(loss)) as Float32Array)[0]!;
  lm.backend.free(logits);
  for (const t of [labels, loss, dLogits, correct]) b.free(t);
  return value;
}

/** Every param's gradient against the finite differences of its reference tensor. */
async function expectGradients(b: Backend, lm: DecoderLM, m: Model, fd: Map<string, Float64Array>, tol: number) {
  for (const p of lm.params()) {
    expect(p.grad, `${p.name} has a gradient`).not.toBeNull();
    const ours = (await b.read(p.grad!)) as Float32Array;
    let ref = fd.get(p.name)!;
    if (isConv1d(m, p.name)) ref = transpose(ref, ...(m.ref.get(p.name)!.shape as [number, number]));
    expectClose(ours, ref, tol, `grad ${p.name}`);
  }
}

const bytesOf = (lm: DecoderLM) => lm.params().reduce((n, p) => n + p.tensor.size * 4, 0);

/** Float32 gradients through two layers against float64 finite differences. */
const GRAD_TOL = 2e-5;

for (const [kind, make] of BACKENDS) {
  describe(`DecoderLM training every tensor, the head, a classifier (${kind})`, () => {
    let b: Backend;
    beforeAll(async () => {
      b = await make();
    });
    afterAll(() => b?.destroy());

    for (const name of [QWEN2, LLAMA, GPT2]) {
      it(`${name}: full gives every tensor the reference loss's gradient`, async () => {
        const m = model(name);
        const lm = new DecoderLM(b, m.config, m.weights, { plan: planOf('full', m.config.arch), seed: 0 });
        const names = lm.params().map((p) => p.name);
        expect([...names].sort()).toEqual([...m.weights.keys()].sort());
        expect(lm.memory().live.trainable).toBe(bytesOf(lm));
        const loss = await causalStep(b, lm);
        expect(Math.abs(loss - causalLoss64(m))).toBeLessThan(1e-5);
        await expectGradients(
          b,
          lm,
          m,
          cachedFd(`${name} causal`, m, names, () => causalLoss64(m)),
          GRAD_TOL,
        );
        const memory = lm.memory().live;
        expect(memory.gradients).toBe(bytesOf(lm));
        expect(memory.activations + memory.scratch).toBe(0);
        lm.dispose();
      });
    }

    it('head trains lm_head alone on an untied model: no other tensor trains or keeps activations', async () => {
      const m = model(QWEN2);
      const lm = new DecoderLM(b, m.config, m.weights, { plan: planOf('head', 'llama'), seed: 0 });
      expect(lm.params().map((p) => p.name)).toEqual(['lm_head.weight']);
      expect(lm.adaptedLayers()).toEqual([]);
      const logits = lm.forward({ ids: IDS, shape: [B, T], lengths: LENGTHS }, true);
      expect(lm.memory().live.activations).toBe(B * T * m.config.hidden * 4); // the final norm's output alone
      lm.backend.free(logits);
      lm.dispose();
      const again = new DecoderLM(b, m.config, m.weights, { plan: planOf('head', 'llama'), seed: 0 });
      await causalStep(b, again);
      const fd = cachedFd(`${QWEN2} causal head`, m, ['lm_head.weight'], () => causalLoss64(m));
      await expectGradients(b, again, m, fd, GRAD_TOL);
      expect(again.memory().live.gradients).toBe(m.config.vocabSize * m.config.hidden * 4);
      again.dispose();
    });

    it('head refuses a tied model, naming the embedding and the way out', () => {
      const m = model(LLAMA);
      expect(() => new DecoderLM(b, m.config, m.weights, { plan: planOf('head', 'llama'), seed: 0 })).toThrow(
        /method 'head' on a model with tied word embeddings would train the token embedding.*use method 'full'/,
      );
    });

    it('refuses an unknown method, a classifier without classes and dLogits of another size, naming each', () => {
      const m = model(GPT2);
      const make = (plan: DecoderPlan | null, task?: DecoderTask) =>
        new DecoderLM(b, m.config, m.weights, { plan, seed: 0, task });
      expect(() => make({ ...planOf('full', 'gpt2'), method: 'bogus' as DecoderPlan['method'] })).toThrow(
        /method "bogus" is not one of snell, klora, snella, lora, dense, full, head/,
      );
      expect(() => make(null, { kind: 'classify', classes: 0 })).toThrow(/a positive integer number of classes, got 0/);
      const lm = make(planOf('full', 'gpt2'), { kind: 'classify', classes: CLASSES });
      const logits = lm.forward({ ids: IDS, shape: [B, T], lengths: LENGTHS }, true);
      const wrong = b.zeros([B, T, CLASSES]);
      expect(() => lm.backward(wrong)).toThrow(/dLogits has shape \[2, 5, 3\]; the logits were \[2, 3\]/);
      b.free(wrong);
      lm.backend.free(logits);
      lm.dispose();
    });

    for (const name of [QWEN2, GPT2]) {
      it(`${name}: dense branches start at the base weight's gradient`, async () => {
        const m = model(name);
        const lm = new DecoderLM(b, m.config, m.weights, { plan: planOf('dense', m.config.arch), seed: 0 });
        const layerCount = m.config.layers * (m.config.arch === 'llama' ? 7 : 4);
        expect(lm.params()).toHaveLength(layerCount);
        await causalStep(b, lm);
        const weights = [...m.weights.keys()].filter((n) => /(proj|c_attn|c_fc)\.weight$/.test(n));
        const fd = cachedFd(`${name} causal`, m, [...m.weights.keys()], () => causalLoss64(m));
        for (const p of lm.params()) {
          const base = p.name.replace(/\.snell\.delta$/, '.weight');
          expect(weights).toContain(base);
          // Δ [in, out] adds x·Δ: its gradient is the [in, out] layout of the base weight's
          const [r, c] = m.ref.get(base)!.shape as [number, number];
          const ref = isConv1d(m, base) ? fd.get(base)! : transpose(fd.get(base)!, r, c);
          expectClose((await b.read(p.grad!)) as Float32Array, ref, GRAD_TOL, `grad ${p.name}`);
        }
        lm.dispose();
      });
    }

    it('classify: the reference logits at each last real token, padded, from the stored score', async () => {
      const m = model(QWEN2, CLASSES);
      const task: DecoderTask = { kind: 'classify', classes: CLASSES };
      const lm = new DecoderLM(b, m.config, m.weights, { plan: null, seed: 0, task });
      const memory = lm.memory().live;
      const ropeBytes = 2 * m.config.maxPositions * (m.config.headDim / 2) * 4;
      const frozenBytes = [...m.weights].reduce((n, [k, w]) => n + (k.startsWith('model.') ? w.data.length * 4 : 0), 0);
      expect(memory.frozen).toBe(frozenBytes + ropeBytes); // neither lm_head nor score among the frozen
      expect(memory.trainable).toBe(CLASSES * m.config.hidden * 4);
      expect(lm.params().map((p) => p.name)).toEqual(['score.weight']);
      const [Bp, Tp] = [3, 4];
      const ids = Int32Array.from({ length: Bp * Tp }, (_, i) => (i * 7 + 1) % m.config.vocabSize);
      for (const lengths of [undefined, [4, 2, 1]]) {
        const logits = lm.forward({ ids, shape: [Bp, Tp], lengths }, false);
        expect(logits.shape).toEqual([Bp, CLASSES]);
        const ref = classifyLogits64(m, { B: Bp, T: Tp, lengths }, ids, CLASSES);
        expectClose((await b.read(logits)) as Float32Array, ref, 2e-6, `classifier logits, lengths ${lengths ?? 'full'}`);
        lm.backend.free(logits);
      }
      expect(lm.memory().live.activations + lm.memory().live.scratch).toBe(0);
      lm.dispose();
    });

    it('classify: a fresh score is N(0, 0.02²) drawn from the seed', async () => {
      const m = model(GPT2);
      const task: DecoderTask = { kind: 'classify', classes: 40 };
      const scoreOf = async (seed: number) => {
        const lm = new DecoderLM(b, m.config, m.weights, { plan: null, seed, task });
        const score = lm.params().find((p) => p.name === 'score.weight')!;
        expect(score.tensor.shape).toEqual([40, m.config.hidden]);
        const data = (await b.read(score.tensor)) as Float32Array;
        lm.dispose();
        return data;
      };
      const [first, same, other] = [await scoreOf(5), await scoreOf(5), await scoreOf(6)];
      expect(same).toEqual(first);
      expect(other).not.toEqual(first);
      const std = Math.sqrt(first.reduce((a, v) => a + v * v, 0) / first.length);
      expect(std).toBeGreaterThan(0.017);
      expect(std).toBeLessThan(0.023);
    });

    for (const name of [QWEN2, GPT2]) {
      it(`${name}: classify with full gives every tensor and the score the pooled loss's gradient`, async () => {
        const m = model(name, CLASSES);
        const task: DecoderTask = { kind: 'classify', classes: CLASSES };
        const lm = new DecoderLM(b, m.config, m.weights, { plan: planOf('full', m.config.arch), seed: 0, task });
        const names = lm.params().map((p) => p.name);
        expect([...names].sort()).toEqual([...m.weights.keys()].filter((n) => n !== 'lm_head.weight').sort());
        const loss = await classifyStep(b, lm);
        expect(Math.abs(loss - classifyLoss64(m))).toBeLessThan(1e-5);
        await expectGradients(
          b,
          lm,
          m,
          cachedFd(`${name} classify`, m, names, () => classifyLoss64(m)),
          GRAD_TOL,
        );
        lm.dispose();
      });
    }

    it('classify with head trains the score alone, tied model included', async () => {
      const m = model(GPT2, CLASSES);
      const task: DecoderTask = { kind: 'classify', classes: CLASSES };
      const lm = new DecoderLM(b, m.config, m.weights, { plan: planOf('head', 'gpt2'), seed: 0, task });
      expect(lm.params().map((p) => p.name)).toEqual(['score.weight']);
      await classifyStep(b, lm);
      await expectGradients(
        b,
        lm,
        m,
        cachedFd(`${GPT2} classify score`, m, ['score.weight'], () => classifyLoss64(m)),
        GRAD_TOL,
      );
      expect(lm.memory().live.gradients).toBe(CLASSES * m.config.hidden * 4);
      lm.dispose();
    });
  });
}
