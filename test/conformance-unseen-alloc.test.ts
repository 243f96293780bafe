// The runner on allocator vectors it was not written against. The generators (test/support/
// make-alloc-vector.ts, make-alloc-train-vector.ts) are a second implementation written from the
// vectors README; they are first checked against the stored alloc_* / alloc_train_* files, then their
// own cases run through the runner on both backends, and a corrupted copy must fail naming the fault.

import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../src/backend.js';
import { type VectorFile, runConformance } from '../src/conformance/run.js';
import { encodeSafetensors, type NamedTensor } from '../src/io/safetensors-write.js';
import { SafetensorsFile } from '../src/io/safetensors.js';
import { BACKENDS } from './support/backends.js';
import { relL2 } from '../src/conformance/compare.js';
import {
  type AllocLayer,
  type AllocSettings,
  type AllocVectorSpec,
  AllocatorReplay,
  makeAllocVector,
} from './support/make-alloc-vector.js';
import { makeAllocTrainVector, trainWithAllocator64 } from './support/make-alloc-train-vector.js';

const stored = (name: string) => {
  const bytes = new Uint8Array(readFileSync(new URL(`./vectors/${name}.safetensors`, import.meta.url)));
  const st = SafetensorsFile.parse(bytes, name);
  const meta = (key: string) => JSON.parse(st.metadata[key]!);
  return { bytes, st, meta };
};

const settingsOf = (meta: (key: string) => number): AllocSettings => ({
  initThres: meta('init_thres'),
  targetRatio: meta('target_ratio'),
  initWarmup: meta('init_warmup'),
  finalWarmup: meta('final_warmup'),
  maskInterval: meta('mask_interval'),
  totalStep: meta('total_step'),
  beta1: meta('beta1'),
  beta2: meta('beta2'),
});

/** Replays a stored alloc_* file's iterations through the reference allocator. */
function replayStored(name: string) {
  const { st, meta } = stored(name);
  const layers = meta('layers') as AllocLayer[];
  const replay = new AllocatorReplay(layers, meta('rank'), settingsOf(meta));
  const iters = meta('iters_per_epoch');
  for (let e = 0; e < meta('epochs'); e++) {
    replay.startEpoch(e);
    for (let i = 0; i < iters; i++) {
      const pre = `iter${e * iters + i}`;
      replay.track((l) => {
        const t = (q: string) => ({
          theta: st.tensor(`${pre}.${layers[l]!.name}.${q}`).data,
          grad: st.tensor(`${pre}.${layers[l]!.name}.${q}.grad`).data,
        });
        return { In_Qs: t('In_Qs'), Out_Qs: t('Out_Qs') };
      });
    }
  }
  return { st, meta, layers, out: replay.out };
}

describe('the reference allocator reproduces the stored alloc_* vectors', () => {
  for (const name of ['alloc_vtab_t0.8', 'alloc_warmup_t0.5']) {
    it(name, () => {
      const { st, meta, layers, out } = replayStored(name);
      expect(out.budgets).toEqual(meta('budget'));
      expect(out.remasks).toEqual(meta('remask'));
      expect(Float32Array.from(out.sparsity.flat())).toEqual(st.tensor('sparsity').data);
      expect(Float32Array.from(out.alloc.flat())).toEqual(st.tensor('alloc').data);
      expect(Float32Array.from(out.p.flat())).toEqual(st.tensor('p').data);
      for (const l of layers) {
        for (const q of ['In_Qs', 'Out_Qs']) {
          const avg = out.averages.get(`${l.name}.${q}`)!;
          expect(Float32Array.from(avg.ipt)).toEqual(st.tensor(`final.ipt.${l.name}.${q}`).data);
          expect(Float32Array.from(avg.unc)).toEqual(st.tensor(`final.unc.${l.name}.${q}`).data);
        }
      }
    });
  }
});

describe('the reference trainer reproduces the stored alloc_train_d32 vector', () => {
  it('losses, sparsities and final values', () => {
    const { st, meta } = stored('alloc_train_d32');
    const trunk = {
      dim: meta('dim'),
      heads: meta('heads'),
      depth: meta('depth'),
      tokens: meta('tokens'),
      batch: meta('batch'),
      classes: meta('classes'),
      mlpRatio: 4,
      eps: 1e-6,
    };
    const params = new Map(st.names.filter((n) => n.startsWith('param.')).map((n) => [n.slice(6), st.tensor(n).data]));
    const run = trainWithAllocator64(
      {
        trunk,
        qDim: meta('q_dim'),
        epochs: meta('epochs'),
        stepsPerEpoch: meta('steps_per_epoch'),
        optimizer: meta('optimizer'),
        allocator: settingsOf(meta),
      },
      params,
      st.tensor('x').data,
      st.tensor('labels').data,
    );
    const losses = st.tensor('losses').data;
    const worstLoss = Math.max(...run.losses.map((l, i) => Math.abs(l - losses[i]!) / losses[i]!));
    expect(worstLoss).toBeLessThan(1e-6);
    expect(Float32Array.from(run.replay.out.sparsity.flat())).toEqual(st.tensor('sparsity').data);
    expect(Float32Array.from(run.replay.out.alloc.flat())).toEqual(st.tensor('alloc').data);
    let worst = 0;
    for (const [name, final] of run.finals) worst = Math.max(worst, relL2(final, st.tensor(`final.${name}`).data));
    expect(worst).toBeLessThan(1e-5);
  });
});

