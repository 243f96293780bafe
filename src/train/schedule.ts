// Learning-rate schedule: linear warmup to `lr` over `warmup` steps, then cosine decay to `minLr`
// at step `total` (timm's CosineLRScheduler with per-step updates).

export interface Schedule {
  lr: number;
  minLr: number;
  warmup: number;
  total: number;
}

/** The learning rate of step `step` (0-based). */
export function learningRate(s: Schedule, step: number): number {
  if (step < s.warmup) return (s.lr * (step + 1)) / s.warmup;
  const span = Math.max(1, s.total - s.warmup);
  const progress = Math.min(1, (step - s.warmup) / span);
  return s.minLr + 0.5 * (s.lr - s.minLr) * (1 + Math.cos(Math.PI * progress));
}
