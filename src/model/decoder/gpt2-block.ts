// One GPT-2 block (transformers' GPT2Block), x [B, T, E]:
//   n1 = LN_1(x);  z = c_attn(n1) [B, T, 3E];  q, k, v = z[..., 0:E], z[..., E:2E], z[..., 2E:3E]
//   h = x + attn.c_proj(Attn(q, k, v))       causal, padded keys masked (the split follows the adapter)
//   n2 = LN_2(h);  y = h + mlp.c_proj(gelu_new(c_fc(n2)))
// Backward walks the same graph in reverse; q, k, v's gradients go back into their columns of dz.
// decode is the same block for generation, attending the KV cache (kv-cache.ts) after writing into it.

import type { Backend, Tensor } from '../../backend.js';
import type { Linear } from '../linear.js';
import type { MemoryLedger } from '../memory.js';
import type { DecoderConfig } from './config.js';
import type { CacheStep, KvCache } from './kv-cache.js';
import { addFrom, attentionOptions, type DecoderLayer, type Sequence } from './layer.js';

interface Norm {
  w: Tensor;
  b: Tensor;
}

interface Saved {
  x: Tensor;
  n1: Tensor;
  mean1: Tensor;
  rstd1: Tensor;
  q: Tensor;
  k: Tensor;
  v: Tensor;
  probs: Tensor;
  a: Tensor;
  h: Tensor;
  n2: Tensor;
  mean2: Tensor;
  rstd2: Tensor;
  f: Tensor;
  g: Tensor;
  seq: Sequence;
}

export class Gpt2Block implements DecoderLayer {
  private saved: Saved | null = null;

  constructor(
    private readonly b: Backend,
    private readonly ledger: MemoryLedger,
    private readonly c: DecoderConfig,
    private readonly norms: { ln1: Norm; ln2: Norm },
    readonly linears: readonly [Linear, Linear, Linear, Linear],
    /** The gradient a trainable norm tensor accumulates into in this backward pass; null when frozen. */
    private readonly gradOf: (t: Tensor) => Tensor | null = () => null,
  ) {}

  forward(x: Tensor, seq: Sequence, keep: boolean): Tensor {
    const { b, c } = this;
    const [Lattn, Lproj, Lfc, Lmlp] = this.linears;
    const { B, T } = seq;
    const E = c.hidden;
    return this.ledger.within(keep ? 'activations' : 'scratch', () => {
      const [n1, mean1, rstd1] = [b.zeros([B, T, E]), b.zeros([B * T]), b.zeros([B * T])];
      b.layerNorm(x, this.norms.ln1.w, this.norms.ln1.b, c.normEps, n1, mean1, rstd1);
      const z = Lattn.forward(n1, null);
      const [q, k, v] = [0, 1, 2].map((i) => {
        const part = b.zeros([B, T, E]);
        b.sliceColumns(z, i * E, part);
        return part;
      });
      b.free(z);
      const [a, probs] = [b.zeros([B, T, E]), b.zeros([B, c.heads, T, T])];
      b.attention(q!, k!, v!, c.heads, a, probs, attentionOptions(seq, c.heads));
      const o = Lproj.forward(a, null);
      const h = b.zeros([B, T, E]);
      b.add(x, o, h);
      b.free(o);
      const [n2, mean2, rstd2] = [b.zeros([B, T, E]), b.zeros([B * T]), b.zeros([B * T])];
      b.layerNorm(h, this.norms.ln2.w, this.norms.ln2.b, c.normEps, n2, mean2, rstd2);
      const f = Lfc.forward(n2, null);
      const g = b.zeros(f.shape);
      b.geluTanh(f, g);
      const m = Lmlp.forward(g, null);
      const y = b.zeros([B, T, E]);
      b.add(h, m, y);
      b.free(m);
      const kept = { x, n1, mean1, rstd1, q: q!, k: k!, v: v!, probs, a, h, n2, mean2, rstd2, f, g, seq };
      if (keep) this.saved = kept;
      else for (const t of activations(kept)) b.free(t);
      return y;
    });
  }

