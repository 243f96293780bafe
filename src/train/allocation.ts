// SNELLA's allocator inside the training loop, as the authors' train_alloc.py drives it:
//   before epoch t trains:      the schedule step of t; a re-mask hands each adapter its new s_l;
//   after every optimizer step: Ī, Ū of each adapter factor from θ (already updated) and the
//                               gradient that step used (its clipped value, were clipping allowed).
// The layers are the model's SNELLA branches in the model's order (block by block: q, k, v, proj,
// fc1, fc2), which is the order of every per-layer list in the events.

import type { Backend } from '../backend.js';
import type { AdaptedLayer } from '../model/linear.js';
import type { MemoryLedger } from '../model/memory.js';
import { type AllocatorSnapshot, type EpochAllocation, SparsityAllocator } from './allocator/allocator.js';

/** The allocator's settings in a fit (FitOptions.allocator); the initial sparsity is the plan's. */
export interface AllocatorOptions {
  /** The sparsity the whole model reaches (the authors' target_ratio). */
  targetSparsity: number;
  /** Epochs at the start that keep the initial budget (init_warmup). */
  initWarmup: number;
  /** Epochs at the end at the target budget (final_warmup). */
  finalWarmup: number;
  /** Re-mask in epochs t with t % interval = 0 (mask_interval). */
  interval: number;
  beta1: number;
  beta2: number;
  /** The schedule's length in epochs (total_step); default: the run's epochs. */
  totalSteps?: number;
}

/** The authors' SNELLA scripts' values (scripts/vtab/snella32, scripts/fgvc/snella32). */
export const ALLOCATOR_DEFAULTS: Readonly<Required<Omit<AllocatorOptions, 'totalSteps'>>> = {
  targetSparsity: 0.8,
  initWarmup: 0,
  finalWarmup: 0,
  interval: 1,
  beta1: 0.85,
  beta2: 0.85,
};

/** One epoch's allocation with the layers' names, for progress events. */
export interface LayerAllocation extends EpochAllocation {
  layers: string[];
}

interface AllocatedModel {
  readonly backend: Backend;
  readonly options: { readonly plan: { readonly sparsity: number } | null };
  readonly ledger: MemoryLedger;
  adaptedLayers(): AdaptedLayer[];
}

export class TrainingAllocation {
  private readonly allocator: SparsityAllocator;
  private readonly layers: AdaptedLayer[];

  constructor(model: AllocatedModel, options: AllocatorOptions, epochs: number) {
    const layers = model.adaptedLayers();
    if (layers.length === 0 || layers.some((l) => l.kind !== 'snella')) {
      const kinds = [...new Set(layers.map((l) => l.kind))].join(', ') || 'none';
      throw new Error(
        `SNELLA's allocator moves sparsity between snella adapters; this model's adapters are ${kinds}: train with the snella method or without the allocator`,
      );
    }
    // the plan's sparsity, not the layers' own: a resumed run's adapters carry the allocator's last split
    const initial = model.options.plan?.sparsity ?? 0;
    const totalSteps = options.totalSteps ?? epochs;
    checkOptions(options, totalSteps);
    this.layers = layers;
    this.allocator = model.ledger.within(
      'allocator',
      () =>
        new SparsityAllocator(
          model.backend,
          layers.map((l) => ({ name: l.name, dIn: l.dIn, dOut: l.dOut, A: l.A.tensor, B: l.B.tensor })),
          { ...options, initSparsity: initial, totalSteps },
        ),
    );
  }

  /** The schedule step of epoch t, its sparsities applied to the adapters. */
  async startEpoch(t: number): Promise<LayerAllocation> {
    const a = await this.allocator.startEpoch(t);
    this.apply(a.sparsity);
    return { ...a, layers: this.layers.map((l) => l.name) };
  }

  /** The importance update; call after the optimizer's update, while the step's gradients are held. */
  track(): void {
    this.allocator.track(
      this.layers.map((l) => {
        if (!l.A.grad || !l.B.grad)
          throw new Error(`${l.name} has no gradient: track after a backward pass, before the gradients are freed`);
        return { dA: l.A.grad, dB: l.B.grad };
      }),
    );
  }

  snapshot(): Promise<AllocatorSnapshot> {
    return this.allocator.snapshot();
  }

  /** Continues from a snapshot: the averages, and the sparsities in force when it was taken. */
  restore(snapshot: AllocatorSnapshot): void {
    this.allocator.restore(snapshot);
    this.apply(snapshot.sparsity);
  }

  get layerNames(): string[] {
    return this.layers.map((l) => l.name);
  }

  get sparsity(): readonly number[] {
    return this.allocator.sparsity;
  }

  free(): void {
    this.allocator.free();
  }

  /** Sets every adapter's sparsity (a selected model's, when the run ends on it), in layer order. */
  apply(sparsity: readonly number[]): void {
    this.layers.forEach((l, i) => l.setSparsity(sparsity[i]!));
  }
}

function checkOptions(o: AllocatorOptions, totalSteps: number): void {
  const fail = (m: string) => {
    throw new Error(`allocator: ${m}`);
  };
  if (!(o.targetSparsity >= 0 && o.targetSparsity <= 1)) fail(`the target sparsity must be in [0, 1], got ${o.targetSparsity}`);
  for (const [name, v] of [
    ['the initial warmup', o.initWarmup],
    ['the final warmup', o.finalWarmup],
  ] as const) {
    if (!Number.isInteger(v) || v < 0) fail(`${name} must be a whole number of epochs ≥ 0, got ${v}`);
  }
  if (!Number.isInteger(o.interval) || o.interval < 1) fail(`the re-mask interval must be a whole number ≥ 1, got ${o.interval}`);
  if (!Number.isInteger(totalSteps) || totalSteps < 1)
    fail(`the schedule length must be a whole number of epochs ≥ 1, got ${totalSteps}`);
  for (const [name, v] of [
    ['beta1', o.beta1],
    ['beta2', o.beta2],
  ] as const) {
    if (!(v >= 0 && v < 1)) fail(`${name} must be in [0, 1), got ${v}`);
  }
}
