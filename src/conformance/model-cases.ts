// The `block_*`, `noise_block_*`, `train_*` and `alloc_train_*` golden vectors (test/vectors/README.md):
// one ViT block with SNELL branches (forward and every gradient; noise_block_ with every dropout,
// DropPath and stochastic-depth mask given as a tensor and fed through the model's noise source), and
// a trunk trained with AdamW (every step's loss and the final adapter and head values; alloc_train_
// with SNELLA's allocator in the loop, its schedule compared epoch by epoch and the finals only where
// every split agrees). Each runner returns the per-output errors and the problems found.

import type { Backend, Tensor } from '../backend.js';
import type { NamedArray, Weights } from '../core/weights.js';
import { AdapterConfigError } from '../adapter/config.js';
import { SafetensorsError } from '../io/safetensors.js';
import { LINEAR_NAMES, type TuningPlan, type ViTConfig } from '../model/config.js';
import { NOISE_SITES, type NoiseSite, storedNoise } from '../model/noise.js';
import { singleBlock } from '../model/single-block.js';
import { ViT } from '../model/vit.js';
import { AdamW } from '../train/adamw.js';
import { TrainingAllocation } from '../train/allocation.js';
import { checkEpoch, type StoredSchedule, storedSettings, type VectorLayer } from './alloc-case.js';
import { relL2, TOLERANCE } from './compare.js';
import { type VectorReader, vectorReader } from './vector-reader.js';

export interface CaseOutcome {
  errors: string[];
  problems: string[];
}

/** Train vectors: losses within 1e-3 relative, final parameters within 1e-3 relative L2. */
export const TRAIN_TOLERANCE = 1e-3;

/** The stored masks of a noise_block_ vector and its rates; null for a vector without noise. */
function noiseOf(r: VectorReader, b: Backend, owned: Tensor[]) {
  if (!NOISE_SITES.some((site) => r.st.has(`noise.${site}`))) return null;
  for (const key of ['attn_dropout_p', 'backbone_dropout_p']) {
    if (r.meta(key, 0) !== 0)
      r.fail(`metadata "${key}" is ${JSON.stringify(r.meta(key))}: the model has no attention or backbone dropout (0 expected)`);
  }
  const masks = new Map<NoiseSite, Tensor>();
  for (const site of NOISE_SITES) {
    const m = r.tensor(`noise.${site}`, true);
    if (m.data.some((v) => v !== 0 && v !== 1)) r.fail(`tensor "noise.${site}" must hold 0/1 values`);
    const t = b.upload(m.data, m.shape);
    owned.push(t);
    masks.set(site, t);
  }
  const rate = (key: string) => {
    const v = r.meta(key);
    if (typeof v !== 'number' || !(v >= 0 && v < 1)) r.fail(`metadata "${key}" must be a probability in [0, 1)`);
    return v as number;
  };
  return {
    branchDropout: rate('branch_dropout_p'),
    branchDropPath: rate('branch_droppath_p'),
    noise: { source: storedNoise(b, (_, site) => masks.get(site) ?? null), block: 0, depthRate: rate('block_droppath_p') },
  };
}

function planOf(r: VectorReader, weights: Weights): TuningPlan {
  const method = r.meta('tuning_model', 'snell') as string;
  if (!['snell', 'snella', 'klora'].includes(method))
    r.fail(`metadata "tuning_model" is ${JSON.stringify(method)}; expected snell, snella or klora`);
  const coeff = [...weights].find(([k]) => k.endsWith('shared_coeff_fc'))?.[1];
  const sparsity = r.meta('init_thres');
  if (typeof sparsity !== 'number') r.fail('metadata "init_thres" must be a number');
  return {
    method: method as 'snell' | 'snella' | 'klora',
    rank: r.int('q_dim'),
    kernelHeads: coeff ? coeff.data.length : 2,
    sparsity: sparsity as number,
    targets: LINEAR_NAMES,
    branchDropout: 0,
    branchDropPath: 0,
  };
}

function compare(name: string, ours: ArrayLike<number>, ref: ArrayLike<number>, tol: number, out: CaseOutcome): void {
  const err = relL2(ours, ref);
  out.errors.push(`${name}=${err.toExponential(1)}`);
  if (!(err <= tol)) out.problems.push(`${name} relative error ${err.toExponential(2)} > ${tol}`);
}

/** Rewraps configuration errors (shapes, ranks) as errors naming the vector file. */
function named<T>(file: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof AdapterConfigError) throw new SafetensorsError(file, e.message);
    throw e;
  }
}

