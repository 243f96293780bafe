// The Vision Transformer (timm's ViT) with trainable branches on its linears.
//
//   tokens = [cls; patches·Wpᵀ + bp] + pos          patches [B, T−1, C·p·p] → [B, T, D]   (or tokens given)
//   x = blocks(tokens);  z = pool(LN(x));  logits = z·Whᵀ + bh;  loss = CE(logits, labels)
//
// Weights use timm's names (blocks.N.attn.qkv.* fused, or q/k/v separate; adapters as
// blocks.N.attn.additional_q.learnable.In_Qs …). What trains follows the plan: the branches, the head
// and cls_token always; with `full`, every tensor. Frozen tensors get no gradient and no optimizer state.

import type { Backend, Tensor } from '../backend.js';
import { AdapterConfigError } from '../adapter/config.js';
import { rng } from '../core/random.js';
import type { NamedArray, Weights } from '../core/weights.js';
import { Block, type BlockLayers, type BlockNoise } from './block.js';
import { truncatedNormal } from './init.js';
import { type NoiseSource, seededNoise } from './noise.js';
import { type LinearName, type TuningPlan, type ViTConfig, checkViTConfig } from './config.js';
import { Linear, type BranchSpec } from './linear.js';
import { MemoryLedger, tracked, type MemoryReport } from './memory.js';
import { type Param, param } from './param.js';

export interface ViTOptions {
  /** The tuning plan; null trains the head (and cls_token) alone: a linear probe. */
  plan: TuningPlan | null;
  /** Seed of the branches' initialisation and of the training noise. */
  seed: number;
  /**
   * Stochastic depth of the blocks' residual branches while training: block n of depth L drops a
   * sample's attention and MLP outputs with probability dropPath·n/(L−1) (timm's drop_path_rate,
   * linspace(0, rate, depth)); default 0.
   */
  dropPath?: number;
}

const BRANCH_PREFIX: Record<LinearName, string> = {
  q: 'attn.additional_q', k: 'attn.additional_k', v: 'attn.additional_v',
  proj: 'attn.additional_proj', fc1: 'mlp.additional_fc1', fc2: 'mlp.additional_fc2',
};
const LINEAR_PATH: Record<LinearName, string> = { q: 'attn.q', k: 'attn.k', v: 'attn.v', proj: 'attn.proj', fc1: 'mlp.fc1', fc2: 'mlp.fc2' };

export class ViT {
  readonly ledger = new MemoryLedger();
  readonly backend: Backend;
  readonly blocks: Block[] = [];
  readonly head: Linear;
  private readonly norm: { w: Tensor; b: Tensor };
  private readonly patch: Linear | null = null;
  private readonly cls: Tensor | null = null;
  private readonly pos: Tensor | null = null;
  private readonly extraParams: Param[] = [];
  private saved: { blockInputs: Tensor[]; last: Tensor; normed: Tensor; mean: Tensor; rstd: Tensor; pooled: Tensor; input: Tensor } | null = null;
  private noise: NoiseSource | null = null;

  constructor(backend: Backend, readonly config: ViTConfig, weights: Weights, readonly options: ViTOptions) {
    checkViTConfig(config);
    this.backend = tracked(backend, this.ledger);
    const b = this.backend;
    const full = options.plan?.method === 'full';
    const { dim: D, classes, tokens: T } = config;
    const init = rng(options.seed);
    const parts = blockParts(b, this.ledger, weights, config, init, (p) => this.extraParams.push(p));
    const { frozen, trainable } = parts;

    if (config.patchDim !== null) {
      this.patch = new Linear(b, this.ledger, 'patch_embed.proj', '', config.patchDim, D,
        frozen('patch_embed.proj.weight', [D, config.patchDim]), frozen('patch_embed.proj.bias', [D]), null, null, full);
      this.cls = trainable('cls_token', [1, 1, D]);
      this.pos = full ? trainable('pos_embed', [1, T, D]) : frozen('pos_embed', [1, T, D]);
    }

    const plan = options.plan;
    const [first, last] = plan?.blocks ?? [0, config.depth];
    for (let n = 0; n < config.depth; n++) {
      const branches = plan && n >= first && n < last ? plan : null;
      const before = this.extraParams.length;
      const layers = blockLayers(parts, `blocks.${n}.`, branches, full);
      const normParams = this.extraParams.splice(before);
      this.blocks.push(new Block(b, this.ledger, layers, config.heads, config.eps, normParams));
    }
    this.norm = full
      ? { w: trainable('norm.weight', [D]), b: trainable('norm.bias', [D]) }
      : { w: frozen('norm.weight', [D]), b: frozen('norm.bias', [D]) };
    this.head = new Linear(b, this.ledger, 'head', '', D, classes,
      this.ledger.within('trainable', () => b.upload(parts.get('head.weight', [classes, D]).data, [classes, D])),
      this.ledger.within('trainable', () => b.upload(parts.get('head.bias', [classes]).data, [classes])), null, null, true);
  }

