// Float64 plain-loop reference of the decoder primitives of src/backend.ts (LLaMA and GPT-2 text
// models), written for clarity from the formulas of ../shared/vectors/README.md, "Text transformers".
// Row-major; shapes as in the contract. RoPE computes its angles here (θ^(−2c/hd)·position), not from
// the tables a backend is given.

type Arr = ArrayLike<number>;

/** RMSNorm rows of x [R, D]: out = w·x·ρ, ρ = 1/sqrt(mean(x²) + eps). */
export function rmsNorm64(x: Arr, w: Arr, R: number, D: number, eps: number) {
  const out = new Float64Array(R * D);
  const rstd = new Float64Array(R);
  for (let r = 0; r < R; r++) {
    let ss = 0;
    for (let d = 0; d < D; d++) ss += x[r * D + d] ** 2;
    rstd[r] = 1 / Math.sqrt(ss / D + eps);
    for (let d = 0; d < D; d++) out[r * D + d] = w[d] * x[r * D + d] * rstd[r];
  }
  return { out, rstd };
}

/** dx = ρ·(ĝ − x̂·mean(ĝ·x̂)) with x̂ = x·ρ, ĝ = dy·w; dw = Σ_r dy·x̂. */
export function rmsNormBackward64(dy: Arr, x: Arr, w: Arr, R: number, D: number, eps: number) {
  const { rstd } = rmsNorm64(x, w, R, D, eps);
  const dx = new Float64Array(R * D);
  const dw = new Float64Array(D);
  for (let r = 0; r < R; r++) {
    let mgx = 0;
    for (let d = 0; d < D; d++) {
      const xh = x[r * D + d] * rstd[r];
      mgx += (dy[r * D + d] * w[d] * xh) / D;
      dw[d] += dy[r * D + d] * xh;
    }
    for (let d = 0; d < D; d++) {
      dx[r * D + d] = rstd[r] * (dy[r * D + d] * w[d] - x[r * D + d] * rstd[r] * mgx);
    }
  }
  return { dx, dw };
}

/**
 * Rotate-half RoPE on x [B, T, C] in nh heads: position t + offset, angle (t + offset)·θ^(−2c/hd) for the
 * pair (c, c + hd/2). `inverse` rotates by the negative angle (the backward pass).
 */
export function rope64(x: Arr, B: number, T: number, C: number, nh: number, theta: number, offset: number, inverse = false) {
  const hd = C / nh;
  const half = hd / 2;
  const out = new Float64Array(B * T * C);
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T; t++)
      for (let n = 0; n < nh; n++)
        for (let c = 0; c < half; c++) {
          const angle = (t + offset) * theta ** ((-2 * c) / hd);
          const [cs, sn] = [Math.cos(angle), (inverse ? -1 : 1) * Math.sin(angle)];
          const i = (b * T + t) * C + n * hd + c;
          out[i] = x[i] * cs - x[i + half] * sn;
          out[i + half] = x[i + half] * cs + x[i] * sn;
        }
  return out;
}

export const sigmoid64 = (z: number): number => 1 / (1 + Math.exp(-z));
export const silu64 = (z: number): number => z * sigmoid64(z);

/** SwiGLU's product silu(gate)·up and its gradients. */
export function siluMul64(gate: Arr, up: Arr) {
  return Float64Array.from(gate, (g, i) => silu64(g) * up[i]);
}

export function siluMulBackward64(dy: Arr, gate: Arr, up: Arr) {
  const dGate = Float64Array.from(gate, (g, i) => {
    const s = sigmoid64(g);
    return dy[i] * up[i] * s * (1 + g * (1 - s));
  });
  const dUp = Float64Array.from(gate, (g, i) => dy[i] * silu64(g));
  return { dGate, dUp };
}

const GELU_K = Math.sqrt(2 / Math.PI);

/** GPT-2's gelu_new, as Hugging Face writes it: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
export const geluTanh64 = (x: number): number => 0.5 * x * (1 + Math.tanh(GELU_K * (x + 0.044715 * x ** 3)));

/** Its derivative: ½(1 + tanh u) + ½x·(1 − tanh²u)·u′. */
export function geluTanhGrad64(x: number): number {
  const th = Math.tanh(GELU_K * (x + 0.044715 * x ** 3));
  return 0.5 * (1 + th) + 0.5 * x * (1 - th * th) * GELU_K * (1 + 3 * 0.044715 * x * x);
}