  decode(x: Tensor, cache: KvCache, l: number, step: CacheStep): Tensor {
    const { b, c } = this;
    const [Lattn, Lproj, Lfc, Lmlp] = this.linears;
    const { B, T } = step;
    const E = c.hidden;
    return this.ledger.within('scratch', () => {
      const [n1, mean1, rstd1] = [b.zeros([B, T, E]), b.zeros([B * T]), b.zeros([B * T])];
      b.layerNorm(x, this.norms.ln1.w, this.norms.ln1.b, c.normEps, n1, mean1, rstd1);
      const z = Lattn.forward(n1, null);
      const [q, k, v] = [0, 1, 2].map((i) => {
        const part = b.zeros([B, T, E]);
        b.sliceColumns(z, i * E, part);
        return part;
      }) as [Tensor, Tensor, Tensor];
      cache.write(l, k, v, step);
      const [a, probs] = [b.zeros([B, T, E]), b.zeros([B, c.heads, T, cache.capacity])];
      b.attention(q, cache.keys[l]!, cache.values[l]!, c.heads, a, probs, cache.attentionOptions(step, c.heads));
      const o = Lproj.forward(a, null);
      const h = b.zeros([B, T, E]);
      b.add(x, o, h);
      const [n2, mean2, rstd2] = [b.zeros([B, T, E]), b.zeros([B * T]), b.zeros([B * T])];
      b.layerNorm(h, this.norms.ln2.w, this.norms.ln2.b, c.normEps, n2, mean2, rstd2);
      const f = Lfc.forward(n2, null);
      const g = b.zeros(f.shape);
      b.geluTanh(f, g);
      const m = Lmlp.forward(g, null);
      const y = b.zeros([B, T, E]);
      b.add(h, m, y);
      for (const t of [n1, mean1, rstd1, z, q, k, v, a, probs, o, h, n2, mean2, rstd2, f, g, m]) b.free(t);
      return y;
    });
  }

  backward(dy: Tensor): Tensor {
    const s = this.saved;
    if (!s) throw new Error('Gpt2Block.backward needs a forward pass with keep = true first');
    const { b, c } = this;
    const [Lattn, Lproj, Lfc, Lmlp] = this.linears;
    const E = c.hidden;
    return this.ledger.within('scratch', () => {
      // MLP half: y = h + c_proj(gelu_new(c_fc(LN_2(h))))
      const dg = Lmlp.backward(dy, s.g, null);
      const df = b.zeros(s.f.shape);
      b.geluTanhBackward(dg, s.f, df);
      b.free(dg);
      const dn2 = Lfc.backward(df, s.n2, null);
      b.free(df);
      const dh = b.zeros(dy.shape);
      const ln2 = this.norms.ln2;
      b.layerNormBackward(dn2, s.h, ln2.w, s.mean2, s.rstd2, dh, this.gradOf(ln2.w), this.gradOf(ln2.b));
      b.free(dn2);
      b.addInto(dh, dy);
      // attention half: h = x + c_proj(attn(split(c_attn(LN_1(x)))))
      const da = Lproj.backward(dh, s.a, null);
      const [dq, dk, dv] = [b.zeros(s.q.shape), b.zeros(s.k.shape), b.zeros(s.v.shape)];
      b.attentionBackward(da, s.q, s.k, s.v, s.probs, c.heads, dq, dk, dv, attentionOptions(s.seq, c.heads));
      b.free(da);
      const dz = b.zeros([s.seq.B, s.seq.T, 3 * E]);
      [dq, dk, dv].forEach((d, i) => {
        b.addColumns(dz, i * E, d);
        b.free(d);
      });
      const dn1 = Lattn.backward(dz, s.n1, null);
      b.free(dz);
      const dx = b.zeros(dy.shape);
      const ln1 = this.norms.ln1;
      b.layerNormBackward(dn1, s.x, ln1.w, s.mean1, s.rstd1, dx, this.gradOf(ln1.w), this.gradOf(ln1.b));
      b.free(dn1);
      addFrom(b, dx, dh);
      this.release();
      return dx;
    });
  }

  release(): void {
    if (this.saved) for (const t of activations(this.saved)) this.b.free(t);
    this.saved = null;
  }
}

function activations(s: Saved): Tensor[] {
  return [s.n1, s.mean1, s.rstd1, s.q, s.k, s.v, s.probs, s.a, s.h, s.n2, s.mean2, s.rstd2, s.f, s.g];
}
