// Vision Transformer configuration (timm's ViT: pre-LayerNorm blocks, eps 1e-6, exact GELU) and the
// tuning plan: which linears carry a trainable branch, of what method, and the branch regularisers.

import type { PoolMode } from '../backend.js';
import { AdapterConfigError } from '../adapter/config.js';

export interface ViTConfig {
  /** Width D of the token embeddings. */
  dim: number;
  depth: number;
  /** Attention heads (D must be divisible by it). */
  heads: number;
  /** MLP hidden width = mlpRatio·D. */
  mlpRatio: number;
  classes: number;
  /** Tokens per image including the cls token when `embed` is set, else the input's token count. */
  tokens: number;
  /** Patch embedding: pixels per patch vector (C·p·p), or null for a trunk that takes tokens directly. */
  patchDim: number | null;
  pooling: PoolMode;
  eps: number;
}

export const VIT_PRESETS = {
  tiny: { dim: 192, depth: 12, heads: 3 },
  small: { dim: 384, depth: 12, heads: 6 },
  base: { dim: 768, depth: 12, heads: 12 },
} as const;

/** A ViT of a preset size for images of `imageSize`² with `channels`, split into `patchSize`² patches. */
export function vitConfig(
  size: keyof typeof VIT_PRESETS,
  options: { imageSize?: number; patchSize?: number; channels?: number; classes: number; pooling?: PoolMode },
): ViTConfig {
  const { imageSize = 224, patchSize = 16, channels = 3, classes, pooling = 'cls' } = options;
  if (imageSize % patchSize !== 0)
    throw new AdapterConfigError(`image size ${imageSize} is not a multiple of the patch size ${patchSize}`);
  const patches = (imageSize / patchSize) ** 2;
  return {
    ...VIT_PRESETS[size],
    mlpRatio: 4,
    classes,
    tokens: patches + 1,
    patchDim: channels * patchSize * patchSize,
    pooling,
    eps: 1e-6,
  };
}

/** What trains in each target linear: a SNELL-family branch, LoRA, a dense ΔW (sparse tuning as earlier methods store it), or the weight itself. */
export type TuneMethod = 'snell' | 'snella' | 'klora' | 'lora' | 'dense' | 'full';

export const LINEAR_NAMES = ['q', 'k', 'v', 'proj', 'fc1', 'fc2'] as const;
export type LinearName = (typeof LINEAR_NAMES)[number];

export interface TuningPlan {
  method: TuneMethod;
  rank: number;
  /** Kernel heads H of the SNELL branch. */
  kernelHeads: number;
  sparsity: number;
  /** Which linears of each block carry the branch (default all six, as in the paper). */
  targets: readonly LinearName[];
  /** Blocks [first, last) that carry branches (default all). */
  blocks?: readonly [number, number];
  /** Dropout on the branch input (q, k, v, fc1, fc2; never proj) while training. */
  branchDropout: number;
  /** DropPath on the branch output while training. */
  branchDropPath: number;
  /**
   * Sparsities of single branches by name (`blocks.0.attn.additional_q.learnable`), over `sparsity`:
   * what SNELLA's allocator handed out, so a saved adapter reproduces its masks.
   */
  layerSparsity?: Readonly<Record<string, number>>;
}

export const DEFAULT_PLAN: TuningPlan = {
  method: 'snell',
  rank: 8,
  kernelHeads: 2,
  sparsity: 0.9,
  targets: LINEAR_NAMES,
  branchDropout: 0.1,
  branchDropPath: 0.1,
};

/** Selects target linears by a name pattern (a RegExp source matched against q, k, v, proj, fc1, fc2). */
export function targetsMatching(pattern: string): LinearName[] {
  const re = new RegExp(`^(?:${pattern})$`);
  const hit = LINEAR_NAMES.filter((n) => re.test(n));
  if (hit.length === 0) throw new AdapterConfigError(`no linear matches "${pattern}": the names are ${LINEAR_NAMES.join(', ')}`);
  return hit;
}

export function checkViTConfig(c: ViTConfig): void {
  for (const key of ['dim', 'depth', 'heads', 'classes', 'tokens'] as const) {
    if (!Number.isInteger(c[key]) || c[key] < 1)
      throw new AdapterConfigError(`ViT ${key} must be a positive integer, got ${c[key]}`);
  }
  if (c.dim % c.heads !== 0) throw new AdapterConfigError(`ViT dim ${c.dim} is not divisible by its ${c.heads} attention heads`);
  if (!Number.isInteger(c.mlpRatio * c.dim))
    throw new AdapterConfigError(`mlpRatio ${c.mlpRatio} × dim ${c.dim} is not an integer width`);
}