const layer = (name: string, dIn: number, dOut: number, gradScale: number) => ({ name, in: dIn, out: dOut, gradScale });

/** 18 layers of mixed shapes (the 16–23 lane sum), warm-ups at both ends, re-mask every 2nd epoch, a NaN gradient, a zero-score layer, and tiny layers that saturate at target 0.95. */
const MIXED: AllocVectorSpec = {
  tag: 'mixed18_t0.95',
  layers: [
    layer('blocks.0.attn.q', 24, 24, 0.05),
    layer('blocks.0.attn.k', 24, 24, 0.02),
    layer('blocks.0.attn.v', 24, 24, 0.3),
    layer('blocks.0.attn.proj', 24, 24, 0.1),
    layer('blocks.0.mlp.fc1', 24, 96, 0.2),
    layer('blocks.0.mlp.fc2', 96, 24, 0.5),
    layer('tiny.a', 2, 3, 3),
    layer('tiny.b', 3, 2, 2),
    layer('tiny.c', 1, 4, 5),
    layer('blocks.1.attn.q', 16, 40, 0.08),
    layer('blocks.1.attn.k', 40, 16, 0.01),
    layer('blocks.1.attn.v', 33, 7, 0.4),
    layer('blocks.1.attn.silent', 12, 12, 0),
    layer('blocks.1.mlp.fc1', 7, 33, 0.6),
    layer('blocks.1.mlp.fc2', 48, 48, 0.15),
    layer('tiny.d', 2, 2, 4),
    layer('blocks.2.attn.q', 64, 8, 0.25),
    layer('blocks.2.attn.k', 5, 5, 1),
  ],
  rank: 4,
  initThres: 0.2,
  targetRatio: 0.95,
  initWarmup: 1,
  finalWarmup: 1,
  maskInterval: 2,
  totalStep: 7,
  beta1: 0.8,
  beta2: 0.95,
  epochs: 8,
  itersPerEpoch: 2,
  seed: 101,
  nanGrad: { iter: 3, layer: 'blocks.1.mlp.fc1', param: 'Out_Qs', index: [1, 20, 1] },
  zeroScoreLayer: 'blocks.1.attn.silent',
};

/** Nine layers (the 8–15 sum), rank 6 (three columns per kernel head), from s = 0, a final warm-up of 2. */
const NINE: AllocVectorSpec = {
  tag: 'nine_r6_t0.6',
  layers: [
    layer('blocks.0.attn.q', 30, 30, 0.1),
    layer('blocks.0.attn.v', 30, 30, 0.4),
    layer('blocks.0.mlp.fc1', 30, 120, 0.2),
    layer('blocks.0.mlp.fc2', 120, 30, 0.3),
    layer('blocks.1.attn.q', 17, 23, 0.05),
    layer('blocks.1.attn.v', 23, 17, 0.7),
    layer('blocks.1.mlp.fc1', 9, 64, 0.25),
    layer('blocks.1.mlp.fc2', 64, 9, 0.15),
    layer('head.adapter', 11, 3, 0.9),
  ],
  rank: 6,
  initThres: 0,
  targetRatio: 0.6,
  initWarmup: 0,
  finalWarmup: 2,
  maskInterval: 1,
  totalStep: 6,
  beta1: 0.85,
  beta2: 0.85,
  epochs: 6,
  itersPerEpoch: 3,
  seed: 202,
  nanGrad: null,
  zeroScoreLayer: null,
};

/** Depth 3 (18 adapted layers), dim 24, 2 heads, q_dim 4; 5 epochs of 2 steps, target 0.9 after a warm-up epoch. */
const TRAIN = {
  tag: 'd24_depth3',
  seed: 303,
  trunk: { dim: 24, heads: 2, depth: 3, tokens: 5, batch: 6, classes: 3, mlpRatio: 4, eps: 1e-6 },
  qDim: 4,
  epochs: 5,
  stepsPerEpoch: 2,
  optimizer: { lr: 0.02, weight_decay: 0.05, betas: [0.9, 0.99] as [number, number], eps: 1e-8 },
  allocator: {
    initThres: 0.3,
    targetRatio: 0.9,
    initWarmup: 1,
    finalWarmup: 0,
    maskInterval: 1,
    totalStep: 5,
    beta1: 0.85,
    beta2: 0.9,
  },
};

