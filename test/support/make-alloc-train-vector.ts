// Builds alloc_train_<tag> vectors (test/vectors/README.md, "alloc_train_<tag>") in float64: the ViT
// trunk of src/reference/vit64.ts with SNELLA branches, trained by AdamW (PyTorch's, one group, weight
// decay on every trainable tensor: each branch's In_Qs, Out_Qs, alpha, gamma, beta and the head) on one
// batch, with the reference allocator of test/support/allocator-reference.ts in the README's call order:
//   for epoch e: schedule / re-mask for t = e; then per step: loss and gradients with the current s_l,
//   AdamW step, importance update with the updated θ and this step's gradients.

import { encodeSafetensors, type NamedTensor } from '../../src/io/safetensors-write.js';
import { rng } from '../../src/core/random.js';
import { uniform } from '../../src/reference/random.js';
import { adamw64 } from '../../src/reference/transformer64.js';
import { branchPaths, type Params64, type VitTrunk64, vitTrunkLoss64 } from '../../src/reference/vit64.js';
import { type AllocSettings, AllocatorReplay } from './make-alloc-vector.js';

export interface AdamWSettings {
  lr: number;
  weight_decay: number;
  betas: [number, number];
  eps: number;
}

export interface AllocTrainCase {
  trunk: VitTrunk64;
  qDim: number;
  epochs: number;
  stepsPerEpoch: number;
  optimizer: AdamWSettings;
  allocator: AllocSettings;
}

const TRAINABLE = ['In_Qs', 'Out_Qs', 'alpha', 'gamma', 'beta'] as const;

/** The adapted layers in the vectors' order: branch path, in, out. */
export function trunkLayers(c: VitTrunk64) {
  const Hd = c.mlpRatio * c.dim;
  const io = [
    [c.dim, c.dim],
    [c.dim, c.dim],
    [c.dim, c.dim],
    [c.dim, c.dim],
    [c.dim, Hd],
    [Hd, c.dim],
  ] as const;
  return Array.from({ length: c.depth }, (_, b) =>
    branchPaths(b).map(({ branch }, i) => ({ name: branch, in: io[i]![0], out: io[i]![1] })),
  ).flat();
}

export interface AllocTrainRun {
  losses: number[];
  /** Every trainable tensor after the last step. */
  finals: Map<string, Float64Array>;
  replay: AllocatorReplay;
}

/** Trains a copy of `initial` (names without the `param.` prefix) and returns losses, finals and the schedule. */
export function trainWithAllocator64(
  c: AllocTrainCase,
  initial: Params64,
  x: ArrayLike<number>,
  labels: ArrayLike<number>,
): AllocTrainRun {
  const params = new Map([...initial].map(([k, v]) => [k, Float64Array.from(v)]));
  const layers = trunkLayers(c.trunk);
  const trainable = [...layers.flatMap((l) => TRAINABLE.map((t) => `${l.name}.${t}`)), 'head.weight', 'head.bias'];
  const moments = new Map(
    trainable.map((n) => [n, { m: new Float64Array(params.get(n)!.length), v: new Float64Array(params.get(n)!.length) }]),
  );
  const replay = new AllocatorReplay(layers, c.qDim, c.allocator);
  const { lr, weight_decay: wd, betas, eps } = c.optimizer;
  const losses: number[] = [];
  let step = 0;
  for (let e = 0; e < c.epochs; e++) {
    const s = replay.startEpoch(e);
    const sparsity = new Map(layers.map((l, i) => [l.name, s[i]!]));
    for (let i = 0; i < c.stepsPerEpoch; i++) {
      const { loss, grads } = vitTrunkLoss64(params, c.trunk, x, labels, (branch) => sparsity.get(branch)!);
      losses.push(loss);
      step++;
      for (const name of trainable) {
        const st = moments.get(name)!;
        const next = adamw64(params.get(name)!, grads.get(name)!, st.m, st.v, lr, betas[0], betas[1], eps, wd, step);
        params.set(name, next.p);
        moments.set(name, { m: next.m, v: next.v });
      }
      replay.track((l) => {
        const pair = (q: string) => ({
          theta: params.get(`${layers[l]!.name}.${q}`)!,
          grad: grads.get(`${layers[l]!.name}.${q}`)!,
        });
        return { In_Qs: pair('In_Qs'), Out_Qs: pair('Out_Qs') };
      });
    }
  }
  return { losses, finals: new Map(trainable.map((n) => [n, params.get(n)!])), replay };
}

export interface AllocTrainSpec extends AllocTrainCase {
  tag: string;
  seed: number;
}

