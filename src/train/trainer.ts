// The training loop: seeded shuffling and batching, one submission per step (forward, loss, backward,
// AdamW), a cosine schedule with warmup, and events a CLI or a web page can show. Same seed and
// backend give the same losses.

import { DeviceLostError, type Tensor } from '../backend.js';
import { type Dataset, shuffled } from '../core/dataset.js';
import type { MemoryReport } from '../model/memory.js';
import type { ViT } from '../model/vit.js';
import { AdamW, ADAMW_DEFAULTS, type AdamWConfig, type AdamWSnapshot } from './adamw.js';
import { learningRate, type Schedule } from './schedule.js';

export interface StepEvent {
  step: number;
  epoch: number;
  loss: number;
  /** Top-1 accuracy on this batch. */
  accuracy: number;
  lr: number;
  imagesPerSecond: number;
  memory: MemoryReport;
}

export interface EpochEvent {
  epoch: number;
  loss: number;
  accuracy: number;
  seconds: number;
  validation: Evaluation | null;
  /** Steps skipped for a non-finite loss (onNonFinite: 'skip'). */
  skipped: number;
}

export interface Evaluation {
  loss: number;
  accuracy: number;
  samples: number;
}

/** The parameters of the epoch with the best validation accuracy so far, by name, with that evaluation. */
export interface BestModel {
  epoch: number;
  /** Steps completed when it was evaluated. */
  step: number;
  validation: Evaluation;
  params: Map<string, Float32Array>;
}

export interface FitOptions {
  epochs: number;
  batchSize: number;
  lr?: number;
  /** The cosine's floor. */
  minLr?: number;
  weightDecay?: number;
  /** 'step' (default): the rate changes every step; 'epoch': once per epoch, as the reference trains (schedule.ts). */
  schedule?: 'step' | 'epoch';
  /** Warmup length, in steps under the 'step' schedule. */
  warmupSteps?: number;
  /** Warmup length, in epochs under the 'epoch' schedule. */
  warmupEpochs?: number;
  /** Where warmup starts (default 0). */
  warmupLr?: number;
  maxGradNorm?: number | null;
  seed?: number;
  /** Read back and report every n-th step (each report waits for the device); a non-finite loss read back stops the run. */
  logEvery?: number;
  validation?: Dataset;
  /**
   * Model selection on the validation set: keep a copy of the parameters whenever an epoch's validation
   * accuracy beats every earlier one, and end the run with the best (needs `validation`). The test set
   * plays no part. Off: the run ends with its last parameters.
   */
  keepBest?: boolean;
  onStep?: (e: StepEvent) => void;
  /** Called after each epoch (and its validation); the next epoch waits for a returned promise. */
  onEpoch?: (e: EpochEvent) => void | Promise<void>;
  /** Stops after the current step; what was learned is kept. */
  signal?: AbortSignal;
  /**
   * Continue a run from a checkpoint taken after `step` steps: the schedule, the data order and position
   * and the noise seeds all follow from the step count, so with the parameters and optimizer restored
   * the run goes on exactly as if it had never stopped.
   */
  resume?: { step: number; optimizer: AdamWSnapshot; best?: BestModel | null };
  /**
   * A step whose loss is NaN or infinite: 'stop' (default) throws NonFiniteLossError at the first one
   * read back; 'skip' reads every step's loss before the update (one more wait for the device per step)
   * and drops such steps' gradients, counting them in EpochEvent.skipped.
   */
  onNonFinite?: 'stop' | 'skip';
  onSkip?: (e: { step: number; loss: number }) => void;
  /** Calls onCheckpoint after every n-th step (counting from the run's first step). */
  checkpointEvery?: number;
  onCheckpoint?: (c: { step: number; epoch: number; optimizer: AdamW }) => Promise<void>;
}

/** A step whose loss is NaN or infinite: training stops there, since every later step would build on it. */
export class NonFiniteLossError extends Error {
  override name = 'NonFiniteLossError';
  constructor(readonly step: number, readonly loss: number) {
    super(`the loss at step ${step + 1} is ${loss}: training diverged; try a lower learning rate (--lr), ` +
      'gradient clipping (--max-grad-norm 1) or a longer warmup (--warmup)');
  }
}

export class Trainer {
  private optimizer: AdamW | null = null;
  /** The step being run (or next to run). */
  private step = 0;
  private bestModel: BestModel | null = null;

  constructor(readonly model: ViT) {}

  /** Trains; a lost device throws DeviceLostError with the step it interrupted. */
  async fit(data: Dataset, o: FitOptions): Promise<EpochEvent[]> {
    try {
      return await this.run(data, o);
    } catch (e) {
      if (e instanceof DeviceLostError && e.step === null) throw new DeviceLostError(e.message, this.step);
      throw e;
    }
  }

