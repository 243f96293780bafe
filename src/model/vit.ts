// The Vision Transformer (timm's ViT) with trainable branches on its linears.
//
//   tokens = [cls; patches·Wpᵀ + bp] + pos          patches [B, T−1, C·p·p] → [B, T, D]   (or tokens given)
//   x = blocks(tokens);  z = pool(LN(x));  logits = z·Whᵀ + bh;  loss = CE(logits, labels)
//
// Weights use the model's names, timm's with q, k, v separate (blocks.N.attn.q.weight …; adapters as
// blocks.N.attn.additional_q.learnable.In_Qs …); io/'s loadCheckpoint reads any stored layout into them. What trains follows the plan: the branches, the head
// and cls_token always; with `full`, every tensor. Frozen tensors get no gradient and no optimizer state.

import { AdapterConfigError } from '../adapter/config.js';
import type { Backend, Tensor } from '../backend.js';
import { rng } from '../core/random.js';
import type { Weights } from '../core/weights.js';
import { Block, type BlockNoise } from './block.js';
import { blockLayers, blockParts } from './block-weights.js';
import { type NoiseSource, seededNoise } from './noise.js';
import { type TuningPlan, type ViTConfig, checkViTConfig } from './config.js';
import { type AdaptedLayer, Linear } from './linear.js';
import { MemoryLedger, tracked, type MemoryReport } from './memory.js';
import type { Param } from './param.js';

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
  private saved: {
    blockInputs: Tensor[];
    last: Tensor;
    normed: Tensor;
    mean: Tensor;
    rstd: Tensor;
    pooled: Tensor;
    input: Tensor;
  } | null = null;
  private noise: NoiseSource | null = null;

  constructor(
    backend: Backend,
    readonly config: ViTConfig,
    weights: Weights,
    readonly options: ViTOptions,
  ) {
    checkViTConfig(config);
    this.backend = tracked(backend, this.ledger);
    const b = this.backend;
    const full = options.plan?.method === 'full';
    const { dim: D, classes, tokens: T } = config;
    const init = rng(options.seed);
    const parts = blockParts(b, this.ledger, weights, config, init, (p) => this.extraParams.push(p));
    const { frozen, trainable } = parts;

    if (config.patchDim !== null) {
      this.patch = new Linear(
        b,
        this.ledger,
        'patch_embed.proj',
        '',
        config.patchDim,
        D,
        frozen('patch_embed.proj.weight', [D, config.patchDim]),
        frozen('patch_embed.proj.bias', [D]),
        null,
        null,
        full,
      );
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
    const named = new Set(this.adaptedLayers().map((l) => l.name));
    const stray = Object.keys(plan?.layerSparsity ?? {}).filter((name) => !named.has(name));
    if (stray.length) {
      throw new AdapterConfigError(
        `the plan sets the sparsity of ${stray.join(', ')}, which carry no branch here: name branches as blocks.N.attn.additional_q.learnable, …`,
      );
    }
    this.norm = full
      ? { w: trainable('norm.weight', [D]), b: trainable('norm.bias', [D]) }
      : { w: frozen('norm.weight', [D]), b: frozen('norm.bias', [D]) };
    this.head = new Linear(
      b,
      this.ledger,
      'head',
      '',
      D,
      classes,
      this.ledger.within('trainable', () => b.upload(parts.get('head.weight', [classes, D]).data, [classes, D])),
      this.ledger.within('trainable', () => b.upload(parts.get('head.bias', [classes]).data, [classes])),
      null,
      null,
      true,
    );
  }

  /** Every trainable tensor, each once. */
  params(): Param[] {
    const linears = [...(this.patch ? [this.patch] : []), ...this.blocks.flatMap((bl) => bl.linears), this.head];
    return [...this.extraParams, ...this.blocks.flatMap((bl) => bl.normParams), ...linears.flatMap((l) => l.params)];
  }

  /** The SNELL-family branches, block by block, each block's q, k, v, proj, fc1, fc2 in that order. */
  adaptedLayers(): AdaptedLayer[] {
    return this.blocks.flatMap((bl) => bl.linears.flatMap((l) => l.adapted ?? []));
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