const mixed = makeAllocVector(MIXED);
const nine = makeAllocVector(NINE);
const train = makeAllocTrainVector(TRAIN);

describe('the generated cases exercise what they claim', () => {
  it('mixed18: saturated tiny layers, the zero-score layer at s = 1, several redistribution passes, one NaN gradient entry, re-mask every second epoch', () => {
    const { replay: r } = mixed;
    expect(r.remasks).toEqual([false, false, true, false, true, false, true, true]);
    const L = MIXED.layers.length;
    const saturated = r.alloc.flatMap((row) => row.filter((k, l) => k === MIXED.layers[l]!.in * MIXED.layers[l]!.out));
    expect(saturated.length).toBeGreaterThan(3);
    const silent = MIXED.layers.findIndex((l) => l.name === MIXED.zeroScoreLayer);
    for (let e = 0; e < MIXED.epochs; e++)
      expect(r.sparsity[e]![silent]).toBe(r.remasks.slice(0, e + 1).some(Boolean) ? 1 : MIXED.initThres);
    expect(r.passes.some((n) => n > 1)).toBe(true);
    const withNaN = SafetensorsFile.parse(mixed.bytes, mixed.name).tensor('iter3.blocks.1.mlp.fc1.Out_Qs.grad').data;
    expect(withNaN.filter(Number.isNaN).length).toBe(1);
    expect(r.averages.get('blocks.1.mlp.fc1.Out_Qs')!.ipt.every(Number.isFinite)).toBe(true);
    expect(r.sparsity.flat().length).toBe(MIXED.epochs * L);
  });

  it('train: the allocator moves the sparsities after the warm-up epoch and the loss falls', () => {
    const { run } = train;
    expect(run.replay.out.remasks).toEqual([false, false, true, true, true]);
    expect(new Set(run.replay.out.sparsity[4]).size).toBeGreaterThan(3);
    expect(run.losses.at(-1)!).toBeLessThan(run.losses[0]!);
  });
});

/** A copy of a generated file with one tensor entry replaced. */
function corrupt(file: VectorFile, tensor: string, index: number, value: (v: number) => number): VectorFile {
  const st = SafetensorsFile.parse(file.bytes, file.name);
  const tensors: Record<string, NamedTensor> = {};
  for (const name of st.names) tensors[name] = st.tensor(name);
  tensors[tensor]!.data[index] = value(tensors[tensor]!.data[index]!);
  return { name: file.name.replace('.safetensors', '_corrupt.safetensors'), bytes: encodeSafetensors(tensors, st.metadata) };
}

/** The first re-mask epoch's entry of a layer with 2/N ≤ s ≤ 1 − 2/N, moved by 2/N. */
function corruptSparsity(vector: ReturnType<typeof makeAllocVector>, spec: AllocVectorSpec) {
  const { replay: r } = vector;
  const L = spec.layers.length;
  for (let e = 0; e < spec.epochs; e++) {
    if (!r.remasks[e]) continue;
    for (let l = 0; l < L; l++) {
      const N = spec.layers[l]!.in * spec.layers[l]!.out;
      const s = r.sparsity[e]![l]!;
      if (s >= 2 / N && s <= 1 - 2 / N)
        return {
          file: corrupt(vector, 'sparsity', e * L + l, (v) => v + 2 / N),
          message: `epoch ${e} ${spec.layers[l]!.name}: sparsity`,
        };
    }
  }
  throw new Error('no layer to corrupt');
}

for (const [kind, make] of BACKENDS) {
  describe(`unseen allocator vectors on ${kind}`, () => {
    let backend: Backend;
    beforeAll(async () => {
      backend = await make();
    });
    afterAll(() => backend?.destroy());

    it('every generated case passes', async () => {
      const lines: string[] = [];
      const r = await runConformance([mixed, nine, train], { backend, runtime: 'node', log: (l) => lines.push(l) });
      console.log(lines.join('\n'));
      expect(
        lines.filter((l) => !l.startsWith('PASS')),
        lines.join('\n'),
      ).toEqual([]);
      expect(r.passed).toBe(3);
    });
  });
}

// the comparison is the runner's own host code, the same for every backend: one backend suffices
const [firstKind, firstBackend] = BACKENDS[0]!;
describe(`corrupted copies on ${firstKind}`, () => {
  let backend: Backend;
  beforeAll(async () => {
    backend = await firstBackend();
  });
  afterAll(() => backend?.destroy());

  it('corrupted copies fail, naming the corrupted value', async () => {
    const sparsity = corruptSparsity(mixed, MIXED);
    const loss = corrupt(train, 'losses', 3, (v) => v * 1.01);
    const lines: string[] = [];
    const r = await runConformance([sparsity.file, loss], { backend, runtime: 'node', log: (l) => lines.push(l) });
    console.log(lines.join('\n'));
    expect(r.failed).toBe(2);
    expect(lines[0]).toContain(sparsity.message);
    expect(lines[1]).toContain('step 3 loss');
  });
});
