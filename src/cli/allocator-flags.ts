// The flags of SNELLA's sparsity allocator (`snell train --method snella`), with the defaults of the
// authors' SNELLA scripts (scripts/vtab/snella32/*.sh, scripts/fgvc/snella32/*.sh: init_thres 0.01,
// target_ratio 0.8, init_warmup 0, final_warmup 0, mask_interval 1, beta1 = beta2 = 0.85, and the
// schedule as long as the run, total_step = epochs). Their train_alloc.py's own argparse defaults
// (target 0.9, warmups 10 and 400, interval 20) are not what any of their scripts runs.

import { ALLOCATOR_DEFAULTS, type AllocatorOptions } from '../train/allocation.js';
import type { Flag, Flags } from './args.js';

/** The initial sparsity of --method snella when --sparsity is not given (the scripts' init_thres). */
export const SNELLA_INITIAL_SPARSITY = 0.01;

export const ALLOCATOR_FLAGS: Record<string, Flag> = {
  'target-sparsity': {
    type: 'number',
    help: 'snella: the sparsity all adapted layers reach together at the end (target_ratio)',
    default: ALLOCATOR_DEFAULTS.targetSparsity,
    range: { min: 0, max: 1 },
  },
  'init-warmup': {
    type: 'number',
    help: 'snella: epochs at the start that keep the initial budget (init_warmup)',
    default: ALLOCATOR_DEFAULTS.initWarmup,
    range: { min: 0, integer: true },
  },
  'final-warmup': {
    type: 'number',
    help: 'snella: epochs at the end at the target budget (final_warmup)',
    default: ALLOCATOR_DEFAULTS.finalWarmup,
    range: { min: 0, integer: true },
  },
  'mask-interval': {
    type: 'number',
    help: 'snella: re-mask in epochs t with t % N = 0 (mask_interval)',
    default: ALLOCATOR_DEFAULTS.interval,
    range: { min: 1, integer: true },
  },
  'alloc-beta1': {
    type: 'number',
    help: 'snella: decay of the importance average (beta1)',
    default: ALLOCATOR_DEFAULTS.beta1,
    range: { min: 0, max: 1, openMax: true },
  },
  'alloc-beta2': {
    type: 'number',
    help: 'snella: decay of the uncertainty average (beta2)',
    default: ALLOCATOR_DEFAULTS.beta2,
    range: { min: 0, max: 1, openMax: true },
  },
  'alloc-epochs': {
    type: 'number',
    help: "snella: the budget schedule's length in epochs (total_step; default: --epochs)",
    range: { min: 1, integer: true },
  },
};

/** The allocator's settings for --method snella, else undefined. */
export function allocatorFromFlags(flags: Flags): AllocatorOptions | undefined {
  if (flags.method !== 'snella') return undefined;
  return {
    targetSparsity: flags['target-sparsity'] as number,
    initWarmup: flags['init-warmup'] as number,
    finalWarmup: flags['final-warmup'] as number,
    interval: flags['mask-interval'] as number,
    beta1: flags['alloc-beta1'] as number,
    beta2: flags['alloc-beta2'] as number,
    totalSteps: (flags['alloc-epochs'] as number | undefined) ?? (flags.epochs as number),
  };
}
