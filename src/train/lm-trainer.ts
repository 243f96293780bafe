// The training loop of the decoder language models: seeded shuffling of the examples (causal-LM
// windows or classification rows, train/lm-examples.ts), batches, forward, loss and backward
// (train/lm-passes.ts), AdamW over whatever the model's params() holds, a cosine schedule with linear
// warmup stepped every step (train/schedule.ts), held-out evaluation after every whole epoch, and
// events a CLI or a page can show. With SNELLA's allocator, its schedule step runs before each epoch and
// its importance update after each optimizer step, as in the ViT trainer. Same seed and backend give the same losses; a run stopped by its
// signal and resumed from its step count and optimizer snapshot continues exactly.
//
// Steps: an epoch has ⌈N/batchSize⌉ steps (the last batch shorter); step s of the run is step
// s mod that of epoch ⌊s / that⌋ and trains at learningRate(schedule, s) with total = epochs · steps.

import { DeviceLostError } from '../backend.js';
import { shuffled } from '../core/dataset.js';
import { AdamW, ADAMW_DEFAULTS, type AdamWConfig, type AdamWSnapshot } from './adamw.js';
import { TrainingAllocation } from './allocation.js';
import { NonFiniteLossError } from './fit-options.js';
import { LmExamples, type LmRows } from './lm-examples.js';
import type { LmEpochEvent, LmFitOptions } from './lm-options.js';
import { type LmEvaluation, lmEvaluate, lmForwardBackward, type LmModel, outputClasses } from './lm-passes.js';
import { learningRate, type Schedule } from './schedule.js';

export class LmTrainer {
  private optimizer: AdamW | null = null;
  private allocation: TrainingAllocation | null = null;
  /** Steps completed so far in the current (or last) run. */
  private done = 0;

  constructor(readonly model: LmModel) {}

  /** Steps completed: after a stopped run, resume with { step: steps, optimizer: await optimizerSnapshot() }. */
  get steps(): number {
    return this.done;
  }

  /** Trains on `data` (causalLmWindows or classificationBatch output); a lost device throws DeviceLostError with its step. */
  async fit(data: LmRows, o: LmFitOptions): Promise<LmEpochEvent[]> {
    try {
      return await this.run(new LmExamples(data), o);
    } catch (e) {
      if (e instanceof DeviceLostError && e.step === null) throw new DeviceLostError(e.message, this.done);
      throw e;
    }
  }