  /** Every trainable tensor, each once. */
  params(): Param[] {
    const linears = [...(this.patch ? [this.patch] : []), ...this.blocks.flatMap((bl) => bl.linears), this.head];
    return [...this.extraParams, ...this.blocks.flatMap((bl) => bl.normParams), ...linears.flatMap((l) => l.params)];
  }

  memory(): MemoryReport {
    return this.ledger.report();
  }

  /** Frees every tensor the model allocated (weights, activations, gradients, optimizer state). */
  dispose(): void {
    for (const block of this.blocks) block.release();
    for (const t of this.ledger.liveTensors()) this.backend.free(t);
    this.saved = null;
  }

  /**
   * logits [B, classes] for input [B, T−1, patchDim] (patches) or [B, T, D] (a trunk's tokens). With
   * `train`, activations are kept for `backward` and the branches' noise is drawn from `stepSeed`.
   */
  forward(input: Tensor, train: boolean, stepSeed = 0): Tensor {
    const b = this.backend;
    const { dim: D, tokens: T } = this.config;
    const B = input.shape[0];
    this.noise = train ? seededNoise(b, stepSeed) : null;
    const tokens = this.ledger.within(train ? 'activations' : 'scratch', () => {
      if (!this.patch) return input;
      const emb = this.patch.forward(input, null);
      const t = b.zeros([B, T, D]);
      b.embedTokens(emb, this.cls!, this.pos!, t);
      b.free(emb);
      return t;
    });
    let x = tokens;
    const blockInputs: Tensor[] = [];
    this.blocks.forEach((block, n) => {
      blockInputs.push(x);
      const y = block.forward(x, this.blockNoise(n), train);
      if (!train && x !== input) b.free(x);
      x = y;
    });
    return this.ledger.within(train ? 'activations' : 'scratch', () => {
      const rows = B * T;
      const [normed, mean, rstd] = [b.zeros([B, T, D]), b.zeros([rows]), b.zeros([rows])];
      b.layerNorm(x, this.norm.w, this.norm.b, this.config.eps, normed, mean, rstd);
      const pooled = b.zeros([B, D]);
      b.poolTokens(normed, this.config.pooling, pooled);
      const logits = this.head.forward(pooled, null);
      if (train) {
        this.saved = { blockInputs, last: x, normed, mean, rstd, pooled, input };
      } else {
        for (const t of [normed, mean, rstd, pooled]) b.free(t);
        if (x !== input) b.free(x);
      }
      return logits;
    });
  }

  /** Backpropagates dLogits [B, classes] through the kept activations; sets every trainable tensor's grad. */
  backward(dLogits: Tensor): void {
    const s = this.saved;
    if (!s) throw new Error('ViT.backward needs forward(…, train = true) first');
    const b = this.backend;
    this.ledger.within('scratch', () => {
      const dPooled = this.head.backward(dLogits, s.pooled, null);
      const dNormed = b.zeros(s.normed.shape);
      b.poolTokensBackward(dPooled, this.config.pooling, dNormed);
      b.free(dPooled);
      const [nw, nb] = this.extraParams.filter((p) => p.name === 'norm.weight' || p.name === 'norm.bias');
      for (const p of [nw, nb]) if (p) p.grad = this.ledger.within('gradients', () => b.zeros(p.tensor.shape));
      let dx = b.zeros(s.last.shape);
      b.layerNormBackward(dNormed, s.last, this.norm.w, s.mean, s.rstd, dx, nw?.grad ?? null, nb?.grad ?? null);
      b.free(dNormed);
      for (const t of [s.normed, s.mean, s.rstd, s.pooled]) b.free(t);
      for (let n = this.blocks.length - 1; n >= 0; n--) {
        const block = this.blocks[n];
        const dPrev = block.backward(dx, this.blockNoise(n));
        b.free(dx);
        dx = dPrev;
      }
      // block n's input is block n−1's output; the first is the token embedding (or the caller's input)
      for (const t of [...s.blockInputs, s.last]) if (t !== s.input) b.free(t);
      if (this.patch) this.embeddingBackward(dx, s.input);
      b.free(dx);
    });
    this.saved = null;
  }

