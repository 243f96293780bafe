// Learning-rate schedules.
// Per step (the default): linear warmup from `warmupFrom` to `lr` over `warmup` steps, then cosine
// decay to `minLr` at step `total`.
// Per epoch (the reference's train.py: timm 0.5.4's CosineLRScheduler, stepped after each epoch, with
// warmup_prefix off): lr(t) = warmupFrom + t·(lr − warmupFrom)/warmup for t < warmup, else
// minLr + ½(lr − minLr)(1 + cos(π·t/epochs)) on the absolute epoch t; epoch e trains at
// lr(max(0, e − 1)), since the scheduler's first step comes after epoch 0, which runs at warmupFrom.

export interface Schedule {
  lr: number;
  minLr: number;
  /** Warmup length: steps, or epochs with `perEpoch`. */
  warmup: number;
  /** Where warmup starts (0: the first step is already at lr/warmup). */
  warmupFrom: number;
  /** Steps (or, with `perEpoch`, epochs) in the run. */
  total: number;
  perEpoch: boolean;
}

/** The learning rate of step `step` in epoch `epoch` (both 0-based). */
export function learningRate(s: Schedule, step: number, epoch: number): number {
  if (s.perEpoch) return epochRate(s, Math.max(0, epoch - 1));
  if (step < s.warmup) return s.warmupFrom + ((s.lr - s.warmupFrom) * (step + 1)) / s.warmup;
  const span = Math.max(1, s.total - s.warmup);
  const progress = Math.min(1, (step - s.warmup) / span);
  return s.minLr + 0.5 * (s.lr - s.minLr) * (1 + Math.cos(Math.PI * progress));
}

function epochRate(s: Schedule, t: number): number {
  if (t < s.warmup) return s.warmupFrom + (t * (s.lr - s.warmupFrom)) / s.warmup;
  return s.minLr + 0.5 * (s.lr - s.minLr) * (1 + Math.cos((Math.PI * Math.min(t, s.total)) / s.total));
}
