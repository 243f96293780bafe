// Training noise, site by site as the SNELL reference draws it (test/vectors/README.md, "Training
// noise"). In block n, with u = LN1(x), u2 = LN2(x1), h = GELU(fc1(u2)):
//   attn.branch_dropout   [B, T, D]   u, the input of the q, k and v branches (one mask for all three)
//   attn.{q,k,v,proj}.droppath [B]    the output of that branch (the proj branch's input is not dropped)
//   block.attn_droppath   [B]         the attention sub-block's output (stochastic depth)
//   mlp.fc1_dropout       [B, T, D]   u2, the input of the fc1 branch
//   mlp.fc2_dropout       [B, T, Hd]  h, the input of the fc2 branch
//   mlp.{fc1,fc2}.droppath [B]        the output of that branch
//   block.mlp_droppath    [B]         the MLP sub-block's output (stochastic depth)
// Dropout sites mask elements, DropPath sites whole samples (the leading dimension); both scale what
// they keep by 1/(1−p). The same call on a gradient is the backward pass.

import type { Backend, Tensor } from '../backend.js';

export const NOISE_SITES = [
  'attn.branch_dropout',
  'attn.q.droppath',
  'attn.k.droppath',
  'attn.v.droppath',
  'attn.proj.droppath',
  'block.attn_droppath',
  'mlp.fc1_dropout',
  'mlp.fc1.droppath',
  'mlp.fc2_dropout',
  'mlp.fc2.droppath',
  'block.mlp_droppath',
] as const;
export type NoiseSite = (typeof NOISE_SITES)[number];

/** One keep/drop decision per sample (DropPath, stochastic depth) rather than per element (dropout). */
export const perSample = (site: NoiseSite): boolean => site.endsWith('droppath');

export interface NoiseSource {
  /** out = x·mask/(1−p) with site's mask in block `block`; p = 0 copies. */
  apply(block: number, site: NoiseSite, x: Tensor, p: number, out: Tensor): void;
}

/** The trainer's noise: the backends' hash RNG (Backend.dropout), seeded by (step, block, site). */
export function seededNoise(b: Backend, stepSeed: number): NoiseSource {
  return {
    apply(block, site, x, p, out) {
      const seed = mix(mix(stepSeed, block), NOISE_SITES.indexOf(site));
      if (perSample(site)) b.dropPath(x, p, seed, out);
      else b.dropout(x, p, seed, out);
    },
  };
}

/** Given 0/1 masks (the golden vectors' draws), by block and site; a site without a mask is an error. */
export function storedNoise(b: Backend, mask: (block: number, site: NoiseSite) => Tensor | null): NoiseSource {
  return {
    apply(block, site, x, p, out) {
      const m = mask(block, site);
      if (!m) throw new Error(`no stored mask for block ${block}, site ${site}`);
      b.maskScale(x, m, p < 1 ? 1 / (1 - p) : 0, out);
    },
  };
}

/** A 32-bit hash of two words (murmur3's finaliser on a ^ b), for distinct seeds per site. */
function mix(a: number, b: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ b;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