  /** Block n's noise in this step (null when not training). */
  private blockNoise(n: number): BlockNoise {
    if (!this.noise) return null;
    const depth = this.blocks.length;
    const rate = this.options.dropPath ?? 0;
    return { source: this.noise, block: n, depthRate: depth > 1 ? (rate * n) / (depth - 1) : 0 };
  }

  private embeddingBackward(dTokens: Tensor, patches: Tensor): void {
    const b = this.backend;
    const cls = this.extraParams.find((p) => p.name === 'cls_token')!;
    const pos = this.extraParams.find((p) => p.name === 'pos_embed');
    cls.grad = this.ledger.within('gradients', () => b.zeros(cls.tensor.shape));
    if (pos) pos.grad = this.ledger.within('gradients', () => b.zeros(pos.tensor.shape));
    const full = this.options.plan?.method === 'full';
    const [B, T, D] = dTokens.shape;
    const dEmb = full ? b.zeros([B, T - 1, D]) : null;
    b.embedTokensBackward(dTokens, dEmb, cls.grad, pos?.grad ?? null);
    if (dEmb) {
      b.free(this.patch!.backward(dEmb, patches, null));
      b.free(dEmb);
    }
  }
}

/** What building a block needs from the model under construction. */
export interface BlockParts {
  backend: Backend;
  ledger: MemoryLedger;
  weights: Weights;
  config: ViTConfig;
  init: () => number;
  get: (name: string, shape: readonly number[]) => NamedArray;
  frozen: (name: string, shape: readonly number[]) => Tensor;
  trainable: (name: string, shape: readonly number[]) => Tensor;
}

/**
 * Checked access to a checkpoint's tensors while building: `get` verifies presence and size (a mismatch
 * names the tensor and both shapes), `frozen` uploads into the frozen pool, `trainable` into the
 * trainable pool and reports the new parameter.
 */
export function blockParts(
  backend: Backend, ledger: MemoryLedger, weights: Weights, config: ViTConfig, init: () => number,
  onTrainable: (p: Param) => void,
): BlockParts {
  const get = (name: string, shape: readonly number[]): NamedArray => {
    const w = weights.get(name);
    if (!w) throw new AdapterConfigError(`the checkpoint has no tensor "${name}" (shape [${shape.join(', ')}] expected)`);
    if (w.data.length !== shape.reduce((x, y) => x * y, 1)) {
      throw new AdapterConfigError(`tensor "${name}" has shape [${w.shape.join(', ')}], expected [${shape.join(', ')}]`);
    }
    return w;
  };
  const frozen = (name: string, shape: readonly number[]) => ledger.within('frozen', () => backend.upload(get(name, shape).data, shape));
  const trainable = (name: string, shape: readonly number[]) => {
    const tensor = ledger.within('trainable', () => backend.upload(get(name, shape).data, shape));
    onTrainable(param(name, tensor));
    return tensor;
  };
  return { backend, ledger, weights, config, init, get, frozen, trainable };
}

/** The layers of the block whose tensors are named `${prefix}norm1.weight` …, with branches per `plan`. */
export function blockLayers(parts: BlockParts, prefix: string, plan: TuningPlan | null, full: boolean): BlockLayers {
  const { backend: b, ledger, weights, config, get, frozen, trainable } = parts;
  const D = config.dim;
  const hidden = config.mlpRatio * D;
  const qkv = splitQkv(weights, prefix, D);
  const linear = (name: LinearName, dIn: number, dOut: number) => {
    const path = `${prefix}${LINEAR_PATH[name]}`;
    const w = ledger.within('frozen', () => b.upload((qkv?.[`${name}.weight`] ?? get(`${path}.weight`, [dOut, dIn])).data, [dOut, dIn]));
    const bias = ledger.within('frozen', () => b.upload((qkv?.[`${name}.bias`] ?? get(`${path}.bias`, [dOut])).data, [dOut]));
    const carries = plan && plan.method !== 'full' && plan.targets.includes(name);
    const branchName = `${prefix}${BRANCH_PREFIX[name]}.learnable`;
    const spec: BranchSpec | null = carries
      ? {
          kind: plan.method as BranchSpec['kind'],
          rank: plan.rank, kernelHeads: plan.kernelHeads, sparsity: plan.sparsity,
          coeff: storedCoeff(weights, branchName, plan.kernelHeads),
          dropout: name === 'proj' ? 0 : plan.branchDropout, dropPath: plan.branchDropPath,
        }
      : null;
    const branchInit = spec ? branchValues(weights, branchName, spec, dIn, dOut, parts.init) : null;
    return new Linear(b, ledger, path, branchName, dIn, dOut, w, bias, spec, branchInit, full);
  };
  const norm = (name: string) => (full
    ? { w: trainable(`${prefix}${name}.weight`, [D]), b: trainable(`${prefix}${name}.bias`, [D]) }
    : { w: frozen(`${prefix}${name}.weight`, [D]), b: frozen(`${prefix}${name}.bias`, [D]) });
  return {
    norm1: norm('norm1'), norm2: norm('norm2'),
    q: linear('q', D, D), k: linear('k', D, D), v: linear('v', D, D), proj: linear('proj', D, D),
    fc1: linear('fc1', D, hidden), fc2: linear('fc2', hidden, D),
  };
}

