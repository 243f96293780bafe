// Float64 plain-loop reference of the transformer primitives of src/backend.ts (ViT training),
// written for clarity. Row-major; shapes as in the contract.

type Arr = ArrayLike<number>;

export function layerNorm64(x: Arr, w: Arr, b: Arr, R: number, D: number, eps: number) {
  const out = new Float64Array(R * D);
  const mean = new Float64Array(R);
  const rstd = new Float64Array(R);
  for (let r = 0; r < R; r++) {
    let mu = 0;
    for (let d = 0; d < D; d++) mu += x[r * D + d];
    mu /= D;
    let v = 0;
    for (let d = 0; d < D; d++) v += (x[r * D + d] - mu) ** 2;
    const rs = 1 / Math.sqrt(v / D + eps);
    mean[r] = mu;
    rstd[r] = rs;
    for (let d = 0; d < D; d++) out[r * D + d] = (x[r * D + d] - mu) * rs * w[d] + b[d];
  }
  return { out, mean, rstd };
}

export function layerNormBackward64(dy: Arr, x: Arr, w: Arr, R: number, D: number, eps: number) {
  const { mean, rstd } = layerNorm64(x, w, new Float64Array(D), R, D, eps);
  const dx = new Float64Array(R * D);
  const dw = new Float64Array(D);
  const db = new Float64Array(D);
  for (let r = 0; r < R; r++) {
    let mg = 0;
    let mgx = 0;
    for (let d = 0; d < D; d++) {
      const xh = (x[r * D + d] - mean[r]) * rstd[r];
      const g = dy[r * D + d] * w[d];
      mg += g / D;
      mgx += (g * xh) / D;
      dw[d] += dy[r * D + d] * xh;
      db[d] += dy[r * D + d];
    }
    for (let d = 0; d < D; d++) {
      const xh = (x[r * D + d] - mean[r]) * rstd[r];
      dx[r * D + d] = rstd[r] * (dy[r * D + d] * w[d] - mg - xh * mgx);
    }
  }
  return { dx, dw, db };
}

/** erf by its Maclaurin series (|x| < 2) or the continued fraction of erfc (|x| ≥ 2), to ~1e-14. */
export function erf64(x: number): number {
  const a = Math.abs(x);
  if (a < 2) {
    let term = a;
    let sum = a;
    for (let n = 1; n < 200 && Math.abs(term) > 1e-17 * Math.abs(sum); n++) {
      term *= (-a * a) / n;
      sum += term / (2 * n + 1);
    }
    return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * sum;
  }
  // erfc(a) = exp(−a²)/√π · 1/(a + 1/2/(a + 1/(a + 3/2/(a + 2/(a + …)))))
  let f = a;
  for (let n = 120; n >= 1; n--) f = a + n / 2 / f;
  return Math.sign(x) * (1 - Math.exp(-a * a) / Math.sqrt(Math.PI) / f);
}

export const gelu64 = (x: number): number => 0.5 * x * (1 + erf64(x / Math.SQRT2));
export const geluGrad64 = (x: number): number =>
  0.5 * (1 + erf64(x / Math.SQRT2)) + (x * Math.exp(-0.5 * x * x)) / Math.sqrt(2 * Math.PI);

/** Multi-head attention forward; q, k, v [B, T, D], heads interleaved (feature h·hd + j). */
export function attention64(q: Arr, k: Arr, v: Arr, B: number, T: number, D: number, nh: number) {
  const hd = D / nh;
  const scale = hd ** -0.5;
  const out = new Float64Array(B * T * D);
  const probs = new Float64Array(B * nh * T * T);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < nh; h++) {
      for (let i = 0; i < T; i++) {
        const row = ((b * nh + h) * T + i) * T;
        let max = -Infinity;
        for (let j = 0; j < T; j++) {
          let s = 0;
          for (let e = 0; e < hd; e++) s += q[(b * T + i) * D + h * hd + e] * k[(b * T + j) * D + h * hd + e];
          probs[row + j] = s * scale;
          max = Math.max(max, probs[row + j]);
        }
        let sum = 0;
        for (let j = 0; j < T; j++) sum += probs[row + j] = Math.exp(probs[row + j] - max);
        for (let j = 0; j < T; j++) probs[row + j] /= sum;
        for (let e = 0; e < hd; e++) {
          let acc = 0;
          for (let j = 0; j < T; j++) acc += probs[row + j] * v[(b * T + j) * D + h * hd + e];
          out[(b * T + i) * D + h * hd + e] = acc;
        }
      }
    }
  }
  return { out, probs };
}