/** Seeded float32 initial values in the scales of the stored vectors, with [shape, data] per tensor. */
function initialParams(c: AllocTrainSpec): Map<string, NamedTensor> {
  const { dim: D, classes: C } = c.trunk;
  const out = new Map<string, NamedTensor>();
  let seed = c.seed;
  const put = (name: string, shape: number[], lo: number, hi: number) => {
    out.set(name, {
      shape,
      data: uniform(
        shape.reduce((a, b) => a * b, 1),
        seed++,
        lo,
        hi,
      ),
    });
  };
  const k = c.qDim / 2;
  const layers = trunkLayers(c.trunk);
  for (let b = 0; b < c.trunk.depth; b++) {
    for (const n of ['norm1', 'norm2']) {
      put(`blocks.${b}.${n}.weight`, [D], 0.8, 1.2);
      put(`blocks.${b}.${n}.bias`, [D], -0.2, 0.2);
    }
    branchPaths(b).forEach(({ linear, branch }) => {
      const l = layers.find((x) => x.name === branch)!;
      put(`${linear}.weight`, [l.out, l.in], -0.035, 0.035);
      put(`${linear}.bias`, [l.out], -0.17, 0.17);
      put(`${branch}.In_Qs`, [2, l.in, k], -1 / Math.sqrt(l.in * k), 1 / Math.sqrt(l.in * k));
      put(`${branch}.Out_Qs`, [2, l.out, k], -1 / Math.sqrt(l.out * k), 1 / Math.sqrt(l.out * k));
      out.set(`${branch}.shared_coeff_fc`, { shape: [2, 1, 1], data: Float32Array.of(0.1, -0.1) });
      // away from the authors' α = 1, γ = 1, β = 0, so that a mixture that ignores them shows
      put(`${branch}.alpha`, [1], 0.5, 1.5);
      put(`${branch}.gamma`, [1], 0.75, 1.5);
      put(`${branch}.beta`, [1], -0.05, 0.05);
    });
  }
  out.set('norm.weight', { shape: [D], data: new Float32Array(D).fill(1) });
  out.set('norm.bias', { shape: [D], data: new Float32Array(D) });
  put('head.weight', [C, D], -0.035, 0.035);
  out.set('head.bias', { shape: [C], data: new Float32Array(C) });
  return out;
}

export function makeAllocTrainVector(spec: AllocTrainSpec): { name: string; bytes: Uint8Array; run: AllocTrainRun } {
  const { dim: D, tokens: T, batch: B, classes: C } = spec.trunk;
  const init = initialParams(spec);
  const x = uniform(B * T * D, spec.seed + 1000, -1.7, 1.7);
  const next = rng(spec.seed + 1001);
  const labels = Float32Array.from({ length: B }, () => Math.floor(next() * C));
  const run = trainWithAllocator64(spec, new Map([...init].map(([k, t]) => [k, t.data])), x, labels);
  const steps = spec.epochs * spec.stepsPerEpoch;
  const schedule = run.replay.encodeSchedule();
  const tensors: Record<string, NamedTensor> = {};
  for (const [k, t] of init) tensors[`param.${k}`] = t;
  Object.assign(tensors, {
    x: { shape: [B, T, D], data: x },
    labels: { shape: [B], data: labels },
    losses: { shape: [steps], data: Float32Array.from(run.losses) },
    ...schedule.tensors,
  });
  for (const [k, t] of init) {
    const final = run.finals.get(k);
    if (final || k.endsWith('shared_coeff_fc'))
      tensors[`final.${k}`] = { shape: t.shape, data: final ? Float32Array.from(final) : t.data };
  }
  const meta = {
    case: `alloc_train_${spec.tag}`,
    family: 'alloc_train',
    dim: D,
    heads: spec.trunk.heads,
    depth: spec.trunk.depth,
    tokens: T,
    batch: B,
    classes: C,
    mlp_ratio: spec.trunk.mlpRatio,
    q_dim: spec.qDim,
    tuning_model: 'snella',
    steps,
    epochs: spec.epochs,
    steps_per_epoch: spec.stepsPerEpoch,
    ...schedule.meta,
    optimizer: { name: 'AdamW', ...spec.optimizer },
    trainable: 'adapters (learnable.*) and head; everything else frozen',
    pooling: 'mean over tokens after final LayerNorm',
    loss: 'cross-entropy, mean over batch',
    call_order:
      'for epoch e: allocator.update(model, e) [sparsity[e] read after it]; then steps_per_epoch times: loss = CE(model(x), labels); ' +
      'zero grads; backward; AdamW step; allocator.update_ipt(model)',
    precision: 'model, AdamW and moving averages float64; score vector, volumes and redistribution float32',
  };
  const metadata = Object.fromEntries(Object.entries(meta).map(([key, v]) => [key, JSON.stringify(v)]));
  return { name: `alloc_train_${spec.tag}.safetensors`, bytes: encodeSafetensors(tensors, metadata), run };
}
