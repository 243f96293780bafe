// SNELLA's mixture kernel, row by row over W0 [n, m] (α, γ, β are 1-element tensors):
//   forward:  P[i,:] = softmax(W0[i,:]/γ) (max subtracted first); W = W0 + α·P + β
//   backward: dZ = P⊙(α·dW − rowsum(α·dW⊙P)); dW0 = dW + dZ/γ;
//             dα = Σ dW⊙P;  dγ = −Σ dZ⊙W0/γ²;  dβ = Σ dW
// Computed in f64 (exp, sums, the scalar gradients) and rounded to f32 on store (the unnormalised
// exponentials pass through P once as f32): the reductions run over whole matrices, and f64 keeps
// them at float32 rounding of the exact result.

export function mixture(w0: usize, n: i32, m: i32, alphaPtr: usize, gammaPtr: usize, betaPtr: usize, w: usize, p: usize): void {
  const alpha = <f64>load<f32>(alphaPtr);
  const gamma = <f64>load<f32>(gammaPtr);
  const beta = <f64>load<f32>(betaPtr);
  for (let i = 0; i < n; i++) {
    const base = <usize>i * <usize>m << 2;
    let max = -Infinity;
    for (let o = 0; o < m; o++) max = Math.max(max, <f64>load<f32>(w0 + base + (<usize>o << 2)) / gamma);
    let sum = 0.0;
    for (let o = 0; o < m; o++) {
      const q = base + (<usize>o << 2);
      const e = Math.exp(<f64>load<f32>(w0 + q) / gamma - max);
      store<f32>(p + q, <f32>e); // unnormalised for now; rescaled below
      sum += e;
    }
    const inv = 1.0 / sum;
    for (let o = 0; o < m; o++) {
      const q = base + (<usize>o << 2);
      const pr = <f64>load<f32>(p + q) * inv;
      store<f32>(p + q, <f32>pr);
      store<f32>(w + q, <f32>(<f64>load<f32>(w0 + q) + alpha * pr + beta));
    }
  }
}

export function mixtureBackward(
  dw: usize, w0: usize, p: usize, alphaPtr: usize, gammaPtr: usize, n: i32, m: i32,
  dw0: usize, dAlpha: usize, dGamma: usize, dBeta: usize,
): void {
  const alpha = <f64>load<f32>(alphaPtr);
  const gamma = <f64>load<f32>(gammaPtr);
  let sa = 0.0;
  let sg = 0.0;
  let sb = 0.0;
  for (let i = 0; i < n; i++) {
    const base = <usize>i * <usize>m << 2;
    let dot = 0.0;
    for (let o = 0; o < m; o++) {
      const q = base + (<usize>o << 2);
      dot += <f64>load<f32>(dw + q) * <f64>load<f32>(p + q);
    }
    sa += dot;
    dot *= alpha;
    for (let o = 0; o < m; o++) {
      const q = base + (<usize>o << 2);
      const g = <f64>load<f32>(dw + q);
      const dz = <f64>load<f32>(p + q) * (alpha * g - dot);
      store<f32>(dw0 + q, <f32>(g + dz / gamma));
      sg += dz * <f64>load<f32>(w0 + q);
      sb += g;
    }
  }
  store<f32>(dAlpha, <f32>sa);
  store<f32>(dGamma, <f32>(-sg / (gamma * gamma)));
  store<f32>(dBeta, <f32>sb);
}
