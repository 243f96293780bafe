// Fresh ViT weights in timm's naming, initialised as timm does: linear and patch weights and
// pos_embed ~ N(0, 0.02²) truncated at ±2σ, cls_token ~ N(0, 1e-6²), biases 0, LayerNorms (1, 0).
// For training from scratch, for tests, and for memory measurements at real sizes.

import { rng } from '../reference/random.js';
import type { ViTConfig } from './config.js';
import type { NamedArray } from './vit.js';

export function initViTWeights(c: ViTConfig, seed: number): Map<string, NamedArray> {
  const next = rng(seed);
  const normal = (std: number) => {
    for (;;) {
      const z = Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
      if (Math.abs(z) <= 2) return z * std;
    }
  };
  const w = new Map<string, NamedArray>();
  const put = (name: string, shape: number[], fill: () => number) => {
    const size = shape.reduce((a, d) => a * d, 1);
    w.set(name, { shape, data: Float32Array.from({ length: size }, fill) });
  };
  const D = c.dim;
  const H = c.mlpRatio * D;
  if (c.patchDim !== null) {
    put('patch_embed.proj.weight', [D, c.patchDim], () => normal(0.02));
    put('patch_embed.proj.bias', [D], () => 0);
    put('cls_token', [1, 1, D], () => normal(1e-6));
    put('pos_embed', [1, c.tokens, D], () => normal(0.02));
  }
  for (let n = 0; n < c.depth; n++) {
    const p = `blocks.${n}.`;
    for (const norm of ['norm1', 'norm2']) {
      put(`${p}${norm}.weight`, [D], () => 1);
      put(`${p}${norm}.bias`, [D], () => 0);
    }
    put(`${p}attn.qkv.weight`, [3 * D, D], () => normal(0.02));
    put(`${p}attn.qkv.bias`, [3 * D], () => 0);
    for (const [name, dIn, dOut] of [['attn.proj', D, D], ['mlp.fc1', D, H], ['mlp.fc2', H, D]] as const) {
      put(`${p}${name}.weight`, [dOut, dIn], () => normal(0.02));
      put(`${p}${name}.bias`, [dOut], () => 0);
    }
  }
  put('norm.weight', [D], () => 1);
  put('norm.bias', [D], () => 0);
  put('head.weight', [c.classes, D], () => normal(0.02));
  put('head.bias', [c.classes], () => 0);
  return w;
}
