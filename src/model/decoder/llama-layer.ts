// One LLaMA-family decoder layer (transformers' LlamaDecoderLayer), x [B, T, E]:
//   n1 = RMSNorm_in(x);  q, k, v = q_proj(n1), k_proj(n1), v_proj(n1);  q', k' = RoPE(q), RoPE(k)
//   h = x + o_proj(Attn(q', k', v))          causal, padded keys masked, KV heads each serving H/KV queries
//   n2 = RMSNorm_post(h);  y = h + down_proj(silu(gate_proj(n2))·up_proj(n2))
// Backward walks the same graph in reverse over the kept activations. decode is the same layer for
// generation: the step's keys and values go into the KV cache (kv-cache.ts), its queries attend all of it.

import type { Backend, Tensor } from '../../backend.js';
import type { Linear } from '../linear.js';
import type { MemoryLedger } from '../memory.js';
import type { DecoderConfig } from './config.js';
import type { CacheStep, KvCache } from './kv-cache.js';
import { addFrom, attentionOptions, type DecoderLayer, type Sequence } from './layer.js';

interface Saved {
  x: Tensor;
  n1: Tensor;
  rstd1: Tensor;
  q: Tensor;
  k: Tensor;
  v: Tensor;
  probs: Tensor;
  a: Tensor;
  h: Tensor;
  n2: Tensor;
  rstd2: Tensor;
  gate: Tensor;
  up: Tensor;
  s: Tensor;
  seq: Sequence;
}

export class LlamaLayer implements DecoderLayer {
  private saved: Saved | null = null;

  constructor(
    private readonly b: Backend,
    private readonly ledger: MemoryLedger,
    private readonly c: DecoderConfig,
    private readonly norms: { input: Tensor; post: Tensor },
    readonly linears: readonly [Linear, Linear, Linear, Linear, Linear, Linear, Linear],
    /** The gradient a trainable norm weight accumulates into in this backward pass; null when frozen. */
    private readonly gradOf: (t: Tensor) => Tensor | null = () => null,
  ) {}

  forward(x: Tensor, seq: Sequence, keep: boolean): Tensor {
    const { b, c } = this;
    const [Lq, Lk, Lv, Lo, Lgate, Lup, Ldown] = this.linears;
    const { B, T } = seq;
    const E = c.hidden;
    return this.ledger.within(keep ? 'activations' : 'scratch', () => {
      const [n1, rstd1] = [b.zeros([B, T, E]), b.zeros([B * T])];
      b.rmsNorm(x, this.norms.input, c.normEps, n1, rstd1);
      const [q, k, v] = [Lq.forward(n1, null), Lk.forward(n1, null), Lv.forward(n1, null)];
      b.rope(q, seq.rope!.cos, seq.rope!.sin, c.heads, 0, q);
      b.rope(k, seq.rope!.cos, seq.rope!.sin, c.kvHeads, 0, k);
      const [a, probs] = [b.zeros([B, T, c.heads * c.headDim]), b.zeros([B, c.heads, T, T])];
      b.attention(q, k, v, c.heads, a, probs, attentionOptions(seq, c.kvHeads));
      const o = Lo.forward(a, null);
      const h = b.zeros([B, T, E]);
      b.add(x, o, h);
      b.free(o);
      const [n2, rstd2] = [b.zeros([B, T, E]), b.zeros([B * T])];
      b.rmsNorm(h, this.norms.post, c.normEps, n2, rstd2);
      const [gate, up] = [Lgate.forward(n2, null), Lup.forward(n2, null)];
      const s = b.zeros(gate.shape);
      b.siluMul(gate, up, s);
      const d = Ldown.forward(s, null);
      const y = b.zeros([B, T, E]);
      b.add(h, d, y);
      b.free(d);
      const kept = { x, n1, rstd1, q, k, v, probs, a, h, n2, rstd2, gate, up, s, seq };
      if (keep) this.saved = kept;
      else for (const t of activations(kept)) b.free(t);
      return y;
    });
  }

