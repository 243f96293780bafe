// The backend contract: the small set of tensor primitives that both backends (WebGPU and Wasm)
// implement, and that the adapter op (src/adapter/op.ts) composes. Tensors are opaque handles to
// device-resident row-major float32 (or uint32) storage; nothing is read back unless asked.
//
// Shapes used by the SNELL kernels (H heads, n = d_in, m = d_out, k = r/H, R rows of x):
//   A [H, n, k]   B [H, m, k]   W, Ws, G, dW [n, m]   x [R, n]   y, dy [R, m]
//   coeff: H numbers (c_h); scalars (threshold, alpha, gamma, beta, kept) are 1-element tensors.
//
// Work is queued in order and may run lazily: a primitive returns before its result exists, and
// `read` waits for everything queued before it. A tensor freed while queued work still uses it is
// released only after that work has been submitted.

export type BackendKind = 'webgpu' | 'wasm';
export type DType = 'f32' | 'u32';

export interface Tensor {
  readonly shape: readonly number[];
  readonly size: number;
  readonly dtype: DType;
}

/** The merge kernel: `distance` is SNELL's Σ_h c_h·‖A[h,i]−B[h,o]‖₂, `linear` is LoRA's Σ_h A[h,i]·B[h,o]. */
export type MergeKernel = 'distance' | 'linear';

export interface MatmulOptions {
  /** Use Aᵀ: `a` is stored [K, M] instead of [M, K]. */
  transA?: boolean;
  /** Use Bᵀ: `b` is stored [N, K] instead of [K, N]. */
  transB?: boolean;
  /** out += a·b instead of out = a·b. */
  accumulate?: boolean;
}

export interface Backend {
  readonly kind: BackendKind;
  /** Human-readable device description (adapter vendor/architecture, or the Wasm build). */
  readonly description: string;
  /** Largest element count one tensor may have on this device. */
  readonly maxElements: number;

  /** A new tensor holding `data` (f32 or u32 matching `dtype`). */
  upload(data: Float32Array | Uint32Array, shape: readonly number[], dtype?: DType): Tensor;
  /** A new zero-filled tensor. */
  zeros(shape: readonly number[], dtype?: DType): Tensor;
  /** Overwrite a tensor's contents. */
  write(t: Tensor, data: Float32Array | Uint32Array): void;
  /** Copy of the tensor's contents once all queued work is done (Float32Array for f32, Uint32Array for u32). */
  read(t: Tensor): Promise<Float32Array | Uint32Array>;
  /** Release a tensor (deferred until queued work that uses it has been submitted). */
  free(t: Tensor): void;
  /** Submit queued work and wait for it to finish. */
  flush(): Promise<void>;
  /** Release the device and every tensor; the backend is unusable afterwards. */
  destroy(): void;

  // ---- SNELL kernel primitives (math in ../shared/SNELL.md; edge rules in each kernel header) ----

  /** W[i,o] = Σ_h c_h·‖A[h,i,:]−B[h,o,:]‖₂ (distance) or Σ_h A[h,i,:]·B[h,o,:] (linear). */
  merge(A: Tensor, B: Tensor, kernel: MergeKernel, coeff: readonly number[], W: Tensor): void;
  /** SNELLA mixture, per row i: P = softmax(W0[i,:]/γ); W = W0 + α·P + β. Writes W and P. */
  mixture(W0: Tensor, alpha: Tensor, gamma: Tensor, beta: Tensor, W: Tensor, P: Tensor): void;
  /**
   * threshold[0] = torch.quantile(|W|, s) with linear interpolation: sorted ascending v,
   * pos = s·(N−1), lo = ⌊pos⌋, t = v[lo] + (pos−lo)·(v[min(lo+1,N−1)] − v[lo]). Exact order statistics
   * (selection on the float bits, no full sort).
   */
  quantileAbs(W: Tensor, s: number, threshold: Tensor): void;
  /** Ws = W·|W|·[|W| > t] (strict); kept[0] (u32) = number of entries kept. */
  sparsify(W: Tensor, threshold: Tensor, Ws: Tensor, kept: Tensor): void;
  /** dW = G·|W|·[|W| > t]: the gradient of sparsify with |W| held constant. */
  sparsifyBackward(G: Tensor, W: Tensor, threshold: Tensor, dW: Tensor): void;
  /**
   * Gradient of the SNELLA mixture, given dW (gradient w.r.t. W), W0, P and the scalars:
   * dZ = P⊙(α·dW − rowsum(α·dW⊙P)); dW0 = dW + dZ/γ; dα = Σ dW⊙P; dγ = −Σ dZ⊙W0/γ²; dβ = Σ dW.
   */
  mixtureBackward(
    dW: Tensor, W0: Tensor, P: Tensor, alpha: Tensor, gamma: Tensor,
    dW0: Tensor, dAlpha: Tensor, dGamma: Tensor, dBeta: Tensor,
  ): void;
  /**
   * Gradients of merge given dW [n, m].
   * distance: K_h[i,o] = c_h·dW[i,o]/D_h[i,o] (0 where D_h = 0), dA[h,i,:] = Σ_o K_h[i,o]·(A[h,i,:]−B[h,o,:]),
   *           dB[h,o,:] = −Σ_i K_h[i,o]·(A[h,i,:]−B[h,o,:]).
   * linear:   dA[h,i,:] = Σ_o dW[i,o]·B[h,o,:],  dB[h,o,:] = Σ_i dW[i,o]·A[h,i,:].
   */
  mergeBackward(
    A: Tensor, B: Tensor, dW: Tensor, kernel: MergeKernel, coeff: readonly number[],
    dA: Tensor, dB: Tensor,
  ): void;
  /** out = op(a)·op(b) (or +=), float32 accumulation. Shapes after transposition: [M,K]·[K,N] → [M,N]. */
  matmul(a: Tensor, b: Tensor, out: Tensor, options?: MatmulOptions): void;
}

/** A clear, actionable error raised by a backend (limits exceeded, device lost, bad shapes). */
export class BackendError extends Error {
  override name = 'BackendError';
}
