// Builds alloc_<tag> vectors (test/vectors/README.md, "SNELLA sparsity allocator") from the README's
// text: seeded float32 θ and gradients per iteration and layer (θ In_Qs [H, in, r/H], Out_Qs
// [H, out, r/H]), the importance averages in float64 (src/reference/importance64.ts), the schedule and
// the float32 split of test/support/allocator-reference.ts, and every tensor and metadata key the
// stored alloc_* files carry.

import { encodeSafetensors, type NamedTensor } from '../../src/io/safetensors-write.js';
import { importance64, meanScore64, updateImportance64, type Importance64 } from '../../src/reference/importance64.js';
import { uniform } from '../../src/reference/random.js';
import { type AllocSchedule, budgets64, scheduleAt, split32 } from './allocator-reference.js';

const PARAMS = ['In_Qs', 'Out_Qs'] as const;
type Param = (typeof PARAMS)[number];

export interface AllocLayer {
  name: string;
  in: number;
  out: number;
}

/** θ and g of one layer at one iteration, In_Qs then Out_Qs. */
export type IterTensors = Record<Param, { theta: ArrayLike<number>; grad: ArrayLike<number> }>;

export interface AllocReplay {
  budgets: number[];
  remasks: boolean[];
  /** [epochs][L] float64 s_l in force during each epoch */
  sparsity: number[][];
  /** [epochs][L] float32 p of a re-mask epoch, 0 elsewhere */
  p: number[][];
  /** [epochs][L] k_l of a re-mask epoch, -1 elsewhere */
  alloc: number[][];
  /** redistribution passes of each re-mask epoch's split (0 elsewhere) */
  passes: number[];
  averages: Map<string, Importance64>;
}

export interface AllocSettings extends AllocSchedule {
  beta1: number;
  beta2: number;
}

/**
 * The README's epoch loop over layers whose θ and g come from `iteration(it, l)`: for every epoch the
 * schedule step, then the importance update of each of its iterations.
 */
export class AllocatorReplay {
  readonly N: number[];
  readonly b0: number;
  readonly bT: number;
  readonly out: AllocReplay;
  private s: number[];

  constructor(
    readonly layers: readonly AllocLayer[],
    readonly rank: number,
    readonly settings: AllocSettings,
    readonly heads = 2,
  ) {
    this.N = layers.map((l) => l.in * l.out);
    ({ b0: this.b0, bT: this.bT } = budgets64(this.N, settings));
    this.s = layers.map(() => settings.initThres);
    const averages = new Map<string, Importance64>();
    for (const l of layers) {
      averages.set(`${l.name}.In_Qs`, importance64(l.in * rank));
      averages.set(`${l.name}.Out_Qs`, importance64(l.out * rank));
    }
    this.out = { budgets: [], remasks: [], sparsity: [], p: [], alloc: [], passes: [], averages };
  }

  /** The schedule step of epoch t; returns the sparsities in force from now on. */
  startEpoch(t: number): readonly number[] {
    const L = this.layers.length;
    const { budget, remask } = scheduleAt(t, this.b0, this.bT, this.settings);
    this.out.budgets.push(budget);
    this.out.remasks.push(remask);
    let p = new Array<number>(L).fill(0);
    let alloc = new Array<number>(L).fill(-1);
    let passes = 0;
    if (remask) {
      const scores = this.layers.map((l) => PARAMS.reduce((acc, q) => acc + meanScore64(this.average(l.name, q)), 0));
      const split = split32(scores, this.N, budget);
      ({ p, kept: alloc, passes } = split);
      this.s = split.sparsity;
    }
    this.out.sparsity.push([...this.s]);
    this.out.p.push(p);
    this.out.alloc.push(alloc);
    this.out.passes.push(passes);
    return this.s;
  }

  /** One importance update of every layer. */
  track(tensors: (l: number) => IterTensors): void {
    this.layers.forEach((l, i) => {
      const t = tensors(i);
      for (const q of PARAMS)
        updateImportance64(this.average(l.name, q), t[q].theta, t[q].grad, this.settings.beta1, this.settings.beta2);
    });
  }

  average(layer: string, param: Param): Importance64 {
    return this.out.averages.get(`${layer}.${param}`)!;
  }

