// What a training run takes (FitOptions) and reports (per-step and per-epoch events, evaluations,
// the model kept by selection), and the error a diverged run stops with.

import type { Dataset } from '../core/dataset.js';
import type { MemoryReport } from '../model/memory.js';
import type { AdamW, AdamWSnapshot } from './adamw.js';
import type { AllocatorSnapshot } from './allocator/allocator.js';
import type { AllocatorOptions, LayerAllocation, TrainingAllocation } from './allocation.js';

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
  /** SNELLA's schedule step for this epoch (null without the allocator, or for an epoch resumed midway). */
  allocation: LayerAllocation | null;
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
  /** The adapters' sparsities in force in that epoch (with SNELLA's allocator). */
  sparsity?: number[];
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
  resume?: { step: number; optimizer: AdamWSnapshot; best?: BestModel | null; allocator?: AllocatorSnapshot };
  /**
   * SNELLA's sparsity allocator (train/allocation.ts): the adapters (all snella, starting from the plan's sparsity)
   * compete for a budget that shrinks each epoch. Not with maxGradNorm (the scores would see the
   * unclipped gradients the authors' code never scores).
   */
  allocator?: AllocatorOptions;
  /** Called after each epoch's allocator schedule step, before the epoch trains. */
  onAllocation?: (a: LayerAllocation) => void;
  /**
   * A step whose loss is NaN or infinite: 'stop' (default) throws NonFiniteLossError at the first one
   * read back; 'skip' reads every step's loss before the update (one more wait for the device per step)
   * and drops such steps' gradients, counting them in EpochEvent.skipped.
   */
  onNonFinite?: 'stop' | 'skip';
  onSkip?: (e: { step: number; loss: number }) => void;
  /** Calls onCheckpoint after every n-th step (counting from the run's first step). */
  checkpointEvery?: number;
  onCheckpoint?: (c: { step: number; epoch: number; optimizer: AdamW; allocation: TrainingAllocation | null }) => Promise<void>;
}

/** A step whose loss is NaN or infinite: training stops there, since every later step would build on it. */
export class NonFiniteLossError extends Error {
  override name = 'NonFiniteLossError';
  constructor(
    readonly step: number,
    readonly loss: number,
  ) {
    super(
      `the loss at step ${step + 1} is ${loss}: training diverged; try a lower learning rate (--lr), ` +
        'gradient clipping (--max-grad-norm 1) or a longer warmup (--warmup)',
    );
  }
}
