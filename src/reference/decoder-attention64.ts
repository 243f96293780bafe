// Float64 plain-loop reference of decoder attention (src/backend.ts, attention with AttentionOptions):
// q [B, Tq, H·hd], k, v [B, Tk, KV·hd]; query head n reads key/value head ⌊n/(H/KV)⌋. Query i sits at
// position offset + i; with causal it may attend key j only if j ≤ offset + i; keyMask[b, j] = 0
// forbids key j, except key 0, which is always allowed. Forbidden keys get weight exactly 0.
// The backward is the analytic gradient, each key/value head's dk, dv summed over its query heads.

type Arr = ArrayLike<number>;

export interface DecoderAttention64 {
  B: number;
  Tq: number;
  Tk: number;
  heads: number;
  kvHeads: number;
  hd: number;
  causal?: boolean;
  /** causal: the position of query 0 (default Tk − Tq) */
  offset?: number;
  /** [B, Tk], 1 = real, 0 = padding */
  keyMask?: Arr;
}

/** Whether query i of sequence b may attend key j. */
export function allowed64(s: DecoderAttention64, b: number, i: number, j: number): boolean {
  const offset = s.offset ?? s.Tk - s.Tq;
  if (s.causal && j > offset + i) return false;
  return !s.keyMask || j === 0 || s.keyMask[b * s.Tk + j] !== 0;
}

export function decoderAttention64(q: Arr, k: Arr, v: Arr, s: DecoderAttention64) {
  const { B, Tq, Tk, heads: H, kvHeads: KV, hd } = s;
  const [Dq, Dk, group, scale] = [H * hd, KV * hd, H / KV, hd ** -0.5];
  const out = new Float64Array(B * Tq * Dq);
  const probs = new Float64Array(B * H * Tq * Tk);
  for (let b = 0; b < B; b++) {
    for (let n = 0; n < H; n++) {
      const g = Math.floor(n / group);
      for (let i = 0; i < Tq; i++) {
        const row = ((b * H + n) * Tq + i) * Tk;
        const qi = (b * Tq + i) * Dq + n * hd;
        let max = -Infinity;
        for (let j = 0; j < Tk; j++) {
          if (!allowed64(s, b, i, j)) continue;
          let dot = 0;
          for (let e = 0; e < hd; e++) dot += q[qi + e] * k[(b * Tk + j) * Dk + g * hd + e];
          probs[row + j] = dot * scale;
          max = Math.max(max, probs[row + j]);
        }
        let sum = 0;
        for (let j = 0; j < Tk; j++) if (allowed64(s, b, i, j)) sum += probs[row + j] = Math.exp(probs[row + j] - max);
        for (let j = 0; j < Tk; j++) probs[row + j] /= sum;
        for (let e = 0; e < hd; e++) {
          let acc = 0;
          for (let j = 0; j < Tk; j++) acc += probs[row + j] * v[(b * Tk + j) * Dk + g * hd + e];
          out[qi + e] = acc;
        }
      }
    }
  }
  return { out, probs };
}

export function decoderAttentionBackward64(dOut: Arr, q: Arr, k: Arr, v: Arr, s: DecoderAttention64) {
  const { B, Tq, Tk, heads: H, kvHeads: KV, hd } = s;
  const [Dq, Dk, group, scale] = [H * hd, KV * hd, H / KV, hd ** -0.5];
  const { probs } = decoderAttention64(q, k, v, s);
  const dq = new Float64Array(B * Tq * Dq);
  const dk = new Float64Array(B * Tk * Dk);
  const dv = new Float64Array(B * Tk * Dk);
  const dP = new Float64Array(Tk);
  for (let b = 0; b < B; b++) {
    for (let n = 0; n < H; n++) {
      const g = Math.floor(n / group);
      for (let i = 0; i < Tq; i++) {
        const row = ((b * H + n) * Tq + i) * Tk;
        const oi = (b * Tq + i) * Dq + n * hd;
        let dot = 0;
        for (let j = 0; j < Tk; j++) {
          const vj = (b * Tk + j) * Dk + g * hd;
          let acc = 0;
          for (let e = 0; e < hd; e++) {
            acc += dOut[oi + e] * v[vj + e];
            dv[vj + e] += probs[row + j] * dOut[oi + e];
          }
          dP[j] = acc;
          dot += acc * probs[row + j];
        }
        for (let j = 0; j < Tk; j++) {
          const dS = probs[row + j] * (dP[j] - dot) * scale;
          const kj = (b * Tk + j) * Dk + g * hd;
          for (let e = 0; e < hd; e++) {
            dq[oi + e] += dS * k[kj + e];
            dk[kj + e] += dS * q[oi + e];
          }
        }
      }
    }
  }
  return { dq, dk, dv };
}
