// Float64 plain-loop reference of every SNELL primitive, written for clarity, not speed. The backends'
// tests compare against it; the math and shapes are those of src/backend.ts.

import type { MergeKernel } from '../backend.js';

type Arr = ArrayLike<number>;

/** W[i,o] = Σ_h c_h·‖A[h,i]−B[h,o]‖₂ or Σ_h A[h,i]·B[h,o]. A [H,n,k], B [H,m,k] → W [n,m]. */
export function merge64(
  A: Arr,
  B: Arr,
  H: number,
  n: number,
  m: number,
  k: number,
  kernel: MergeKernel,
  coeff: Arr,
): Float64Array {
  const W = new Float64Array(n * m);
  for (let h = 0; h < H; h++) {
    for (let i = 0; i < n; i++) {
      for (let o = 0; o < m; o++) {
        let acc = 0;
        for (let j = 0; j < k; j++) {
          const a = A[(h * n + i) * k + j];
          const b = B[(h * m + o) * k + j];
          acc += kernel === 'distance' ? (a - b) * (a - b) : a * b;
        }
        W[i * m + o] += kernel === 'distance' ? coeff[h] * Math.sqrt(acc) : acc;
      }
    }
  }
  return W;
}

/** P = softmax(W0/γ) per row; W = W0 + α·P + β. */
export function mixture64(
  W0: Arr,
  n: number,
  m: number,
  alpha: number,
  gamma: number,
  beta: number,
): { W: Float64Array; P: Float64Array } {
  const W = new Float64Array(n * m);
  const P = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    let max = -Infinity;
    for (let o = 0; o < m; o++) max = Math.max(max, W0[i * m + o] / gamma);
    let sum = 0;
    for (let o = 0; o < m; o++) sum += P[i * m + o] = Math.exp(W0[i * m + o] / gamma - max);
    for (let o = 0; o < m; o++) {
      P[i * m + o] /= sum;
      W[i * m + o] = W0[i * m + o] + alpha * P[i * m + o] + beta;
    }
  }
  return { W, P };
}

/** torch.quantile(|W|, s), linear interpolation between the order statistics at ⌊s(N−1)⌋ and the next. */
export function quantileAbs64(W: Arr, s: number): number {
  const v = Float64Array.from(W, Math.abs).sort();
  const pos = s * (v.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, v.length - 1);
  return v[lo] + (pos - lo) * (v[hi] - v[lo]);
}

/** Ws = W·|W|·[|W| > t] and the kept count. */
export function sparsify64(W: Arr, t: number): { Ws: Float64Array; kept: number } {
  const Ws = new Float64Array(W.length);
  let kept = 0;
  for (let i = 0; i < W.length; i++) {
    const a = Math.abs(W[i]);
    if (a > t) {
      Ws[i] = W[i] * a;
      kept++;
    }
  }
  return { Ws, kept };
}

/** dW = G·|W|·[|W| > t]. */
export function sparsifyBackward64(G: Arr, W: Arr, t: number): Float64Array {
  return Float64Array.from(G, (g, i) => (Math.abs(W[i]) > t ? g * Math.abs(W[i]) : 0));
}

/** dW[i, o] = (Σ_r x[r, i]·dy[r, o])·|W[i, o]| where |W[i, o]| > t, else 0; x [R, n], dy [R, m], W [n, m]. */
export function keptGradient64(x: Arr, dy: Arr, W: Arr, t: number, R: number, n: number, m: number): Float64Array {
  const dW = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    for (let o = 0; o < m; o++) {
      const w = Math.abs(W[i * m + o]);
      if (!(w > t)) continue;
      let g = 0;
      for (let r = 0; r < R; r++) g += x[r * n + i] * dy[r * m + o];
      dW[i * m + o] = g * w;
    }
  }
  return dW;
}

/** Gradient of the mixture: returns dW0 and the scalar gradients. */
export function mixtureBackward64(dW: Arr, W0: Arr, P: Arr, n: number, m: number, alpha: number, gamma: number) {
  const dW0 = new Float64Array(n * m);
  let dAlpha = 0;
  let dGamma = 0;
  let dBeta = 0;
  for (let i = 0; i < n; i++) {
    let dot = 0;
    for (let o = 0; o < m; o++) dot += alpha * dW[i * m + o] * P[i * m + o];
    for (let o = 0; o < m; o++) {
      const q = i * m + o;
      const dZ = P[q] * (alpha * dW[q] - dot);
      dW0[q] = dW[q] + dZ / gamma;
      dAlpha += dW[q] * P[q];
      dGamma -= (dZ * W0[q]) / (gamma * gamma);
      dBeta += dW[q];
    }
  }
  return { dW0, dAlpha, dGamma, dBeta };
}

/** Gradients of merge with respect to A and B, given dW [n,m]; zero distances contribute nothing. */
export function mergeBackward64(
  A: Arr,
  B: Arr,
  dW: Arr,
  H: number,
  n: number,
  m: number,
  k: number,
  kernel: MergeKernel,
  coeff: Arr,
) {
  const dA = new Float64Array(H * n * k);
  const dB = new Float64Array(H * m * k);
  const diff = new Float64Array(k);
  for (let h = 0; h < H; h++) {
    for (let i = 0; i < n; i++) {
      for (let o = 0; o < m; o++) {
        const g = dW[i * m + o];
        const ai = (h * n + i) * k;
        const bo = (h * m + o) * k;
        if (kernel === 'linear') {
          for (let j = 0; j < k; j++) {
            dA[ai + j] += g * B[bo + j];
            dB[bo + j] += g * A[ai + j];
          }
          continue;
        }
        let d2 = 0;
        for (let j = 0; j < k; j++) {
          diff[j] = A[ai + j] - B[bo + j];
          d2 += diff[j] ** 2;
        }
        if (d2 === 0) continue;
        const scale = (coeff[h] * g) / Math.sqrt(d2);
        for (let j = 0; j < k; j++) {
          dA[ai + j] += scale * diff[j];
          dB[bo + j] -= scale * diff[j];
        }
      }
    }
  }
  return { dA, dB };
}

/** C = op(a)·op(b), [M,K]·[K,N] after transposition. */
export function matmul64(a: Arr, b: Arr, M: number, K: number, N: number, transA = false, transB = false): Float64Array {
  const C = new Float64Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let acc = 0;
      for (let p = 0; p < K; p++) acc += (transA ? a[p * M + i] : a[i * K + p]) * (transB ? b[j * K + p] : b[p * N + j]);
      C[i * N + j] = acc;
    }
  }
  return C;
}
