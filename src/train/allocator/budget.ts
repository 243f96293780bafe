// SNELLA's budget: how many update entries all adapted layers keep together, epoch by epoch.
//   b0 = Σ_l (1 - s_init)·N_l        bT = Σ_l (1 - s_target)·N_l        (float64, in layer order)
// For epoch t, with ti = initWarmup, tf = finalWarmup, T = totalSteps:
//   t ≤ ti:         b0, no re-mask;
//   t > T - tf:     bT, re-mask;
//   otherwise:      ⌊bT + (b0 - bT)·m³⌋ with m = 1 - (t - ti)/(T - tf - ti), re-mask when t % interval = 0.
// The cubic follows the authors' allocator (SNELLA, arXiv 2510.24037); the stored vectors pin its values.

export interface BudgetSchedule {
  /** The sparsity every layer starts from (the authors' init_thres). */
  initSparsity: number;
  /** The sparsity the whole model reaches at the end (target_ratio). */
  targetSparsity: number;
  /** Epochs at the start that keep the initial budget (init_warmup). */
  initWarmup: number;
  /** Epochs at the end at the target budget (final_warmup). */
  finalWarmup: number;
  /** Re-mask only in epochs t with t % interval = 0 (mask_interval). */
  interval: number;
  /** The schedule's length in epochs (total_step). */
  totalSteps: number;
}

export interface EpochBudget {
  /** Entries kept by all layers together (an integer inside the cubic, else b0 or bT as they are). */
  budget: number;
  /** Whether this epoch hands out new sparsities. */
  remask: boolean;
}

/** b0 and bT for layers of `volumes` entries each (N_l = in·out). */
export function budgetBounds(volumes: readonly number[], schedule: BudgetSchedule): { initial: number; target: number } {
  let initial = 0;
  let target = 0;
  for (const n of volumes) {
    initial += (1 - schedule.initSparsity) * n;
    target += (1 - schedule.targetSparsity) * n;
  }
  return { initial, target };
}

/** The budget and re-mask decision of epoch `t` (0-based). */
export function budgetAt(t: number, bounds: { initial: number; target: number }, schedule: BudgetSchedule): EpochBudget {
  const { initWarmup: ti, finalWarmup: tf, totalSteps: T } = schedule;
  if (t <= ti) return { budget: bounds.initial, remask: false };
  if (t > T - tf) return { budget: bounds.target, remask: true };
  const m = 1 - (t - ti) / (T - tf - ti);
  // biome-ignore lint/style/useExponentiationOperator: Math.pow is the C library's pow the reference's budgets come from
  const budget = Math.floor(bounds.target + (bounds.initial - bounds.target) * Math.pow(m, 3));
  return { budget, remask: t % schedule.interval === 0 };
}