  /** The metadata and tensors every alloc_* and alloc_train_* file shares. */
  encodeSchedule(): { meta: Record<string, unknown>; tensors: Record<string, NamedTensor> } {
    const L = this.layers.length;
    const rows = (v: number[][]): NamedTensor => ({ shape: [v.length, L], data: Float32Array.from(v.flat()) });
    const st = this.settings;
    return {
      meta: {
        num_Hs: this.heads,
        rank: this.rank,
        layers: this.layers.map((l, i) => ({ name: l.name, in: l.in, out: l.out, N: this.N[i] })),
        init_thres: st.initThres,
        target_ratio: st.targetRatio,
        init_warmup: st.initWarmup,
        final_warmup: st.finalWarmup,
        mask_interval: st.maskInterval,
        beta1: st.beta1,
        beta2: st.beta2,
        total_step: st.totalStep,
        init_budget: this.b0,
        target_budget: this.bT,
        budget: this.out.budgets,
        remask: this.out.remasks,
        precision: 'theta, grad and the moving averages float64; score vector, volumes and redistribution float32',
      },
      tensors: { sparsity: rows(this.out.sparsity), p: rows(this.out.p), alloc: rows(this.out.alloc) },
    };
  }
}

export interface AllocVectorSpec extends AllocSettings {
  tag: string;
  layers: Array<AllocLayer & { gradScale: number }>;
  rank: number;
  epochs: number;
  itersPerEpoch: number;
  seed: number;
  /** One gradient entry set to NaN (index [h, row, j] into the tensor), or null. */
  nanGrad: { iter: number; layer: string; param: Param; index: [number, number, number] } | null;
  /** A layer whose gradients are all zero (score 0), or null. */
  zeroScoreLayer: string | null;
}

/** θ uniform in ±0.3, g uniform in ±gradScale, fresh seeds per iteration, layer and tensor. */
function iterationTensors(spec: AllocVectorSpec, it: number, l: number): IterTensors {
  const layer = spec.layers[l]!;
  const k = spec.rank / 2;
  const seed = spec.seed + 7919 * it + 131 * l;
  const zero = layer.name === spec.zeroScoreLayer;
  const make = (rows: number, offset: number) => ({
    theta: uniform(2 * rows * k, seed + offset, -0.3, 0.3),
    grad: zero ? new Float32Array(2 * rows * k) : uniform(2 * rows * k, seed + offset + 1, -layer.gradScale, layer.gradScale),
  });
  const t = { In_Qs: make(layer.in, 0), Out_Qs: make(layer.out, 2) };
  const nan = spec.nanGrad;
  if (nan && nan.iter === it && nan.layer === layer.name) {
    const rows = nan.param === 'In_Qs' ? layer.in : layer.out;
    const [h, r, j] = nan.index;
    t[nan.param].grad[(h * rows + r) * k + j] = Number.NaN;
  }
  return t;
}

export function makeAllocVector(spec: AllocVectorSpec): { name: string; bytes: Uint8Array; replay: AllocReplay } {
  const k = spec.rank / 2;
  const replay = new AllocatorReplay(spec.layers, spec.rank, spec);
  const tensors: Record<string, NamedTensor> = {};
  for (let e = 0; e < spec.epochs; e++) {
    replay.startEpoch(e);
    for (let i = 0; i < spec.itersPerEpoch; i++) {
      const it = e * spec.itersPerEpoch + i;
      const data = spec.layers.map((_, l) => iterationTensors(spec, it, l));
      spec.layers.forEach((layer, l) => {
        for (const q of PARAMS) {
          const shape = [2, q === 'In_Qs' ? layer.in : layer.out, k];
          tensors[`iter${it}.${layer.name}.${q}`] = { shape, data: Float32Array.from(data[l]![q].theta) };
          tensors[`iter${it}.${layer.name}.${q}.grad`] = { shape, data: Float32Array.from(data[l]![q].grad) };
        }
      });
      replay.track((l) => data[l]!);
    }
  }
  const schedule = replay.encodeSchedule();
  Object.assign(tensors, schedule.tensors);
  for (const layer of spec.layers) {
    for (const q of PARAMS) {
      const shape = [2, q === 'In_Qs' ? layer.in : layer.out, k];
      const avg = replay.average(layer.name, q);
      tensors[`final.ipt.${layer.name}.${q}`] = { shape, data: Float32Array.from(avg.ipt) };
      tensors[`final.unc.${layer.name}.${q}`] = { shape, data: Float32Array.from(avg.unc) };
    }
  }
  const meta = {
    case: `alloc_${spec.tag}`,
    family: 'alloc',
    ...schedule.meta,
    epochs: spec.epochs,
    iters_per_epoch: spec.itersPerEpoch,
    call_order:
      'for epoch e in 0..epochs-1: allocator.update(model, e) [sparsity[e] read after it]; then for each iteration i of the epoch ' +
      '(global index it = e*iters_per_epoch + i): theta and theta.grad take the values of iter<it>, then allocator.update_ipt(model)',
    nan_grad: spec.nanGrad,
    zero_score_layer: spec.zeroScoreLayer,
  };
  const metadata = Object.fromEntries(Object.entries(meta).map(([key, v]) => [key, JSON.stringify(v)]));
  return { name: `alloc_${spec.tag}.safetensors`, bytes: encodeSafetensors(tensors, metadata), replay: replay.out };
}