/** The kernel coefficients a checkpoint stores for a branch (shared_coeff_fc [H, 1, 1]), if any. */
function storedCoeff(weights: Weights, branchName: string, heads: number): number[] | undefined {
  const c = weights.get(`${branchName}.shared_coeff_fc`);
  if (!c) return undefined;
  if (c.data.length !== heads) {
    throw new AdapterConfigError(`tensor "${branchName}.shared_coeff_fc" holds ${c.data.length} coefficients for ${heads} kernel heads`);
  }
  return Array.from(c.data);
}

/** timm's fused qkv [3D, D] split into q, k, v rows, when the checkpoint has it. */
function splitQkv(weights: Weights, prefix: string, D: number): Record<string, NamedArray> | null {
  const w = weights.get(`${prefix}attn.qkv.weight`);
  if (!w) return null;
  if (w.data.length !== 3 * D * D) {
    throw new AdapterConfigError(`tensor "${prefix}attn.qkv.weight" has shape [${w.shape.join(', ')}], expected [${3 * D}, ${D}]`);
  }
  const bias = weights.get(`${prefix}attn.qkv.bias`);
  const out: Record<string, NamedArray> = {};
  ['q', 'k', 'v'].forEach((name, i) => {
    out[`${name}.weight`] = { shape: [D, D], data: w.data.subarray(i * D * D, (i + 1) * D * D) };
    out[`${name}.bias`] = { shape: [D], data: bias ? bias.data.subarray(i * D, (i + 1) * D) : new Float32Array(D) };
  });
  return out;
}

/**
 * A branch's initial values: from the checkpoint when present, else what the reference trains from:
 * kaiming_uniform(a = √5) on SNELL's In_Qs/Out_Qs (uniform ±1/√fan_in, fan_in = rows·r/H); LoRA's two
 * projections N(0, 0.02²), since the reference model re-initialises every nn.Linear, its LoRA branch's
 * included, with trunc_normal_(std 0.02) after building it (init_weights → _init_vit_weights), which
 * replaces the branch's own kaiming-uniform down and zero up projection; SNELLA's α = 1, γ = 1, β = 0;
 * a dense ΔW zero.
 */
function branchValues(weights: Weights, prefix: string, spec: BranchSpec, dIn: number, dOut: number, next: () => number): Record<string, Float32Array> {
  if (spec.kind === 'dense') return { delta: weights.get(`${prefix}.delta`)?.data ?? new Float32Array(dIn * dOut) };
  const k = spec.rank / spec.kernelHeads;
  const uniform = (rows: number) => {
    const bound = 1 / Math.sqrt(rows * k);
    return Float32Array.from({ length: spec.kernelHeads * rows * k }, () => (2 * next() - 1) * bound);
  };
  const stored = (key: string) => weights.get(`${prefix}.${key}`)?.data;
  const normal = truncatedNormal(next);
  const lora = (rows: number) => Float32Array.from({ length: spec.kernelHeads * rows * k }, () => normal(0.02));
  const fresh = spec.kind === 'lora' ? lora : uniform;
  const values: Record<string, Float32Array> = { In_Qs: stored('In_Qs') ?? fresh(dIn), Out_Qs: stored('Out_Qs') ?? fresh(dOut) };
  if (spec.kind === 'snella') {
    values.alpha = stored('alpha') ?? Float32Array.of(1);
    values.gamma = stored('gamma') ?? Float32Array.of(1);
    values.beta = stored('beta') ?? Float32Array.of(0);
  }
  return values;
}
