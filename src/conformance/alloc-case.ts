// The `alloc_*` golden vectors (test/vectors/README.md, "SNELLA sparsity allocator"): the allocator
// alone on synthetic layers. Every iteration's parameters and gradients go to the device and through
// the importance update; each epoch's schedule step is compared with the stored budget, re-mask flag,
// kept counts and sparsities; the final averages with the stored ones.

import type { Backend, Tensor } from '../backend.js';
import { type AllocatorSettings, type EpochAllocation, SparsityAllocator } from '../train/allocator/allocator.js';
import { relL2, TOLERANCE } from './compare.js';
import type { CaseOutcome } from './model-cases.js';
import { vectorReader } from './vector-reader.js';

export interface VectorLayer {
  name: string;
  in: number;
  out: number;
  N: number;
}

/** What a vector stores of each epoch's schedule step. */
export interface StoredSchedule {
  budgets: number[];
  remasks: boolean[];
  /** [epochs, L], float32. */
  sparsity: Float32Array;
}

/**
 * Compares one epoch's schedule step with the stored one (README: budgets exactly or to 1e-12, the
 * sparsity exactly or, where a split moved, within one unit 1/N_l); returns how many layers moved.
 */
export function checkEpoch(
  epoch: EpochAllocation,
  stored: StoredSchedule,
  layers: readonly VectorLayer[],
  out: CaseOutcome,
): number {
  const e = epoch.epoch;
  const L = layers.length;
  const budget = stored.budgets[e]!;
  if (!(Math.abs(epoch.budget - budget) <= 1e-12 * budget))
    out.problems.push(`epoch ${e}: budget ${epoch.budget}, expected ${budget}`);
  if (epoch.remask !== stored.remasks[e]) out.problems.push(`epoch ${e}: re-mask ${epoch.remask}, expected ${!epoch.remask}`);
  if (epoch.unsplit) out.problems.push(`epoch ${e}: ${epoch.unsplit}`);
  let moved = 0;
  epoch.sparsity.forEach((s, l) => {
    const want = stored.sparsity[e * L + l]!;
    if (Math.fround(s) === want) return;
    moved++;
    if (!(Math.abs(Math.fround(s) - want) <= 1 / layers[l]!.N))
      out.problems.push(`epoch ${e} ${layers[l]!.name}: sparsity ${s}, expected ${want}`);
  });
  return moved;
}

/** The allocator's settings as a vector's metadata gives them. */
export function storedSettings(num: (key: string) => number): AllocatorSettings {
  return {
    initSparsity: num('init_thres'),
    targetSparsity: num('target_ratio'),
    initWarmup: num('init_warmup'),
    finalWarmup: num('final_warmup'),
    interval: num('mask_interval'),
    totalSteps: num('total_step'),
    beta1: num('beta1'),
    beta2: num('beta2'),
  };
}

export async function runAllocCase(b: Backend, bytes: Uint8Array, file: string): Promise<CaseOutcome> {
  const { meta, num, int, tensor } = vectorReader(bytes, file);
  const layers = meta('layers') as VectorLayer[];
  const L = layers.length;
  const iters = int('iters_per_epoch');
  const epochs = int('epochs');
  const owned: Tensor[] = [];
  const upload = (name: string) => {
    const t = tensor(name);
    const uploaded = b.upload(t.data, t.shape);
    owned.push(uploaded);
    return uploaded;
  };
  const factors = layers.map((l) => ({
    A: upload(`iter0.${l.name}.In_Qs`),
    B: upload(`iter0.${l.name}.Out_Qs`),
    dA: upload(`iter0.${l.name}.In_Qs.grad`),
    dB: upload(`iter0.${l.name}.Out_Qs.grad`),
  }));
  const allocator = new SparsityAllocator(
    b,
    layers.map((l, i) => ({ name: l.name, dIn: l.in, dOut: l.out, A: factors[i]!.A, B: factors[i]!.B })),
    storedSettings(num),
  );
  const out: CaseOutcome = { errors: [], problems: [] };
  try {
    const stored = { sparsity: tensor('sparsity').data };
    const budgets = meta('budget') as number[];
    const remasks = meta('remask') as boolean[];
    let moved = 0;
    for (let e = 0; e < epochs; e++) {
      moved += checkEpoch(await allocator.startEpoch(e), { budgets, remasks, ...stored }, layers, out);
      for (let i = 0; i < iters; i++) {
        const it = e * iters + i;
        layers.forEach((l, k) => {
          const f = factors[k]!;
          b.write(f.A, tensor(`iter${it}.${l.name}.In_Qs`).data);
          b.write(f.B, tensor(`iter${it}.${l.name}.Out_Qs`).data);
          b.write(f.dA, tensor(`iter${it}.${l.name}.In_Qs.grad`).data);
          b.write(f.dB, tensor(`iter${it}.${l.name}.Out_Qs.grad`).data);
        });
        allocator.track(factors);
      }
    }
    out.errors.push(`sparsity moved=${moved}/${epochs * L}`);
    let worst = 0;
    const tensors = allocator.averageTensors();
    for (const l of layers) {
      for (const key of ['ipt', 'unc'].flatMap((avg) => ['In_Qs', 'Out_Qs'].map((p) => [avg, p] as const))) {
        const ref = tensor(`final.${key[0]}.${l.name}.${key[1]}`).data;
        const got = (await b.read(tensors.get(`${l.name}.${key[1]}.${key[0]}`)!)) as Float32Array;
        const zero = ref.every((v) => v === 0);
        const err = zero ? (got.every((v) => v === 0) ? 0 : Infinity) : relL2(got, ref);
        worst = Math.max(worst, err);
        if (!(err <= TOLERANCE.output))
          out.problems.push(`final ${key[0]} ${l.name}.${key[1]} relative error ${err.toExponential(2)}`);
      }
    }
    out.errors.push(`averages worst=${worst.toExponential(1)}`);
    return out;
  } finally {
    allocator.free();
    for (const t of owned) b.free(t);
  }
}