  private async run(data: Dataset, o: FitOptions): Promise<EpochEvent[]> {
    const { model } = this;
    const b = model.backend;
    if (data.size === 0) throw new Error('the training set is empty: give fit a dataset with at least one sample');
    const seed = o.seed ?? 0;
    const stepsPerEpoch = Math.ceil(data.size / o.batchSize);
    const total = o.epochs * stepsPerEpoch;
    const config: AdamWConfig = {
      ...ADAMW_DEFAULTS, lr: o.lr ?? ADAMW_DEFAULTS.lr, weightDecay: o.weightDecay ?? ADAMW_DEFAULTS.weightDecay,
      maxGradNorm: o.maxGradNorm ?? null,
    };
    this.optimizer ??= new AdamW(b, model.ledger, model.params(), config);
    const start = o.resume?.step ?? 0;
    if (o.resume) this.optimizer.restore(o.resume.optimizer);
    if (o.resume?.best !== undefined) this.bestModel = o.resume.best;
    const startEpoch = Math.floor(start / stepsPerEpoch);
    const perEpoch = o.schedule === 'epoch';
    const schedule: Schedule = {
      lr: config.lr, minLr: o.minLr ?? 0, warmupFrom: o.warmupLr ?? 0, perEpoch,
      warmup: (perEpoch ? o.warmupEpochs : o.warmupSteps) ?? 0, total: perEpoch ? o.epochs : total,
    };
    const logEvery = o.logEvery ?? 1;
    const epochs: EpochEvent[] = [];
    let step = start;
    for (let epoch = startEpoch; epoch < o.epochs && !o.signal?.aborted; epoch++) {
      const order = shuffled(data.size, seed * 1000003 + epoch);
      const started = performance.now();
      let [lossSum, correctSum, logged, skipped] = [0, 0, 0, 0];
      const first = epoch === startEpoch ? (start % stepsPerEpoch) * o.batchSize : 0;
      for (let i = first; i < data.size && !o.signal?.aborted; i += o.batchSize, step++) {
        this.step = step;
        const t0 = performance.now();
        const batch = checkedLabels(data.get(order.slice(i, i + o.batchSize)), model.config.classes);
        const n = batch.labels.length;
        const lr = learningRate(schedule, step, epoch);
        const { loss, correct } = this.forwardBackward(batch, n, data.sampleShape, seed * 7919 + step);
        const readLoss = async () => ((await b.read(loss)) as Float32Array)[0];
        const early = o.onNonFinite === 'skip' ? await readLoss() : null;
        const skip = early !== null && !Number.isFinite(early);
        if (skip) {
          this.optimizer.discardGradients();
          skipped++;
          o.onSkip?.({ step, loss: early });
        } else {
          this.optimizer.step(lr);
        }
        if (!skip && (step % logEvery === 0 || i + o.batchSize >= data.size)) {
          // in skip mode the loss was read before the update already
          const [l, c] = [early ?? (await readLoss()), (await b.read(correct))[0]];
          if (!Number.isFinite(l)) {
            b.free(loss);
            b.free(correct);
            throw new NonFiniteLossError(step, l);
          }
          lossSum += l * n;
          correctSum += c;
          logged += n;
          o.onStep?.({
            step, epoch, loss: l, accuracy: c / n, lr, memory: model.memory(),
            imagesPerSecond: n / ((performance.now() - t0) / 1000),
          });
        }
        b.free(loss);
        b.free(correct);
        // a checkpoint at the epoch's last step waits for the epoch's validation, so it holds the best model
        if (o.onCheckpoint && o.checkpointEvery && (step + 1) % o.checkpointEvery === 0 && i + o.batchSize < data.size) {
          await o.onCheckpoint({ step: step + 1, epoch, optimizer: this.optimizer });
        }
        // Wasm steps finish without ever leaving the microtask queue; a turn of the event loop lets a
        // signal handler (Ctrl-C, a page's Stop button) run and abort before the next step.
        if (o.signal) await nextTurn();
      }
      await b.flush();
      // a whole epoch is validated even when a stop came during its last step: a run resumed after it starts the next epoch
      const whole = step === (epoch + 1) * stepsPerEpoch;
      const validation = o.validation && whole ? await this.evaluate(o.validation, o.batchSize) : null;
      if (o.keepBest && validation && validation.accuracy > (this.bestModel?.validation.accuracy ?? -Infinity)) {
        this.bestModel = { epoch, step, validation, params: await this.readParams() };
      }
      if (whole && o.onCheckpoint && o.checkpointEvery && step % o.checkpointEvery === 0) {
        await o.onCheckpoint({ step, epoch, optimizer: this.optimizer });
      }
      const e = { epoch, loss: lossSum / Math.max(1, logged), accuracy: correctSum / Math.max(1, logged), seconds: (performance.now() - started) / 1000, validation, skipped };
      epochs.push(e);
      await o.onEpoch?.(e);
    }
    if (o.keepBest && this.bestModel && !o.signal?.aborted) this.writeParams(this.bestModel.params);
    return epochs;
  }

