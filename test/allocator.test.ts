// SNELLA's budget schedule and split against the authors' allocator (alloc_* vectors): the scores come
// from the float64 importance reference fed the vectors' parameters and gradients, so what is checked
// here is the schedule, the float32 split and the sparsities, to the README's criteria.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SafetensorsFile } from '../src/io/safetensors.js';
import { importance64, meanScore64, updateImportance64, type Importance64 } from '../src/reference/importance64.js';
import { budgetAt, budgetBounds, type BudgetSchedule } from '../src/train/allocator/budget.js';
import { f32sum } from '../src/train/allocator/f32sum.js';
import { splitBudget } from '../src/train/allocator/split.js';
import { relL2 } from '../src/conformance/compare.js';

const CASES = ['alloc_warmup_t0.5', 'alloc_vtab_t0.8'];

interface Layer {
  name: string;
  in: number;
  out: number;
  N: number;
}

function load(name: string) {
  const st = SafetensorsFile.parse(readFileSync(`test/vectors/${name}.safetensors`), name);
  const meta = (k: string) => JSON.parse(st.metadata[k]!);
  const schedule: BudgetSchedule = {
    initSparsity: meta('init_thres'),
    targetSparsity: meta('target_ratio'),
    initWarmup: meta('init_warmup'),
    finalWarmup: meta('final_warmup'),
    interval: meta('mask_interval'),
    totalSteps: meta('total_step'),
  };
  return { st, meta, schedule, layers: meta('layers') as Layer[] };
}

describe.each(CASES)('SNELLA allocator, %s', (name) => {
  const { st, meta, schedule, layers } = load(name);
  const volumes = layers.map((l) => l.N);
  const bounds = budgetBounds(volumes, schedule);
  const epochs: number = meta('epochs');

  it('has the budgets and re-mask epochs of the reference', () => {
    expect(Math.abs(bounds.initial - meta('init_budget'))).toBeLessThanOrEqual(1e-12 * meta('init_budget'));
    expect(Math.abs(bounds.target - meta('target_budget'))).toBeLessThanOrEqual(1e-12 * meta('target_budget'));
    const got = Array.from({ length: epochs }, (_, t) => budgetAt(t, bounds, schedule));
    const budgets: number[] = meta('budget');
    // 1e-12 relative: the integer budgets (below 2^30) are then equal exactly
    got.forEach((g, t) => expect(Math.abs(g.budget - budgets[t]!)).toBeLessThanOrEqual(1e-12 * budgets[t]!));
    expect(got.map((g) => g.remask)).toEqual(meta('remask'));
  });

  it('hands out the reference sparsities from scores tracked every iteration', () => {
    const iters: number = meta('iters_per_epoch');
    const state = new Map<string, Importance64>();
    const tensor = (k: string) => st.tensor(k).data;
    const stored = { sparsity: tensor('sparsity'), share: tensor('p'), kept: tensor('alloc') };
    const L = layers.length;
    let sparsity = layers.map(() => schedule.initSparsity);
    for (let e = 0; e < epochs; e++) {
      const { budget, remask } = budgetAt(e, bounds, schedule);
      if (remask) {
        const scores = layers.map(
          (l) => meanScore64(state.get(`${l.name}.In_Qs`)!) + meanScore64(state.get(`${l.name}.Out_Qs`)!),
        );
        const split = splitBudget(scores, volumes, budget);
        if (!split.ok) throw new Error(split.reason);
        expect(relL2(split.share, stored.share.subarray(e * L, (e + 1) * L))).toBeLessThanOrEqual(1e-4);
        expect(split.kept).toEqual(Array.from(stored.kept.subarray(e * L, (e + 1) * L)));
        sparsity = split.sparsity;
      }
      expect(sparsity.map(Math.fround)).toEqual(Array.from(stored.sparsity.subarray(e * L, (e + 1) * L)));
      for (let i = 0; i < iters; i++) {
        const it = e * iters + i;
        for (const l of layers) {
          for (const p of ['In_Qs', 'Out_Qs']) {
            const key = `${l.name}.${p}`;
            const theta = tensor(`iter${it}.${key}`);
            if (!state.has(key)) state.set(key, importance64(theta.length));
            updateImportance64(state.get(key)!, theta, tensor(`iter${it}.${key}.grad`), meta('beta1'), meta('beta2'));
          }
        }
      }
    }
    for (const [key, m] of state) {
      const ipt = tensor(`final.ipt.${key}`);
      const unc = tensor(`final.unc.${key}`);
      if (ipt.every((v) => v === 0)) expect(m.ipt.every((v) => v === 0)).toBe(true);
      else expect(relL2(Float32Array.from(m.ipt), ipt)).toBeLessThanOrEqual(1e-4);
      if (unc.every((v) => v === 0)) expect(m.unc.every((v) => v === 0)).toBe(true);
      else expect(relL2(Float32Array.from(m.unc), unc)).toBeLessThanOrEqual(1e-4);
    }
  });
});

describe('SNELLA split', () => {
  it('refuses a split when every score is zero, where the reference divides by zero', () => {
    const split = splitBudget([0, 0, 0], [10, 20, 30], 30);
    expect(split).toEqual({ ok: false, reason: 'every layer score is zero (no adapter has moved yet)' });
  });
  it('refuses a non-finite score', () => {
    expect(splitBudget([1, Infinity], [10, 10], 10).ok).toBe(false);
    expect(splitBudget([1, NaN], [10, 10], 10).ok).toBe(false);
  });
  it('saturates a layer and hands its excess to the others', () => {
    const split = splitBudget([9, 1], [4, 100], 20);
    if (!split.ok) throw new Error(split.reason);
    expect(split.kept[0]).toBe(4);
    expect(split.kept[0]! + split.kept[1]!).toBeLessThanOrEqual(20);
    expect(split.kept[0]! + split.kept[1]!).toBeGreaterThanOrEqual(19);
    expect(split.sparsity[0]).toBe(0);
  });
  it('adds in the reference order', () => {
    const x = [1e8, 1, -1e8, 1, 3, 5, 7, 11, 13];
    // n = 9: acc = 0 + x8, then + x0 … x7
    let acc = Math.fround(13);
    for (const v of x.slice(0, 8)) acc = Math.fround(acc + v);
    expect(f32sum(x)).toBe(acc);
    expect(f32sum([1e8, 1, -1e8, 1])).toBe(Math.fround(Math.fround(Math.fround(1e8 + 1) - 1e8) + 1));
  });
});
