// One pre-LayerNorm transformer block (timm's ViT Block), tokens x [B, T, D]:
//   h1 = LN1(x);  a = Attn(q(h1), k(h1), v(h1));  x1 = x + DP(proj(a))
//   h2 = LN2(x1); y = x1 + DP(fc2(GELU(fc1(h2))))
// DP is stochastic depth (per sample, rate depthRate) while training; the branches' own noise sites
// are in noise.ts (one dropout mask of h1 feeds the q, k and v branches). Backward walks the same
// graph in reverse with the same masks; the activations kept between the two are listed in Saved.

import type { Backend, Tensor } from '../backend.js';
import type { BranchNoise, Linear } from './linear.js';
import type { MemoryLedger } from './memory.js';
import type { NoiseSite, NoiseSource } from './noise.js';
import type { Param } from './param.js';

export interface BlockLayers {
  norm1: { w: Tensor; b: Tensor };
  norm2: { w: Tensor; b: Tensor };
  q: Linear;
  k: Linear;
  v: Linear;
  proj: Linear;
  fc1: Linear;
  fc2: Linear;
}

/** Activations kept for the backward pass. */
interface Saved {
  x: Tensor;
  h1: Tensor;
  mean1: Tensor;
  rstd1: Tensor;
  q: Tensor;
  k: Tensor;
  v: Tensor;
  probs: Tensor;
  a: Tensor;
  x1: Tensor;
  h2: Tensor;
  mean2: Tensor;
  rstd2: Tensor;
  f1: Tensor;
  g: Tensor;
}

/** A training step's noise for one block (null: no noise): its source, the block's index and its stochastic depth rate. */
export type BlockNoise = { source: NoiseSource; block: number; depthRate: number } | null;

type LinearName = 'q' | 'k' | 'v' | 'proj' | 'fc1' | 'fc2';
const BRANCH_SITES: Record<LinearName, { dropout: NoiseSite | null; dropPath: NoiseSite }> = {
  q: { dropout: 'attn.branch_dropout', dropPath: 'attn.q.droppath' },
  k: { dropout: 'attn.branch_dropout', dropPath: 'attn.k.droppath' },
  v: { dropout: 'attn.branch_dropout', dropPath: 'attn.v.droppath' },
  proj: { dropout: null, dropPath: 'attn.proj.droppath' },
  fc1: { dropout: 'mlp.fc1_dropout', dropPath: 'mlp.fc1.droppath' },
  fc2: { dropout: 'mlp.fc2_dropout', dropPath: 'mlp.fc2.droppath' },
};

function branchNoise(noise: BlockNoise, name: LinearName): BranchNoise | null {
  return noise && { source: noise.source, block: noise.block, ...BRANCH_SITES[name] };
}

export class Block {
  private saved: Saved | null = null;

  constructor(
    private readonly b: Backend,
    private readonly ledger: MemoryLedger,
    readonly layers: BlockLayers,
    private readonly heads: number,
    private readonly eps: number,
    /** norm1.w, norm1.b, norm2.w, norm2.b when the LayerNorms train (full fine-tuning), else empty. */
    readonly normParams: Param[] = [],
  ) {}

  get linears(): Linear[] {
    const l = this.layers;
    return [l.q, l.k, l.v, l.proj, l.fc1, l.fc2];
  }

  /** y [B, T, D]; with `keep`, the activations stay for backward (x is kept, not copied: do not free it). */
  forward(x: Tensor, noise: BlockNoise, keep: boolean): Tensor {
    const { b, layers: L } = this;
    const [B, T, D] = x.shape;
    const rows = B * T;
    return this.ledger.within(keep ? 'activations' : 'scratch', () => {
      const [h1, mean1, rstd1] = [b.zeros([B, T, D]), b.zeros([rows]), b.zeros([rows])];
      b.layerNorm(x, L.norm1.w, L.norm1.b, this.eps, h1, mean1, rstd1);
      const q = L.q.forward(h1, branchNoise(noise, 'q'));
      const k = L.k.forward(h1, branchNoise(noise, 'k'));
      const v = L.v.forward(h1, branchNoise(noise, 'v'));
      const [a, probs] = [b.zeros([B, T, D]), b.zeros([B, this.heads, T, T])];
      b.attention(q, k, v, this.heads, a, probs);
      const p = this.depth(L.proj.forward(a, branchNoise(noise, 'proj')), noise, 'block.attn_droppath');
      const x1 = b.zeros([B, T, D]);
      b.add(x, p, x1);
      b.free(p);
      const [h2, mean2, rstd2] = [b.zeros([B, T, D]), b.zeros([rows]), b.zeros([rows])];
      b.layerNorm(x1, L.norm2.w, L.norm2.b, this.eps, h2, mean2, rstd2);
      const f1 = L.fc1.forward(h2, branchNoise(noise, 'fc1'));
      const g = b.zeros(f1.shape);
      b.gelu(f1, g);
      const f2 = this.depth(L.fc2.forward(g, branchNoise(noise, 'fc2')), noise, 'block.mlp_droppath');
      const y = b.zeros([B, T, D]);
      b.add(x1, f2, y);
      b.free(f2);
      if (keep) {
        this.saved = { x, h1, mean1, rstd1, q, k, v, probs, a, x1, h2, mean2, rstd2, f1, g };
      } else {
        for (const t of [h1, mean1, rstd1, q, k, v, probs, a, x1, h2, mean2, rstd2, f1, g]) b.free(t);
      }
      return y;
    });
  }