export function attentionBackward64(dOut: Arr, q: Arr, k: Arr, v: Arr, B: number, T: number, D: number, nh: number) {
  const hd = D / nh;
  const scale = hd ** -0.5;
  const { probs } = attention64(q, k, v, B, T, D, nh);
  const dq = new Float64Array(B * T * D);
  const dk = new Float64Array(B * T * D);
  const dv = new Float64Array(B * T * D);
  const dP = new Float64Array(T);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < nh; h++) {
      for (let i = 0; i < T; i++) {
        const row = ((b * nh + h) * T + i) * T;
        const oi = (b * T + i) * D + h * hd;
        let dot = 0;
        for (let j = 0; j < T; j++) {
          const vj = (b * T + j) * D + h * hd;
          let s = 0;
          for (let e = 0; e < hd; e++) {
            s += dOut[oi + e] * v[vj + e];
            dv[vj + e] += probs[row + j] * dOut[oi + e];
          }
          dP[j] = s;
          dot += s * probs[row + j];
        }
        for (let j = 0; j < T; j++) {
          const dS = probs[row + j] * (dP[j] - dot) * scale;
          const kj = (b * T + j) * D + h * hd;
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

/** Mean cross-entropy, its gradient and the number of correct argmax predictions (first max wins). */
export function softmaxCrossEntropy64(logits: Arr, labels: Arr, B: number, C: number) {
  const dLogits = new Float64Array(B * C);
  let loss = 0;
  let correct = 0;
  for (let b = 0; b < B; b++) {
    let max = -Infinity;
    let arg = 0;
    for (let c = 0; c < C; c++) {
      if (logits[b * C + c] > max) {
        max = logits[b * C + c];
        arg = c;
      }
    }
    let sum = 0;
    for (let c = 0; c < C; c++) sum += Math.exp(logits[b * C + c] - max);
    loss += (Math.log(sum) + max - logits[b * C + labels[b]]) / B;
    for (let c = 0; c < C; c++) dLogits[b * C + c] = (Math.exp(logits[b * C + c] - max) / sum - (c === labels[b] ? 1 : 0)) / B;
    if (arg === labels[b]) correct++;
  }
  return { loss, dLogits, correct };
}

/** torch.optim.AdamW, one step t ≥ 1, on copies of p, m, v. */
export function adamw64(
  p: Arr,
  g: Arr,
  m: Arr,
  v: Arr,
  lr: number,
  beta1: number,
  beta2: number,
  eps: number,
  wd: number,
  t: number,
  gradScale = 1,
) {
  const P = Float64Array.from(p);
  const M = Float64Array.from(m);
  const V = Float64Array.from(v);
  const bc1 = 1 - beta1 ** t;
  const bc2 = 1 - beta2 ** t;
  for (let i = 0; i < P.length; i++) {
    const gi = g[i] * gradScale;
    P[i] *= 1 - lr * wd;
    M[i] = beta1 * M[i] + (1 - beta1) * gi;
    V[i] = beta2 * V[i] + (1 - beta2) * gi * gi;
    P[i] -= ((lr / bc1) * M[i]) / (Math.sqrt(V[i]) / Math.sqrt(bc2) + eps);
  }
  return { p: P, m: M, v: V };
}

/** The contract's counter-based uniform u(seed, i) in [0, 1). */
export function hashUniform(seed: number, i: number): number {
  const pcg = (x: number): number => {
    const s = (Math.imul(x >>> 0, 747796405) + 2891336453) >>> 0;
    const w = Math.imul(((s >>> ((s >>> 28) + 4)) ^ s) >>> 0, 277803737) >>> 0;
    return ((w >>> 22) ^ w) >>> 0;
  };
  return (pcg((pcg(i) ^ seed) >>> 0) >>> 8) / 2 ** 24;
}
