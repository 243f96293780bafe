// SNELLA's sparsity allocator as test/vectors/README.md ("SNELLA sparsity allocator") describes it,
// written from that text alone (no engine code) so that generated alloc_* vectors are a second,
// independent implementation. Layers l = 0..L-1 with N_l = in_l·out_l entries each.
//   budgets (float64):  b0 = Σ_l (1 − init_thres)·N_l,  bT = Σ_l (1 − target_ratio)·N_l
//   schedule at epoch t: t ≤ ti → b0, no re-mask;  t > T − tf → bT, re-mask;
//                        else floor(bT + (b0 − bT)·m³), m = 1 − (t − ti)/(T − tf − ti), re-mask iff t % interval = 0
//   split (float32, f() after every operation): p_l = S_l/Σ S, a_l = min(N_l, trunc(b·p_l)), then
//   redistribute δ = b − Σ a over the unsaturated layers in proportion to p until δ ≤ 0;
//   k_l = trunc(a_l), s_l = clamp(1 − k_l/N_l, 0, 1) in float64.

const f = Math.fround;

export interface AllocSchedule {
  initThres: number;
  targetRatio: number;
  initWarmup: number;
  finalWarmup: number;
  maskInterval: number;
  totalStep: number;
}

export function budgets64(N: readonly number[], s: AllocSchedule): { b0: number; bT: number } {
  let b0 = 0;
  let bT = 0;
  for (const n of N) {
    b0 += (1 - s.initThres) * n;
    bT += (1 - s.targetRatio) * n;
  }
  return { b0, bT };
}

export function scheduleAt(t: number, b0: number, bT: number, s: AllocSchedule): { budget: number; remask: boolean } {
  const { initWarmup: ti, finalWarmup: tf, totalStep: T } = s;
  if (t <= ti) return { budget: b0, remask: false };
  if (t > T - tf) return { budget: bT, remask: true };
  const m = 1 - (t - ti) / (T - tf - ti);
  return { budget: Math.floor(bT + (b0 - bT) * m ** 3), remask: t % s.maskInterval === 0 };
}

/** Float32 sum in PyTorch's AVX2 order (README "Float32 sums"); defined up to 23 terms. */
export function fsum(x: readonly number[]): number {
  const n = x.length;
  const run = (acc: number, from: number, to: number) => {
    for (let i = from; i < to; i++) acc = f(acc + x[i]!);
    return acc;
  };
  if (n === 0) return 0;
  if (n <= 4) return run(x[0]!, 1, n);
  if (n <= 7) return run(run(x[0]!, 4, n), 1, 4);
  if (n <= 15) return run(run(0, 8, n), 0, 8);
  if (n <= 23) {
    let acc = run(0, 16, n);
    for (let j = 0; j < 8; j++) acc = f(acc + f(x[j]! + x[8 + j]!));
    return acc;
  }
  throw new Error(`fsum: the reference order is written out for at most 23 terms, got ${n}`);
}

export interface Split {
  /** float32 p_l */
  p: number[];
  /** integer k_l */
  kept: number[];
  /** float64 s_l */
  sparsity: number[];
  passes: number;
}

/** The re-mask split of budget b by float64 scores S (README steps 2–6). */
export function split32(S64: readonly number[], N: readonly number[], b: number): Split {
  const S = S64.map(f);
  const total = fsum(S);
  if (!(total > 0)) throw new Error('split32: every score is zero (the reference crashes; no vector may have that)');
  const p = S.map((v) => f(v / total));
  const Nf = N.map(f);
  const bf = f(b);
  const a = p.map((pl, l) => Math.min(Nf[l]!, Math.trunc(f(bf * pl))));
  let delta = f(bf - fsum(a));
  let passes = 0;
  while (delta > 0) {
    if (++passes > 100) throw new Error('split32: redistribution does not converge');
    const U = a.map((_, l) => l).filter((l) => f(Nf[l]! - a[l]!) !== 0);
    const pU = fsum(U.map((l) => p[l]!));
    for (const l of U) {
      const share = f(f(delta * p[l]!) / pU);
      a[l] = f(a[l]! + Math.min(share, f(Nf[l]! - a[l]!)));
    }
    delta = f(bf - fsum(a));
  }
  const kept = a.map(Math.trunc);
  const sparsity = kept.map((k, l) => Math.min(Math.max(1 - k / N[l]!, 0), 1));
  return { p, kept, sparsity, passes };
}