  /** dx [B, T, D] from dy; sets the gradients of every trainable tensor; frees the kept activations. */
  backward(dy: Tensor, noise: BlockNoise): Tensor {
    const s = this.saved;
    if (!s) throw new Error('Block.backward needs a forward pass with keep = true first');
    const { b, layers: L } = this;
    const np = this.normParams;
    for (const p of np) p.grad = this.ledger.within('gradients', () => b.zeros(p.tensor.shape));
    return this.ledger.within('scratch', () => {
      // MLP half: y = x1 + DP(fc2(gelu(fc1(LN2(x1)))))
      const dm = this.depth(dy, noise, 'block.mlp_droppath', false);
      const dg = L.fc2.backward(dm, s.g, branchNoise(noise, 'fc2'));
      if (dm !== dy) b.free(dm);
      const df1 = b.zeros(s.f1.shape);
      b.geluBackward(dg, s.f1, df1);
      b.free(dg);
      const dh2 = L.fc1.backward(df1, s.h2, branchNoise(noise, 'fc1'));
      b.free(df1);
      const dx1 = b.zeros(dy.shape);
      b.layerNormBackward(dh2, s.x1, L.norm2.w, s.mean2, s.rstd2, dx1, np[2]?.grad ?? null, np[3]?.grad ?? null);
      b.free(dh2);
      b.addInto(dx1, dy);
      // attention half: x1 = x + DP(proj(attn(q, k, v of LN1(x))))
      const dp = this.depth(dx1, noise, 'block.attn_droppath', false);
      const da = L.proj.backward(dp, s.a, branchNoise(noise, 'proj'));
      if (dp !== dx1) b.free(dp);
      const [dq, dk, dv] = [b.zeros(dy.shape), b.zeros(dy.shape), b.zeros(dy.shape)];
      b.attentionBackward(da, s.q, s.k, s.v, s.probs, this.heads, dq, dk, dv);
      b.free(da);
      const dh1 = L.q.backward(dq, s.h1, branchNoise(noise, 'q'));
      for (const [name, d] of [
        ['k', dk],
        ['v', dv],
      ] as const) {
        const part = L[name].backward(d, s.h1, branchNoise(noise, name));
        b.addInto(dh1, part);
        b.free(part);
      }
      for (const t of [dq, dk, dv]) b.free(t);
      const dx = b.zeros(dy.shape);
      b.layerNormBackward(dh1, s.x, L.norm1.w, s.mean1, s.rstd1, dx, np[0]?.grad ?? null, np[1]?.grad ?? null);
      b.free(dh1);
      b.addInto(dx, dx1);
      b.free(dx1);
      this.release();
      return dx;
    });
  }

  /**
   * Stochastic depth of a residual branch's output t (or of its gradient): a new tensor, t itself when
   * there is no noise; with `consume`, t is freed once replaced.
   */
  private depth(t: Tensor, noise: BlockNoise, site: NoiseSite, consume = true): Tensor {
    if (!noise || noise.depthRate === 0) return t;
    const out = this.b.zeros(t.shape);
    noise.source.apply(noise.block, site, t, noise.depthRate, out);
    if (consume) this.b.free(t);
    return out;
  }

  /** Frees the kept activations (x belongs to the caller). */
  release(): void {
    const s = this.saved;
    if (!s) return;
    for (const [key, t] of Object.entries(s)) if (key !== 'x') this.b.free(t);
    this.saved = null;
  }
}
