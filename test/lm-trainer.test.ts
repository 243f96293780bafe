// LmTrainer on a tiny LLaMA with SNELL branches, on both backends: its first step's loss is the float64
// reference's causal-LM loss of the first shuffled batch (src/reference/decoder64.ts), the held-out
// evaluation is the reference's mean over every counted token, the loss falls on a repeated text, equal
// seeds give equal losses, and a run stopped by its signal and resumed from its step count and
// optimizer snapshot goes on with exactly the losses of the run that never stopped. A sequence
// classifier (DecoderOptions.task) and full fine-tuning are checked the same way.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../src/backend.js';
import { shuffled } from '../src/core/dataset.js';
import type { NamedArray } from '../src/core/weights.js';
import { parseLmConfig } from '../src/io/lm-config.js';
import { lmWeightShapes } from '../src/io/lm-naming.js';
import { targetNames } from '../src/model/decoder/config.js';
import { DecoderLM } from '../src/model/decoder/lm.js';
import { causalLmLoss64, decoderLogits64 } from '../src/reference/decoder64.js';
import { uniform } from '../src/reference/random.js';
import { causalLmWindows } from '../src/text/lm-data.js';
import type { LmStepEvent } from '../src/train/lm-options.js';
import { ALLOCATOR_DEFAULTS, type LayerAllocation } from '../src/train/allocation.js';
import { LmTrainer } from '../src/train/lm-trainer.js';
import { BACKENDS } from './support/backends.js';

const CONFIG = parseLmConfig({
  model_type: 'llama',
  vocab_size: 29,
  hidden_size: 16,
  intermediate_size: 32,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  num_key_value_heads: 1,
  rms_norm_eps: 1e-5,
  rope_theta: 10000.0,
  max_position_embeddings: 16,
  tie_word_embeddings: true,
});
const PLAN = { method: 'snell' as const, rank: 4, kernelHeads: 2, sparsity: 0.5, targets: targetNames('llama') };

function weights(): Map<string, NamedArray> {
  const w = new Map<string, NamedArray>();
  [...lmWeightShapes(CONFIG)].forEach(([name, shape], i) => {
    const norm = /norm/.test(name);
    const size = shape.reduce((a, d) => a * d, 1);
    w.set(name, { shape, data: uniform(size, 40 + i, norm ? 0.9 : -0.3, norm ? 1.1 : 0.3) });
  });
  return w;
}

/** Letters a–z as ids 0–25, '.' 26, ' ' 27; id 28 ends a document. */
const charTokenizer = {
  eosId: 28,
  padId: 28,
  encode: (text: string) => Array.from(text, (ch) => (ch === '.' ? 26 : ch === ' ' ? 27 : ch.charCodeAt(0) - 97)),
  encodeBatch: () => {
    throw new Error('not used');
  },
};
const TEXT = 'the cat sat on the mat. the dog sat on the log.';
const train = causalLmWindows(charTokenizer, [TEXT, TEXT, TEXT], { seqLen: 12 });
const held = causalLmWindows(charTokenizer, ['the cat sat on the log. the dog sat on the mat.'], { seqLen: 12 });

const OPTIONS = { epochs: 4, batchSize: 4, lr: 0.3, warmupSteps: 2, weightDecay: 0, seed: 5 };

async function lossesOf(b: Backend, options: Parameters<LmTrainer['fit']>[1] = OPTIONS): Promise<number[]> {
  const model = new DecoderLM(b, CONFIG, weights(), { plan: PLAN, seed: 1 });
  const losses: number[] = [];
  await new LmTrainer(model).fit(train, { ...options, onStep: (e) => losses.push(e.loss) });
  model.dispose();
  return losses;
}