export async function runBlockCase(backend: Backend, bytes: Uint8Array, file: string): Promise<CaseOutcome> {
  const r = vectorReader(bytes, file);
  const [dim, heads, tokens, batch] = [r.int('dim'), r.int('heads'), r.int('tokens'), r.int('batch')];
  const weights = r.under('param.');
  const x = r.tensor('x', true);
  const g = r.tensor('g', true);
  for (const [name, t] of [
    ['x', x],
    ['g', g],
  ] as const) {
    if (t.data.length !== batch * tokens * dim)
      r.fail(`tensor "${name}" has shape [${t.shape.join(', ')}], expected [${batch}, ${tokens}, ${dim}]`);
  }
  const config: ViTConfig = {
    dim,
    depth: 1,
    heads,
    mlpRatio: r.int('mlp_ratio', 4),
    classes: 1,
    tokens,
    patchDim: null,
    pooling: 'mean',
    eps: r.meta('layer_norm_eps', 1e-6) as number,
  };
  const owned: Tensor[] = [];
  try {
    const noisy = noiseOf(r, backend, owned);
    const plan = {
      ...planOf(r, weights),
      ...(noisy && { branchDropout: noisy.branchDropout, branchDropPath: noisy.branchDropPath }),
    };
    const block = named(file, () => singleBlock(backend, config, weights, plan));
    const b = block.backend;
    const xt = b.upload(x.data, [batch, tokens, dim]);
    const gt = b.upload(g.data, [batch, tokens, dim]);
    owned.push(xt, gt);
    const y = block.forward(xt, noisy?.noise ?? null, true);
    const dx = block.backward(gt, noisy?.noise ?? null);
    owned.push(y, dx);
    const out: CaseOutcome = { errors: [], problems: [] };
    compare('y', (await b.read(y)) as Float32Array, r.tensor('y').data, TOLERANCE.output, out);
    compare('grad.x', (await b.read(dx)) as Float32Array, r.tensor('grad.x').data, TOLERANCE.output, out);
    let worst = 0;
    let worstName = '';
    for (const p of block.params()) {
      const refName = `grad.${p.name}`;
      if (!r.st.has(refName)) r.fail(`tensor "${refName}" is missing`);
      const err = relL2((await b.read(p.grad!)) as Float32Array, r.tensor(refName).data);
      if (!(err <= TOLERANCE.output))
        out.problems.push(`${refName} relative error ${err.toExponential(2)} > ${TOLERANCE.output}`);
      if (!(err <= worst)) [worst, worstName] = [err, refName];
      owned.push(p.grad!);
    }
    out.errors.push(`adapter grads worst=${worst.toExponential(1)} (${worstName.replace('grad.', '')})`);
    return out;
  } finally {
    for (const t of owned) backend.free(t);
  }
}

export async function runTrainCase(backend: Backend, bytes: Uint8Array, file: string): Promise<CaseOutcome> {
  const r = vectorReader(bytes, file);
  const [dim, heads, depth, tokens, batch, classes, steps] = ['dim', 'heads', 'depth', 'tokens', 'batch', 'classes', 'steps'].map(
    (k) => r.int(k),
  );
  const opt = r.meta('optimizer') as { name?: string; lr?: number; weight_decay?: number; betas?: number[]; eps?: number };
  if (opt?.name !== 'AdamW' || typeof opt.lr !== 'number') r.fail('metadata "optimizer" must describe AdamW with lr');
  const pooling = String(r.meta('pooling', 'mean over tokens')).startsWith('mean') ? 'mean' : 'cls';
  const weights = r.under('param.');
  const x = r.tensor('x', true);
  const labels = r.tensor('labels', true);
  const losses = r.tensor('losses');
  if (x.data.length !== batch * tokens * dim)
    r.fail(`tensor "x" has shape [${x.shape.join(', ')}], expected [${batch}, ${tokens}, ${dim}]`);
  if (labels.data.length !== batch || labels.data.some((l) => !Number.isInteger(l) || l < 0 || l >= classes)) {
    r.fail(`tensor "labels" must hold ${batch} class indices in [0, ${classes})`);
  }
  if (losses.data.length !== steps) r.fail(`tensor "losses" has ${losses.data.length} values for ${steps} steps`);
  const config: ViTConfig = {
    dim,
    depth,
    heads,
    mlpRatio: r.int('mlp_ratio', 4),
    classes,
    tokens,
    patchDim: null,
    pooling,
    eps: 1e-6,
  };
  const model = named(file, () => new ViT(backend, config, weights, { plan: planOf(r, weights), seed: 0 }));
  const b = model.backend;
  // the vectors' optimizer is one AdamW group: weight decay on every trainable tensor, head.bias included
  for (const p of model.params()) p.decay = true;
  const optimizer = new AdamW(b, model.ledger, model.params(), {
    lr: opt.lr!,
    beta1: opt.betas?.[0] ?? 0.9,
    beta2: opt.betas?.[1] ?? 0.999,
    eps: opt.eps ?? 1e-8,
    weightDecay: opt.weight_decay ?? 0.01,
    maxGradNorm: null,
  });
  try {
    const allocated = r.meta('family', '') === 'alloc_train' ? allocatedRun(r, model, steps) : null;
    return await trainAndCompare(model, optimizer, r, { x, labels, losses, batch, tokens, dim, classes, steps }, allocated);
  } finally {
    model.dispose();
  }
}