  decode(x: Tensor, cache: KvCache, l: number, step: CacheStep): Tensor {
    const { b, c } = this;
    const [Lq, Lk, Lv, Lo, Lgate, Lup, Ldown] = this.linears;
    const { B, T } = step;
    const E = c.hidden;
    return this.ledger.within('scratch', () => {
      // the step's tokens as one row each, [1, B·T, ·], so RoPE reads each token's own table row
      const [n1, rstd1] = [b.zeros([1, B * T, E]), b.zeros([B * T])];
      b.rmsNorm(x, this.norms.input, c.normEps, n1, rstd1);
      const [q, k, v] = [Lq.forward(n1, null), Lk.forward(n1, null), Lv.forward(n1, null)];
      b.rope(q, step.rope!.cos, step.rope!.sin, c.heads, 0, q);
      b.rope(k, step.rope!.cos, step.rope!.sin, c.kvHeads, 0, k);
      cache.write(l, k, v, step);
      const queries = b.zeros([B, T, c.heads * c.headDim]);
      b.copy(q, queries);
      const [a, probs] = [b.zeros([B, T, c.heads * c.headDim]), b.zeros([B, c.heads, T, cache.capacity])];
      b.attention(queries, cache.keys[l]!, cache.values[l]!, c.heads, a, probs, cache.attentionOptions(step, c.kvHeads));
      const o = Lo.forward(a, null);
      const h = b.zeros([B, T, E]);
      b.add(x, o, h);
      const [n2, rstd2] = [b.zeros([B, T, E]), b.zeros([B * T])];
      b.rmsNorm(h, this.norms.post, c.normEps, n2, rstd2);
      const [gate, up] = [Lgate.forward(n2, null), Lup.forward(n2, null)];
      const s = b.zeros(gate.shape);
      b.siluMul(gate, up, s);
      const d = Ldown.forward(s, null);
      const y = b.zeros([B, T, E]);
      b.add(h, d, y);
      for (const t of [n1, rstd1, q, k, v, queries, a, probs, o, h, n2, rstd2, gate, up, s, d]) b.free(t);
      return y;
    });
  }

  backward(dy: Tensor): Tensor {
    const s = this.saved;
    if (!s) throw new Error('LlamaLayer.backward needs a forward pass with keep = true first');
    const { b, c } = this;
    const [Lq, Lk, Lv, Lo, Lgate, Lup, Ldown] = this.linears;
    return this.ledger.within('scratch', () => {
      // MLP half: y = h + down(silu(gate(n2))·up(n2))
      const ds = Ldown.backward(dy, s.s, null);
      const [dGate, dUp] = [b.zeros(s.gate.shape), b.zeros(s.up.shape)];
      b.siluMulBackward(ds, s.gate, s.up, dGate, dUp);
      b.free(ds);
      const dn2 = Lgate.backward(dGate, s.n2, null);
      addFrom(b, dn2, Lup.backward(dUp, s.n2, null));
      b.free(dGate);
      b.free(dUp);
      const dh = b.zeros(dy.shape);
      b.rmsNormBackward(dn2, s.h, this.norms.post, s.rstd2, dh, this.gradOf(this.norms.post));
      b.free(dn2);
      b.addInto(dh, dy);
      // attention half: h = x + o(attn(rope(q(n1)), rope(k(n1)), v(n1)))
      const da = Lo.backward(dh, s.a, null);
      const [dq, dk, dv] = [b.zeros(s.q.shape), b.zeros(s.k.shape), b.zeros(s.v.shape)];
      b.attentionBackward(da, s.q, s.k, s.v, s.probs, c.heads, dq, dk, dv, attentionOptions(s.seq, c.kvHeads));
      b.free(da);
      b.ropeBackward(dq, s.seq.rope!.cos, s.seq.rope!.sin, c.heads, 0, dq);
      b.ropeBackward(dk, s.seq.rope!.cos, s.seq.rope!.sin, c.kvHeads, 0, dk);
      const dn1 = Lq.backward(dq, s.n1, null);
      addFrom(b, dn1, Lk.backward(dk, s.n1, null));
      addFrom(b, dn1, Lv.backward(dv, s.n1, null));
      for (const t of [dq, dk, dv]) b.free(t);
      const dx = b.zeros(dy.shape);
      b.rmsNormBackward(dn1, s.x, this.norms.input, s.rstd1, dx, this.gradOf(this.norms.input));
      b.free(dn1);
      b.addInto(dx, dh);
      b.free(dh);
      this.release();
      return dx;
    });
  }

  release(): void {
    if (this.saved) for (const t of activations(this.saved)) this.b.free(t);
    this.saved = null;
  }
}

/** The kept tensors this layer allocated (x belongs to the caller; q and k hold their rotated values). */
function activations(s: Saved): Tensor[] {
  return [s.n1, s.rstd1, s.q, s.k, s.v, s.probs, s.a, s.h, s.n2, s.rstd2, s.gate, s.up, s.s];
}