  /** The best model so far under `keepBest` (null before its first validation, or without keepBest). */
  get best(): BestModel | null {
    return this.bestModel;
  }

  /** Every trainable tensor's current values, by name. */
  private async readParams(): Promise<Map<string, Float32Array>> {
    const values = new Map<string, Float32Array>();
    for (const p of this.model.params()) values.set(p.name, (await this.model.backend.read(p.tensor)) as Float32Array);
    return values;
  }

  private writeParams(values: Map<string, Float32Array>): void {
    for (const p of this.model.params()) {
      const data = values.get(p.name);
      if (!data || data.length !== p.tensor.size) throw new Error(`the kept best model has ${data ? `${data.length} values` : 'no entry'} for ${p.name}, the model ${p.tensor.size}`);
      this.model.backend.write(p.tensor, data);
    }
  }

  /** The optimizer's state (moments and step count), for a checkpoint; null before the first fit. */
  optimizerSnapshot(): Promise<AdamWSnapshot> | null {
    return this.optimizer?.snapshot() ?? null;
  }

  /** A step's forward and backward passes, queued; returns the loss and correct count tensors (caller frees). */
  private forwardBackward(batch: { inputs: Float32Array; labels: Uint32Array }, n: number, sampleShape: readonly number[], noiseSeed: number): { loss: Tensor; correct: Tensor } {
    const { model } = this;
    const b = model.backend;
    const x = model.ledger.within('activations', () => b.upload(batch.inputs, [n, ...sampleShape]));
    const labels = model.ledger.within('scratch', () => b.upload(batch.labels, [n], 'u32'));
    const logits = model.forward(x, true, noiseSeed >>> 0);
    const [loss, dLogits, correct] = model.ledger.within('scratch', () => [b.zeros([1]), b.zeros(logits.shape), b.zeros([1], 'u32')]);
    b.softmaxCrossEntropy(logits, labels, loss, dLogits, correct);
    model.backward(dLogits);
    for (const t of [x, labels, logits, dLogits]) b.free(t);
    return { loss, correct };
  }

  /** Mean loss and top-1 accuracy over a dataset, without dropout or kept activations. */
  async evaluate(data: Dataset, batchSize: number): Promise<Evaluation> {
    const { model } = this;
    const b = model.backend;
    let [lossSum, correct] = [0, 0];
    for (let i = 0; i < data.size; i += batchSize) {
      const idx = Array.from({ length: Math.min(batchSize, data.size - i) }, (_, k) => i + k);
      const batch = checkedLabels(data.get(idx), model.config.classes);
      const n = idx.length;
      const tensors = model.ledger.within('scratch', () => {
        const x = b.upload(batch.inputs, [n, ...data.sampleShape]);
        const labels = b.upload(batch.labels, [n], 'u32');
        const logits = model.forward(x, false);
        const [loss, dLogits, ok] = [b.zeros([1]), b.zeros(logits.shape), b.zeros([1], 'u32')];
        b.softmaxCrossEntropy(logits, labels, loss, dLogits, ok);
        return { x, labels, logits, loss, dLogits, ok };
      });
      lossSum += ((await b.read(tensors.loss)) as Float32Array)[0] * n;
      correct += (await b.read(tensors.ok))[0];
      for (const t of Object.values(tensors)) b.free(t);
    }
    return { loss: lossSum / data.size, accuracy: correct / data.size, samples: data.size };
  }
}

/**
 * The batch, once every label is checked against the head's class count: on the host, before upload, so
 * every backend refuses the same labels (a GPU kernel cannot throw; it would give NaN).
 */
function checkedLabels<T extends { labels: Uint32Array }>(batch: T, classes: number): T {
  const bad = batch.labels.findIndex((label) => label >= classes);
  if (bad >= 0) {
    throw new Error(`label ${batch.labels[bad]} (sample ${bad} of the batch) is out of range for the model's ${classes}-class head: ` +
      `labels must be in [0, ${classes}); replace the head for this data's class count (replaceHead) or fix the labels`);
  }
  return batch;
}

/** Resolves on a later turn of the host's event loop (a macrotask, not a microtask). */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
