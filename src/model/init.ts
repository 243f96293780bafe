// Fresh ViT weights in the model's naming (timm's, with q, k, v separate), initialised as timm does: linear and patch weights and
// pos_embed ~ N(0, 0.02²) truncated at ±2σ, cls_token ~ N(0, 1e-6²), biases 0, LayerNorms (1, 0).
// For training from scratch, for tests, and (as zeros) for memory estimates at real sizes.

import { rng } from '../core/random.js';
import type { NamedArray } from '../core/weights.js';
import type { ViTConfig } from './config.js';

type Init = 'normal' | 'tiny' | 'zeros' | 'ones';

/** Every tensor of the model with its shape and how timm initialises it. */
export function vitTensors(c: ViTConfig): Array<[string, number[], Init]> {
  const D = c.dim;
  const H = c.mlpRatio * D;
  const out: Array<[string, number[], Init]> = [];
  if (c.patchDim !== null) {
    out.push(
      ['patch_embed.proj.weight', [D, c.patchDim], 'normal'],
      ['patch_embed.proj.bias', [D], 'zeros'],
      ['cls_token', [1, 1, D], 'tiny'],
      ['pos_embed', [1, c.tokens, D], 'normal'],
    );
  }
  for (let n = 0; n < c.depth; n++) {
    const p = `blocks.${n}.`;
    for (const norm of ['norm1', 'norm2']) out.push([`${p}${norm}.weight`, [D], 'ones'], [`${p}${norm}.bias`, [D], 'zeros']);
    // q, k, v in turn draw what timm's fused attn.qkv [3D, D] draws: its rows in that order
    for (const [name, dIn, dOut] of [
      ['attn.q', D, D],
      ['attn.k', D, D],
      ['attn.v', D, D],
      ['attn.proj', D, D],
      ['mlp.fc1', D, H],
      ['mlp.fc2', H, D],
    ] as const) {
      out.push([`${p}${name}.weight`, [dOut, dIn], 'normal'], [`${p}${name}.bias`, [dOut], 'zeros']);
    }
  }
  out.push(
    ['norm.weight', [D], 'ones'],
    ['norm.bias', [D], 'zeros'],
    ['head.weight', [c.classes, D], 'normal'],
    ['head.bias', [c.classes], 'zeros'],
  );
  return out;
}

/** N(0, std²) truncated at ±2σ (Box–Muller over `next`, redrawn outside), as timm's trunc_normal_(std) draws for std ≪ 1. */
export function truncatedNormal(next: () => number): (std: number) => number {
  return (std) => {
    for (;;) {
      const z = Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
      if (Math.abs(z) <= 2) return z * std;
    }
  };
}

/** timm's initialisation, seeded; with `zeros`, every tensor zero-filled (shapes only matter). */
export function initViTWeights(c: ViTConfig, seed: number, zeros = false): Map<string, NamedArray> {
  const normal = truncatedNormal(rng(seed));
  const fill: Record<Init, () => number> = {
    normal: () => normal(0.02),
    tiny: () => normal(1e-6),
    zeros: () => 0,
    ones: () => 1,
  };
  return new Map(
    vitTensors(c).map(([name, shape, init]) => {
      const size = shape.reduce((a, d) => a * d, 1);
      return [name, { shape, data: zeros ? new Float32Array(size) : Float32Array.from({ length: size }, fill[init]) }];
    }),
  );
}
