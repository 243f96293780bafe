// What an LM training run takes (LmFitOptions) and reports: per-step and per-epoch events and the
// run's checkpoints.

import type { MemoryReport } from '../model/memory.js';
import type { AdamW, AdamWSnapshot } from './adamw.js';
import type { AllocatorSnapshot } from './allocator/allocator.js';
import type { AllocatorOptions, LayerAllocation } from './allocation.js';
import type { LmRows } from './lm-examples.js';
import type { LmEvaluation } from './lm-passes.js';

export interface LmStepEvent {
  /** 0-based, counted over the whole run. */
  step: number;
  epoch: number;
  /** The batch's mean loss (over its counted tokens, or rows). */
  loss: number;
  /** Top-1 accuracy of the batch's counted tokens (next-token) or rows (class). */
  accuracy: number;
  lr: number;
  /** Real (unpadded) input tokens per second, since the previous reported step. */
  tokensPerSecond: number;
  /** The model's pools now and their peaks so far (MemoryReport.peakTotal: the largest total). */
  memory: MemoryReport;
}

export interface LmEpochEvent {
  epoch: number;
  /** Mean loss over the counted tokens (rows) of the reported steps. */
  loss: number;
  accuracy: number;
  /** Steps the epoch ran in this call (fewer than an epoch's when resumed midway or stopped). */
  steps: number;
  seconds: number;
  /** The held-out evaluation after a whole epoch (null without validation, or when stopped midway). */
  validation: LmEvaluation | null;
}

export interface LmCheckpoint {
  /** Steps completed: resume with { step, optimizer: await optimizer.snapshot() } and the same parameters. */
  step: number;
  epoch: number;
  optimizer: AdamW;
}

export interface LmFitOptions {
  epochs: number;
  batchSize: number;
  /** Peak learning rate (default AdamW's 1e-3). */
  lr?: number;
  /** The cosine's floor (default 0). */
  minLr?: number;
  /** Linear warmup length in steps (default 0). */
  warmupSteps?: number;
  /** Where warmup starts (default 0). */
  warmupLr?: number;
  weightDecay?: number;
  maxGradNorm?: number | null;
  /** Seed of the data order: epoch e visits the examples in shuffled(N, seed·1000003 + e). Default 0. */
  seed?: number;
  /** Read back and report every n-th step (default 1); a non-finite loss read back stops the run. */
  logEvery?: number;
  /** Held-out examples, evaluated after every whole epoch. */
  validation?: LmRows;
  /** Batch size of the evaluation (default batchSize). */
  evalBatchSize?: number;
  onStep?: (e: LmStepEvent) => void;
  /** Called after each epoch (and its validation); the next epoch waits for a returned promise. */
  onEpoch?: (e: LmEpochEvent) => void | Promise<void>;
  /** Stops after the current step; the parameters keep what was learned, `LmTrainer.steps` says how far it got. */
  signal?: AbortSignal;
  /**
   * Continue a run after `step` steps: the schedule, the data order and the position in it follow from
   * the step count, so with the model's parameters and the optimizer restored the run goes on exactly
   * as if it had never stopped.
   */
  resume?: { step: number; optimizer: AdamWSnapshot; allocator?: AllocatorSnapshot };
  /**
   * SNELLA's sparsity allocator (train/allocation.ts), as the ViT trainer runs it: the adapters (all
   * snella, from the plan's sparsity) get the schedule step before each epoch and the importance update
   * after each optimizer step. Not with maxGradNorm (the authors score the unclipped gradients).
   */
  allocator?: AllocatorOptions;
  /** Called after each epoch's allocator schedule step, before the epoch trains. */
  onAllocation?: (a: LayerAllocation) => void;
  /** Calls onCheckpoint after every n-th step (counting from the run's first step). */
  checkpointEvery?: number;
  onCheckpoint?: (c: LmCheckpoint) => Promise<void>;
}
