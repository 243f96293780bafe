// The training loop: seeded shuffling and batching, one submission per step (forward, loss, backward,
// AdamW), a cosine schedule with warmup, SNELLA's allocator when asked (its schedule step before each
// epoch, its importance update after each optimizer step), and events a CLI or a web page can show.
// Same seed and backend give the same losses.

import { DeviceLostError } from '../backend.js';
import { type Dataset, shuffled } from '../core/dataset.js';
import type { ViT } from '../model/vit.js';
import { AdamW, ADAMW_DEFAULTS, type AdamWConfig, type AdamWSnapshot } from './adamw.js';
import { type LayerAllocation, TrainingAllocation } from './allocation.js';
import { type BestModel, type EpochEvent, type Evaluation, type FitOptions, NonFiniteLossError } from './fit-options.js';
import { readParams, writeParams } from './kept-params.js';
import { checkedLabels, evaluate, forwardBackward } from './passes.js';
import { learningRate, type Schedule } from './schedule.js';

export class Trainer {
  private optimizer: AdamW | null = null;
  /** The step being run (or next to run). */
  private step = 0;
  private bestModel: BestModel | null = null;
  private allocation: TrainingAllocation | null = null;

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
      ...ADAMW_DEFAULTS,
      lr: o.lr ?? ADAMW_DEFAULTS.lr,
      weightDecay: o.weightDecay ?? ADAMW_DEFAULTS.weightDecay,
      maxGradNorm: o.maxGradNorm ?? null,
    };
    this.optimizer ??= new AdamW(b, model.ledger, model.params(), config);
    if (o.allocator && config.maxGradNorm !== null) {
      throw new Error(
        "SNELLA's allocator scores the gradients each step used, and clipping rescales them after the backward pass: drop maxGradNorm (--max-grad-norm) or the allocator",
      );
    }
    if (o.allocator) this.allocation ??= new TrainingAllocation(model, o.allocator, o.epochs);
    const start = o.resume?.step ?? 0;
    if (o.resume) this.optimizer.restore(o.resume.optimizer);
    if (o.resume?.allocator) {
      if (!this.allocation)
        throw new Error('the checkpoint holds allocator state but this run has no allocator: resume with the same flags');
      this.allocation.restore(o.resume.allocator);
    }
    if (o.resume?.best !== undefined) this.bestModel = o.resume.best;
    const startEpoch = Math.floor(start / stepsPerEpoch);
    const perEpoch = o.schedule === 'epoch';
    const schedule: Schedule = {
      lr: config.lr,
      minLr: o.minLr ?? 0,
      warmupFrom: o.warmupLr ?? 0,
      perEpoch,
      warmup: (perEpoch ? o.warmupEpochs : o.warmupSteps) ?? 0,
      total: perEpoch ? o.epochs : total,
    };
    const logEvery = o.logEvery ?? 1;
    const epochs: EpochEvent[] = [];
    let step = start;
    for (let epoch = startEpoch; epoch < o.epochs && !o.signal?.aborted; epoch++) {
      const order = shuffled(data.size, seed * 1000003 + epoch);
      const started = performance.now();
      let [lossSum, correctSum, logged, skipped] = [0, 0, 0, 0];
      const first = epoch === startEpoch ? (start % stepsPerEpoch) * o.batchSize : 0;
      // an epoch resumed midway had its schedule step before the checkpoint (its sparsities came back with it)
      const allocation: LayerAllocation | null = this.allocation && first === 0 ? await this.allocation.startEpoch(epoch) : null;
      if (allocation) o.onAllocation?.(allocation);
      const track = this.allocation ? () => this.allocation!.track() : undefined;
      for (let i = first; i < data.size && !o.signal?.aborted; i += o.batchSize, step++) {
        this.step = step;
        const t0 = performance.now();
        const batch = checkedLabels(data.get(order.slice(i, i + o.batchSize)), model.config.classes);
        const n = batch.labels.length;
        const lr = learningRate(schedule, step, epoch);
        const { loss, correct } = forwardBackward(model, batch, data.sampleShape, seed * 7919 + step);
        const readLoss = async () => ((await b.read(loss)) as Float32Array)[0];
        const early = o.onNonFinite === 'skip' ? await readLoss() : null;
        const skip = early !== null && !Number.isFinite(early);
        if (skip) {
          this.optimizer.discardGradients();
          skipped++;
          o.onSkip?.({ step, loss: early });
        } else {
          this.optimizer.step(lr, track);
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
            step,
            epoch,
            loss: l,
            accuracy: c / n,
            lr,
            memory: model.memory(),
            imagesPerSecond: n / ((performance.now() - t0) / 1000),
          });
        }
        b.free(loss);
        b.free(correct);
        // a checkpoint at the epoch's last step waits for the epoch's validation, so it holds the best model
        if (o.onCheckpoint && o.checkpointEvery && (step + 1) % o.checkpointEvery === 0 && i + o.batchSize < data.size) {
          await o.onCheckpoint({ step: step + 1, epoch, optimizer: this.optimizer, allocation: this.allocation });
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
        const sparsity = this.allocation ? [...this.allocation.sparsity] : undefined;
        this.bestModel = { epoch, step, validation, params: await readParams(model), sparsity };
      }
      if (whole && o.onCheckpoint && o.checkpointEvery && step % o.checkpointEvery === 0) {
        await o.onCheckpoint({ step, epoch, optimizer: this.optimizer, allocation: this.allocation });
      }
      const e = {
        epoch,
        loss: lossSum / Math.max(1, logged),
        accuracy: correctSum / Math.max(1, logged),
        seconds: (performance.now() - started) / 1000,
        validation,
        skipped,
        allocation,
      };
      epochs.push(e);
      await o.onEpoch?.(e);
    }
    if (o.keepBest && this.bestModel && !o.signal?.aborted) {
      writeParams(model, this.bestModel.params);
      if (this.bestModel.sparsity) this.allocation?.apply(this.bestModel.sparsity);
    }
    return epochs;
  }

  /** The best model so far under `keepBest` (null before its first validation, or without keepBest). */
  get best(): BestModel | null {
    return this.bestModel;
  }

  /** SNELLA's allocator of the run (FitOptions.allocator), or null. */
  get allocator(): TrainingAllocation | null {
    return this.allocation;
  }

  /** The optimizer's state (moments and step count), for a checkpoint; null before the first fit. */
  optimizerSnapshot(): Promise<AdamWSnapshot> | null {
    return this.optimizer?.snapshot() ?? null;
  }

  /** Mean loss and top-1 accuracy over a dataset, without dropout or kept activations. */
  evaluate(data: Dataset, batchSize: number): Promise<Evaluation> {
    return evaluate(this.model, data, batchSize);
  }
}

/** Resolves on a later turn of the host's event loop (a macrotask, not a microtask). */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