for (const [kind, make] of BACKENDS) {
  describe(`LmTrainer (${kind})`, () => {
    let b: Backend;
    beforeAll(async () => {
      b = await make();
    });
    afterAll(() => b?.destroy());

    it("step 0's loss is the reference's on the first shuffled batch; held-out loss is the mean over every counted token", async () => {
      const w = weights();
      const model = new DecoderLM(b, CONFIG, w, { plan: PLAN, seed: 1 });
      const withBranches = new Map(w);
      for (const p of model.params())
        withBranches.set(p.name, { shape: [...p.tensor.shape], data: (await b.read(p.tensor)) as Float32Array });
      const T = train.shape[1];
      const first = shuffled(train.shape[0], OPTIONS.seed * 1000003).slice(0, OPTIONS.batchSize);
      const ids = first.flatMap((n) => [...train.inputIds.subarray(n * T, (n + 1) * T)]);
      const labels = first.flatMap((n) => [...train.labels.subarray(n * T, (n + 1) * T)]);
      const lengths = first.map((n) => train.lengths[n]!);
      const B = first.length;
      const logits = decoderLogits64(withBranches, CONFIG, ids, { B, T, lengths }, { sparsity: PLAN.sparsity });
      const expected = causalLmLoss64(logits, labels, B * T, CONFIG.vocabSize);

      const trainer = new LmTrainer(model);
      const steps: LmStepEvent[] = [];
      await trainer.fit(train, { ...OPTIONS, epochs: 1, onStep: (e) => steps.push(e) });
      expect(steps[0]!.loss).toBeCloseTo(expected, 5);
      expect(steps[0]!.step).toBe(0);
      expect(steps[0]!.lr).toBeCloseTo(OPTIONS.lr / 2, 12);
      expect(steps[0]!.memory.peakTotal).toBeGreaterThan(steps[0]!.memory.live.frozen);

      const trained = new Map(w);
      for (const p of model.params())
        trained.set(p.name, { shape: [...p.tensor.shape], data: (await b.read(p.tensor)) as Float32Array });
      const [N, Th] = held.shape;
      const heldLogits = decoderLogits64(
        trained,
        CONFIG,
        held.inputIds,
        { B: N, T: Th, lengths: [...held.lengths] },
        {
          sparsity: PLAN.sparsity,
        },
      );
      const heldLoss = causalLmLoss64(heldLogits, held.labels, N * Th, CONFIG.vocabSize);
      // batches of 3 over 4 windows, the last one short: each batch weighs by its counted tokens
      const evaluation = await trainer.evaluate(held, 3);
      expect(evaluation.loss).toBeCloseTo(heldLoss, 5);
      expect(evaluation.perplexity).toBeCloseTo(Math.exp(heldLoss), 4);
      expect(evaluation.count).toBe(held.labels.filter((l) => l !== -100).length);
      model.dispose();
    });

    it('the loss falls on a repeated text, and equal seeds give equal losses', async () => {
      const a = await lossesOf(b);
      const again = await lossesOf(b);
      expect(again).toEqual(a);
      const per = Math.ceil(train.shape[0] / OPTIONS.batchSize);
      expect(a).toHaveLength(OPTIONS.epochs * per);
      const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
      // ln 29 ≈ 3.37 at the start; the last epoch is well below the first
      expect(mean(a.slice(-per))).toBeLessThan(mean(a.slice(0, per)) - 0.5);
      const otherOrder = await lossesOf(b, { ...OPTIONS, seed: 6 });
      expect(otherOrder).not.toEqual(a);
    });

    it('a run stopped by its signal and resumed from its snapshot continues with the uninterrupted losses', async () => {
      const whole = await lossesOf(b);
      const stopAt = 5;
      const model = new DecoderLM(b, CONFIG, weights(), { plan: PLAN, seed: 1 });
      const first = new LmTrainer(model);
      const stop = new AbortController();
      const before: number[] = [];
      const epochs = await first.fit(train, {
        ...OPTIONS,
        signal: stop.signal,
        validation: held,
        onStep: (e) => {
          before.push(e.loss);
          if (e.step === stopAt - 1) stop.abort();
        },
      });
      expect(first.steps).toBe(stopAt);
      expect(before).toEqual(whole.slice(0, stopAt));
      // 12 windows in batches of 4: the first epoch's 3 steps ended whole and were validated; the second stopped after 2
      expect(epochs.map((e) => [e.steps, e.validation === null])).toEqual([
        [3, false],
        [2, true],
      ]);
      const snapshot = await first.optimizerSnapshot()!;
      const after: number[] = [];
      await new LmTrainer(model).fit(train, {
        ...OPTIONS,
        resume: { step: first.steps, optimizer: snapshot },
        onStep: (e) => after.push(e.loss),
      });
      expect(after).toEqual(whole.slice(stopAt));
      model.dispose();
    });

    it("classify: step 0's loss and the held-out loss and accuracy are the reference's at the last real tokens", async () => {
      const classes = 3;
      const w = weights();
      const lm = new DecoderLM(b, CONFIG, w, { plan: PLAN, seed: 1, task: { kind: 'classify', classes } });
      const reference = async () => {
        // the classifier is the reference model with score as an untied head, read at each last real token
        const m = new Map(w);
        for (const p of lm.params())
          m.set(p.name, { shape: [...p.tensor.shape], data: (await b.read(p.tensor)) as Float32Array });
        m.set('lm_head.weight', m.get('score.weight')!);
        return m;
      };
      const shape = { ...CONFIG, vocabSize: classes, tieWordEmbeddings: false };
      const [N, T] = train.shape;
      const labels = Uint32Array.from({ length: N }, (_, n) => n % classes);
      const rows = { ids: train.inputIds, lengths: train.lengths, labels, shape: train.shape };
      /** Mean cross-entropy and accuracy of the reference classifier over rows `picks`. */
      const loss64 = (m: Map<string, NamedArray>, picks: readonly number[]) => {
        const ids = picks.flatMap((n) => [...train.inputIds.subarray(n * T, (n + 1) * T)]);
        const lengths = picks.map((n) => train.lengths[n]!);
        const all = decoderLogits64(m, shape, ids, { B: picks.length, T, lengths }, { sparsity: PLAN.sparsity });
        const last = picks.map((_, i) => all.subarray((i * T + lengths[i]! - 1) * classes, (i * T + lengths[i]!) * classes));
        const flat = Float64Array.from(last.flatMap((row) => [...row]));
        const right = last.filter((row, i) => row.indexOf(Math.max(...row)) === labels[picks[i]!]).length;
        return {
          loss: causalLmLoss64(flat, [...picks.map((n) => labels[n]!)], picks.length, classes),
          accuracy: right / picks.length,
        };
      };
      const first = shuffled(N, OPTIONS.seed * 1000003).slice(0, OPTIONS.batchSize);
      const expected = loss64(await reference(), first).loss;

      const trainer = new LmTrainer(lm);
      const steps: LmStepEvent[] = [];
      await trainer.fit(rows, { ...OPTIONS, epochs: 1, onStep: (e) => steps.push(e) });
      expect(steps[0]!.loss).toBeCloseTo(expected, 5);
      const held = loss64(
        await reference(),
        Array.from({ length: N }, (_, n) => n),
      );
      // batches of 5 over 12 rows: each weighs by its rows
      const evaluation = await trainer.evaluate(rows, 5);
      expect(evaluation.loss).toBeCloseTo(held.loss, 5);
      expect(evaluation.accuracy).toBe(held.accuracy);
      expect([evaluation.count, evaluation.perplexity]).toEqual([N, null]);
      await expect(trainer.fit(train, OPTIONS)).rejects.toThrow(/the model is a classifier, the data are causal-LM windows/);
      lm.dispose();
    });

    it("full fine-tuning: every tensor trains, step 0's loss is the frozen model's reference loss, and it falls", async () => {
      const w = weights();
      const full = { method: 'full' as const, rank: 0, kernelHeads: 0, sparsity: 0, targets: [] };
      const model = new DecoderLM(b, CONFIG, w, { plan: full, seed: 1 });
      expect(
        model
          .params()
          .map((p) => p.name)
          .sort(),
      ).toEqual([...w.keys()].sort());
      const T = train.shape[1];
      const first = shuffled(train.shape[0], OPTIONS.seed * 1000003).slice(0, OPTIONS.batchSize);
      const ids = first.flatMap((n) => [...train.inputIds.subarray(n * T, (n + 1) * T)]);
      const labels = first.flatMap((n) => [...train.labels.subarray(n * T, (n + 1) * T)]);
      const lengths = first.map((n) => train.lengths[n]!);
      const expected = causalLmLoss64(
        decoderLogits64(w, CONFIG, ids, { B: first.length, T, lengths }),
        labels,
        first.length * T,
        CONFIG.vocabSize,
      );
      const losses: number[] = [];
      await new LmTrainer(model).fit(train, { ...OPTIONS, lr: 1e-2, onStep: (e) => losses.push(e.loss) });
      expect(losses[0]).toBeCloseTo(expected, 5);
      const per = Math.ceil(train.shape[0] / OPTIONS.batchSize);
      const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
      expect(mean(losses.slice(-per))).toBeLessThan(mean(losses.slice(0, per)) - 0.5);
      model.dispose();
    });

    it("SNELLA's allocator re-masks an LM's branches each epoch within the shrinking budget, as the ViT trainer runs it", async () => {
      const plan = { ...PLAN, method: 'snella' as const, sparsity: 0.01 };
      const model = new DecoderLM(b, CONFIG, weights(), { plan, seed: 1 });
      const allocations: LayerAllocation[] = [];
      const trainer = new LmTrainer(model);
      await trainer.fit(train, {
        ...OPTIONS,
        allocator: { ...ALLOCATOR_DEFAULTS, targetSparsity: 0.6 },
        onAllocation: (a) => allocations.push(a),
      });
      const layers = model.adaptedLayers();
      const volumes = layers.map((l) => l.dIn * l.dOut);
      const total = volumes.reduce((a, n) => a + n, 0);
      expect(allocations.map((a) => a.epoch)).toEqual([0, 1, 2, 3]);
      expect(allocations.map((a) => a.remask)).toEqual([false, true, true, true]);
      expect(allocations[0]!.layers).toEqual(layers.map((l) => l.name));
      // b_t = b_T + (b_0 − b_T)·(1 − t/T)³ with b_0 = 0.99·N and b_T = 0.4·N (allocator README)
      expect(allocations[3]!.budget).toBe(Math.floor(0.4 * total + 0.59 * total * (1 - 3 / 4) ** 3));
      for (const a of allocations.slice(1)) {
        const kept = a.kept!;
        expect(kept.reduce((x, y) => x + y, 0)).toBeLessThanOrEqual(a.budget);
        a.sparsity.forEach((s, l) => expect(s).toBe(Math.min(Math.max(1 - kept[l]! / volumes[l]!, 0), 1)));
      }
      // the branches train at the last allocation's sparsities, which differ across layers
      expect(layers.map((l) => l.sparsity)).toEqual(allocations[3]!.sparsity);
      expect(new Set(allocations[3]!.sparsity).size).toBeGreaterThan(1);
      expect(trainer.allocator).not.toBeNull();
      model.dispose();
    });

    it('refuses the allocator with gradient clipping or with branches that are not snella', async () => {
      const snella = new DecoderLM(b, CONFIG, weights(), { plan: { ...PLAN, method: 'snella' as const }, seed: 1 });
      await expect(
        new LmTrainer(snella).fit(train, { ...OPTIONS, maxGradNorm: 1, allocator: ALLOCATOR_DEFAULTS }),
      ).rejects.toThrow(/drop maxGradNorm or the allocator/);
      snella.dispose();
      const snell = new DecoderLM(b, CONFIG, weights(), { plan: PLAN, seed: 1 });
      await expect(new LmTrainer(snell).fit(train, { ...OPTIONS, allocator: ALLOCATOR_DEFAULTS })).rejects.toThrow(
        /train with the snella method/,
      );
      snell.dispose();
    });

    it('refuses classification rows for a model without a classification head', async () => {
      const model = new DecoderLM(b, CONFIG, weights(), { plan: PLAN, seed: 1 });
      const classify = {
        ids: train.inputIds,
        lengths: train.lengths,
        labels: new Uint32Array(train.shape[0]),
        shape: train.shape,
      };
      await expect(new LmTrainer(model).fit(classify, OPTIONS)).rejects.toThrow(/has no classification head/);
      model.dispose();
    });
  });
}
