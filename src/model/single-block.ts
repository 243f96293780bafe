// One transformer block on its own (block.ts), built from weights named as a ViT block's without the
// `blocks.N.` prefix (norm1.weight, attn.q.weight, …, and the branches' tensors):
// tokens x [B, T, D] → y [B, T, D], and backward dy → dx with every branch parameter's gradient.
// What the block golden vectors check, through the same layers a ViT builds.

import type { Backend, Tensor } from '../backend.js';
import type { Weights } from '../core/weights.js';
import { Block, type BlockNoise } from './block.js';
import { blockLayers, blockParts } from './block-weights.js';
import type { TuningPlan, ViTConfig } from './config.js';
import { MemoryLedger, tracked } from './memory.js';
import type { Param } from './param.js';

export interface SingleBlock {
  /** The backend the block allocates on (tensors it returns are freed through it). */
  readonly backend: Backend;
  /** y [B, T, D] for x [B, T, D]; with `train`, activations are kept for `backward`. */
  forward(x: Tensor, noise: BlockNoise, train: boolean): Tensor;
  /** dx [B, T, D] for dy; sets the gradient of every parameter in `params()`. */
  backward(dy: Tensor, noise: BlockNoise): Tensor;
  /** The branches' trainable tensors, each once. */
  params(): Param[];
}

/** The block of `config` (dim, heads, mlpRatio, eps) with `plan`'s branches on its linears; fresh branches start at zero. */
export function singleBlock(backend: Backend, config: ViTConfig, weights: Weights, plan: TuningPlan): SingleBlock {
  const ledger = new MemoryLedger();
  const b = tracked(backend, ledger);
  const parts = blockParts(
    b,
    ledger,
    weights,
    config,
    () => 0,
    () => {},
  );
  const block = new Block(b, ledger, blockLayers(parts, '', plan, false), config.heads, config.eps);
  return {
    backend: b,
    forward: (x, noise, train) => block.forward(x, noise, train),
    backward: (dy, noise) => block.backward(dy, noise),
    params: () => block.linears.flatMap((l) => l.params),
  };
}