  private async run(examples: LmExamples, o: LmFitOptions): Promise<LmEpochEvent[]> {
    const { model } = this;
    const b = model.backend;
    if (examples.size === 0)
      throw new Error('no training example has a label to learn: give fit windows of at least 2 tokens, or labelled rows');
    for (const [name, value] of [
      ['epochs', o.epochs],
      ['batchSize', o.batchSize],
    ] as const)
      if (!(Number.isInteger(value) && value >= 1)) throw new TypeError(`${name} must be an integer ≥ 1, got ${value}`);
    const classes = outputClasses(model, examples.task);
    const validation = o.validation ? new LmExamples(o.validation) : null;
    if (validation && validation.task !== examples.task)
      throw new Error(
        `the validation data are ${validation.task} examples, the training data ${examples.task}: give both of one kind`,
      );
    const seed = o.seed ?? 0;
    const stepsPerEpoch = Math.ceil(examples.size / o.batchSize);
    const total = o.epochs * stepsPerEpoch;
    const config: AdamWConfig = {
      ...ADAMW_DEFAULTS,
      lr: o.lr ?? ADAMW_DEFAULTS.lr,
      weightDecay: o.weightDecay ?? ADAMW_DEFAULTS.weightDecay,
      maxGradNorm: o.maxGradNorm ?? null,
    };
    this.optimizer ??= new AdamW(b, model.ledger, model.params(), config);
    if (o.allocator && config.maxGradNorm !== null)
      throw new Error(
        "SNELLA's allocator scores the gradients each step used, and clipping rescales them after the backward pass: drop maxGradNorm or the allocator",
      );
    if (o.allocator) this.allocation ??= new TrainingAllocation(model, o.allocator, o.epochs);
    const start = o.resume?.step ?? 0;
    if (o.resume) this.optimizer.restore(o.resume.optimizer);
    if (o.resume?.allocator) {
      if (!this.allocation)
        throw new Error('the resumed state holds allocator state but this run has no allocator: resume with the same options');
      this.allocation.restore(o.resume.allocator);
    }
    const track = this.allocation ? () => this.allocation!.track() : undefined;
    const schedule: Schedule = {
      lr: config.lr,
      minLr: o.minLr ?? 0,
      warmupFrom: o.warmupLr ?? 0,
      warmup: o.warmupSteps ?? 0,
      total,
      perEpoch: false,
    };
    const logEvery = o.logEvery ?? 1;
    const epochs: LmEpochEvent[] = [];
    let step = start;
    this.done = start;
    let mark = { time: performance.now(), tokens: 0 };
    for (let epoch = Math.floor(start / stepsPerEpoch); epoch < o.epochs && !o.signal?.aborted; epoch++) {
      const order = shuffled(examples.size, seed * 1000003 + epoch);
      const started = performance.now();
      let [lossSum, correctSum, counted, steps] = [0, 0, 0, 0];
      // an epoch resumed midway had its schedule step before it stopped (its sparsities came back with it)
      if (this.allocation && step === epoch * stepsPerEpoch) o.onAllocation?.(await this.allocation.startEpoch(epoch));
      for (let s = step - epoch * stepsPerEpoch; s < stepsPerEpoch && !o.signal?.aborted; s++, step++) {
        const batch = examples.batch(order.slice(s * o.batchSize, (s + 1) * o.batchSize), classes);
        const lr = learningRate(schedule, step, epoch);
        const { loss, correct } = lmForwardBackward(model, batch, examples.task);
        this.optimizer.step(lr, track);
        this.done = step + 1;
        steps++;
        mark.tokens += batch.realTokens;
        if (step % logEvery === 0 || s === stepsPerEpoch - 1) {
          const l = ((await b.read(loss)) as Float32Array)[0]!;
          const c = (await b.read(correct))[0]!;
          if (!Number.isFinite(l)) {
            b.free(loss);
            b.free(correct);
            throw new NonFiniteLossError(step, l);
          }
          lossSum += l * batch.counted;
          correctSum += c;
          counted += batch.counted;
          const now = performance.now();
          const tokensPerSecond = mark.tokens / Math.max(1e-9, (now - mark.time) / 1000);
          mark = { time: now, tokens: 0 };
          o.onStep?.({ step, epoch, loss: l, accuracy: c / batch.counted, lr, tokensPerSecond, memory: model.memory() });
        }
        b.free(loss);
        b.free(correct);
        if (o.onCheckpoint && o.checkpointEvery && (step + 1) % o.checkpointEvery === 0)
          await o.onCheckpoint({ step: step + 1, epoch, optimizer: this.optimizer });
        // Wasm steps never leave the microtask queue; a turn of the event loop lets an abort handler run.
        if (o.signal) await nextTurn();
      }
      await b.flush();
      const whole = step === (epoch + 1) * stepsPerEpoch;
      const held = validation && whole ? await lmEvaluate(model, validation, o.evalBatchSize ?? o.batchSize) : null;
      const e: LmEpochEvent = {
        epoch,
        loss: lossSum / Math.max(1, counted),
        accuracy: correctSum / Math.max(1, counted),
        steps,
        seconds: (performance.now() - started) / 1000,
        validation: held,
      };
      epochs.push(e);
      await o.onEpoch?.(e);
    }
    return epochs;
  }

  /** Held-out mean loss, perplexity (causal LM) and accuracy, in the examples' order. */
  evaluate(data: LmRows, batchSize: number): Promise<LmEvaluation> {
    return lmEvaluate(this.model, new LmExamples(data), batchSize);
  }

  /** SNELLA's allocator of this run (its sparsities and state for a checkpoint); null without one. */
  get allocator(): TrainingAllocation | null {
    return this.allocation;
  }

  /** The optimizer's state (moments and step count), for a checkpoint; null before the first fit. */
  optimizerSnapshot(): Promise<AdamWSnapshot> | null {
    return this.optimizer?.snapshot() ?? null;
  }
}

/** Resolves on a later turn of the host's event loop (a macrotask, not a microtask). */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