interface AllocatedRun {
  allocation: TrainingAllocation;
  stepsPerEpoch: number;
  layers: VectorLayer[];
  stored: StoredSchedule;
}

/** alloc_train_*: the allocator over the model's adapters, which must be the vector's layers in its order. */
function allocatedRun(r: VectorReader, model: ViT, steps: number): AllocatedRun {
  const layers = r.meta('layers') as VectorLayer[];
  const names = model.adaptedLayers().map((l) => l.name);
  if (names.join() !== layers.map((l) => l.name).join()) {
    r.fail(`metadata "layers" names ${layers.map((l) => l.name).join(', ')}; the model adapts ${names.join(', ')}`);
  }
  const [epochs, stepsPerEpoch] = [r.int('epochs'), r.int('steps_per_epoch')];
  if (epochs * stepsPerEpoch !== steps) r.fail(`${epochs} epochs of ${stepsPerEpoch} steps are not the ${steps} steps`);
  const settings = storedSettings(r.num);
  const allocation = new TrainingAllocation(model, settings, epochs);
  const stored = {
    budgets: r.meta('budget') as number[],
    remasks: r.meta('remask') as boolean[],
    sparsity: r.tensor('sparsity').data,
  };
  return { allocation, stepsPerEpoch, layers, stored };
}

async function trainAndCompare(
  model: ViT,
  optimizer: AdamW,
  r: VectorReader,
  c: {
    x: NamedArray;
    labels: NamedArray;
    losses: NamedArray;
    batch: number;
    tokens: number;
    dim: number;
    classes: number;
    steps: number;
  },
  allocated: AllocatedRun | null,
): Promise<CaseOutcome> {
  const { x, labels, losses, batch, tokens, dim, classes, steps } = c;
  const b = model.backend;
  const xt = b.upload(x.data, [batch, tokens, dim]);
  const lt = b.upload(Uint32Array.from(labels.data), [batch], 'u32');
  const out: CaseOutcome = { errors: [], problems: [] };
  const ours: number[] = [];
  let moved = 0;
  for (let s = 0; s < steps; s++) {
    if (allocated && s % allocated.stepsPerEpoch === 0) {
      const epoch = await allocated.allocation.startEpoch(s / allocated.stepsPerEpoch);
      moved += checkEpoch(epoch, allocated.stored, allocated.layers, out);
    }
    const logits = model.forward(xt, true);
    const [loss, dLogits, correct] = [b.zeros([1]), b.zeros([batch, classes]), b.zeros([1], 'u32')];
    b.softmaxCrossEntropy(logits, lt, loss, dLogits, correct);
    model.backward(dLogits);
    optimizer.step(undefined, allocated ? () => allocated.allocation.track() : undefined);
    ours.push(((await b.read(loss)) as Float32Array)[0]);
    for (const t of [logits, loss, dLogits, correct]) b.free(t);
  }
  if (allocated) out.errors.push(`sparsity moved=${moved}/${allocated.stored.sparsity.length}`);
  let worstLoss = 0;
  ours.forEach((l, s) => {
    const err = Math.abs(l - losses.data[s]) / Math.abs(losses.data[s]);
    worstLoss = Math.max(worstLoss, err);
    if (!(err <= TRAIN_TOLERANCE))
      out.problems.push(`step ${s} loss ${l} vs ${losses.data[s]} (relative ${err.toExponential(2)} > ${TRAIN_TOLERANCE})`);
  });
  out.errors.push(`losses worst=${worstLoss.toExponential(1)} (${ours[0].toFixed(4)}→${ours[steps - 1].toFixed(4)})`);
  // a split moved by one unit trains one entry more or fewer from then on: finals are compared only where all agree
  if (moved > 0) return out;
  let worst = 0;
  let checked = 0;
  for (const p of model.params()) {
    const refName = `final.${p.name}`;
    if (!r.st.has(refName)) r.fail(`tensor "${refName}" is missing (a trained tensor)`);
    const err = relL2((await b.read(p.tensor)) as Float32Array, r.tensor(refName).data);
    worst = Math.max(worst, err);
    checked++;
    if (!(err <= TRAIN_TOLERANCE)) out.problems.push(`${refName} relative error ${err.toExponential(2)} > ${TRAIN_TOLERANCE}`);
  }
  out.errors.push(`final params worst=${worst.toExponential(1)} (${checked} tensors)`);
  return out;
}
