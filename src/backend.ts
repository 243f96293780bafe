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
//
// Arguments are checked once for both backends (src/contract, one file per group of primitives, each
// stating its rules): every tensor must be a live tensor of this backend with the dtype and shape its
// primitive asks for, outputs never alias inputs or each other unless stated, scalar arguments lie in
// their stated ranges. A broken rule throws a BackendError `<op>: <what is wrong and the fix>`, the
// same on WebGPU and Wasm, before anything is queued. read() and flush() reject instead of throwing.

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
  /**
   * `b` is mostly zeros (a sparsified update): a backend may skip its zero entries (the Wasm backend does
   * when at most a quarter of them are nonzero; WebGPU runs the dense product). The result is the same
   * product, summed in another order, except that an infinite or NaN element of `a` against a zero of
   * `b` adds nothing instead of NaN. Not with transA.
   */
  sparseB?: boolean;
}

export interface Backend {
  readonly kind: BackendKind;
  /** Human-readable device description (adapter vendor/architecture, or the Wasm build). */
  readonly description: string;
  /** Largest element count one tensor may have on this device. */
  readonly maxElements: number;

  /** A new tensor holding `data` (f32 or u32 matching `dtype`, which defaults to the data's own type). */
  upload(data: Float32Array | Uint32Array, shape: readonly number[], dtype?: DType): Tensor;
  /** A new zero-filled tensor. */
  zeros(shape: readonly number[], dtype?: DType): Tensor;
  /** Overwrite a tensor's contents. */
  write(t: Tensor, data: Float32Array | Uint32Array): void;
  /** Copy of the tensor's contents once all queued work is done (Float32Array for f32, Uint32Array for u32). */
  read(t: Tensor): Promise<Float32Array | Uint32Array>;
  /**
   * Release a tensor (deferred until queued work that uses it has been submitted). Freeing a tensor twice
   * is an error, except on a lost device, where freeing anything is harmless.
   */
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
   * dW = (xᵀ·dy)·|W|·[|W| > t] for x [..., n] and dy [..., m] (R rows each), W [n, m]: the weight gradient of
   * y = x·Ws through sparsify, xᵀ·dy formed only at the kept entries (0 elsewhere). Equals
   * sparsifyBackward(matmul(x, dy, transA), W, threshold) up to the order of the sums over rows.
   */
  keptGradient(x: Tensor, dy: Tensor, W: Tensor, threshold: Tensor, dW: Tensor): void;
  /**
   * Gradient of the SNELLA mixture, given dW (gradient w.r.t. W), W0, P and the scalars:
   * dZ = P⊙(α·dW − rowsum(α·dW⊙P)); dW0 = dW + dZ/γ; dα = Σ dW⊙P; dγ = −Σ dZ⊙W0/γ²; dβ = Σ dW.
   */
  mixtureBackward(
    dW: Tensor,
    W0: Tensor,
    P: Tensor,
    alpha: Tensor,
    gamma: Tensor,
    dW0: Tensor,
    dAlpha: Tensor,
    dGamma: Tensor,
    dBeta: Tensor,
  ): void;
  /**
   * Gradients of merge given dW [n, m].
   * distance: K_h[i,o] = c_h·dW[i,o]/D_h[i,o] (0 where D_h = 0), dA[h,i,:] = Σ_o K_h[i,o]·(A[h,i,:]−B[h,o,:]),
   *           dB[h,o,:] = −Σ_i K_h[i,o]·(A[h,i,:]−B[h,o,:]).
   * linear:   dA[h,i,:] = Σ_o dW[i,o]·B[h,o,:],  dB[h,o,:] = Σ_i dW[i,o]·A[h,i,:].
   */
  mergeBackward(A: Tensor, B: Tensor, dW: Tensor, kernel: MergeKernel, coeff: readonly number[], dA: Tensor, dB: Tensor): void;
  /** out = op(a)·op(b) (or +=), float32 accumulation. Shapes after transposition: [M,K]·[K,N] → [M,N]. */
  matmul(a: Tensor, b: Tensor, out: Tensor, options?: MatmulOptions): void;

  // ---- Transformer primitives (ViT training). Outputs never alias inputs unless stated. ----
  // R rows, D features, B batch, T tokens, nh attention heads of width hd = D/nh, C classes.

  /** out = a + b, elementwise (equal sizes). */
  add(a: Tensor, b: Tensor, out: Tensor): void;
  /** out = a + bᵀ: out[i, j] = a[i, j] + b[j, i] for a and out [r, c], b [c, r] (a frozen weight plus a branch's update). */
  addTransposed(a: Tensor, b: Tensor, out: Tensor): void;
  /** out += a, elementwise (in place on out). */
  addInto(out: Tensor, a: Tensor): void;
  /** out[r, :] += bias (in place), out [R, N], bias [N]. */
  addBias(out: Tensor, bias: Tensor): void;
  /** out[n] (+)= Σ_r x[r, n]; x [R, N], out [N]. The gradient of a bias. */
  sumRows(x: Tensor, out: Tensor, accumulate?: boolean): void;
  /** out = src (equal sizes). */
  copy(src: Tensor, out: Tensor): void;
  /**
   * LayerNorm over the last dim: out = (x − μ)·ρ·w + b with μ, ρ = 1/sqrt(var + eps) (biased variance).
   * x, out [R, D]; w, b [D]; mean, rstd [R] are kept for the backward pass.
   */
  layerNorm(x: Tensor, w: Tensor, b: Tensor, eps: number, out: Tensor, mean: Tensor, rstd: Tensor): void;
  /**
   * x̂ = (x − μ)·ρ, ĝ = dy·w: dx = ρ·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)) (written); dw += Σ_r dy·x̂, db += Σ_r dy
   * (accumulated, each skipped when null).
   */
  layerNormBackward(
    dy: Tensor,
    x: Tensor,
    w: Tensor,
    mean: Tensor,
    rstd: Tensor,
    dx: Tensor,
    dw: Tensor | null,
    db: Tensor | null,
  ): void;
  /** Exact GELU: out = x·Φ(x) = x/2·(1 + erf(x/√2)). */
  gelu(x: Tensor, out: Tensor): void;
  /** dx = dy·(Φ(x) + x·φ(x)). */
  geluBackward(dy: Tensor, x: Tensor, dx: Tensor): void;
  /**
   * Multi-head softmax attention, heads interleaved in the feature dim as timm and Hugging Face lay them
   * out (feature n·hd + e of head n): P[b,n] = softmax(Q[b,n]·K[b,g]ᵀ·hd^−½) over the allowed keys,
   * out[b,n] = P[b,n]·V[b,g], with g = n for the ViT and g = ⌊n/(heads/kvHeads)⌋ with grouped-query
   * attention (options.kvHeads). q, out [B, Tq, heads·hd]; k, v [B, Tk, kvHeads·hd]; probs
   * [B, heads, Tq, Tk] is kept for the backward pass. Without options: the ViT's bidirectional
   * attention, Tq = Tk, kvHeads = heads, every key allowed. Forbidden keys (options.causal,
   * options.keyMask) get weight exactly 0: the softmax runs over the allowed keys only. Key 0 is
   * always allowed, so no row is ever empty: a row whose other keys are all forbidden (a sequence
   * whose mask is all 0) attends key 0 alone, out = v[b, 0].
   */
  attention(q: Tensor, k: Tensor, v: Tensor, heads: number, out: Tensor, probs: Tensor, options?: AttentionOptions): void;
  /**
   * dV = Pᵀ·dO; dP = dO·Vᵀ; dS = P⊙(dP − rowsum(dP⊙P)); dQ = dS·K·hd^−½; dK = dSᵀ·Q·hd^−½ (all written),
   * per query head; with kvHeads < heads, dK and dV of a key/value head are the sums over its query
   * heads, taken in head order. `options` must be the forward's: the masks are carried by probs
   * (forbidden entries are 0, so their dS is 0), kvHeads and the shapes are read from them.
   */
  attentionBackward(
    dOut: Tensor,
    q: Tensor,
    k: Tensor,
    v: Tensor,
    probs: Tensor,
    heads: number,
    dq: Tensor,
    dk: Tensor,
    dv: Tensor,
    options?: AttentionOptions,
  ): void;
  /**
   * Token assembly of a ViT: out[b,0] = cls + pos[0]; out[b,t] = patches[b,t−1] + pos[t] (t ≥ 1).
   * patches [B, T−1, D], cls [D], pos [T, D], out [B, T, D].
   */
  embedTokens(patches: Tensor, cls: Tensor, pos: Tensor, out: Tensor): void;
  /** Gradients of embedTokens: dPatches written, dCls and dPos accumulated (Σ over b); null skips. */
  embedTokensBackward(dOut: Tensor, dPatches: Tensor | null, dCls: Tensor | null, dPos: Tensor | null): void;
  /** Pooling x [B, T, D] → out [B, D]: the cls token (t = 0) or the mean over tokens. */
  poolTokens(x: Tensor, mode: PoolMode, out: Tensor): void;
  /** dx [B, T, D] (written) from dOut [B, D]. */
  poolTokensBackward(dOut: Tensor, mode: PoolMode, dx: Tensor): void;

  // ---- Decoder primitives (causal language models and their classification heads) ----

  /**
   * Embedding lookup: out[n, :] = table[ids[n], :]; ids u32 (N elements, any shape), table [V, D],
   * out N·D elements (e.g. [B, T, D] for ids [B, T]). An id ≥ V gives a zero row (ids are not read
   * back to be checked: check them on the host before uploading).
   */
  embed(ids: Tensor, table: Tensor, out: Tensor): void;
  /**
   * Gradient of embed, accumulated: dTable[ids[n], :] += dOut[n, :], summed over n in increasing
   * order (deterministic, no atomics; the same order on both backends). An id ≥ V adds nothing.
   */
  embedBackward(dOut: Tensor, ids: Tensor, dTable: Tensor): void;
  /**
   * out[b, :] = x[b, index[b], :]: one row of each sequence (a classification head on the last real
   * token). x [B, T, D], index u32 [B], out [B, D]. An index ≥ T gives a zero row.
   */
  gatherRows(x: Tensor, index: Tensor, out: Tensor): void;
  /** dx [B, T, D] (written): dOut[b] at row index[b] of sequence b, 0 elsewhere (all 0 for an index ≥ T). */
  gatherRowsBackward(dOut: Tensor, index: Tensor, dx: Tensor): void;
  /**
   * Mean cross-entropy over the batch: logits [B, C], labels u32 [B] → loss [1];
   * dLogits = (softmax(logits) − onehot(labels))/B; correct u32 [1] = #(argmax = label) (first max wins).
   * Label values are not checked (a GPU kernel cannot raise, and checking would read the labels back):
   * a label ≥ C makes its sample's loss term and dLogits row NaN, hence the loss NaN, and never counts
   * as correct, on both backends. Check labels on the host before uploading them (the Trainer does).
   */
  softmaxCrossEntropy(logits: Tensor, labels: Tensor, loss: Tensor, dLogits: Tensor, correct: Tensor): void;
  /**
   * Hugging Face's causal-LM loss: logits rows [N, V] (any leading shape, N rows), labels u32 (N
   * elements), where IGNORE_LABEL marks a row that does not count (the caller maps −100 to it).
   * With `count` the number of counted rows: loss[0] = (1/count)·Σ_counted −log softmax(logits[n])[label];
   * dLogits[n] = (softmax(logits[n]) − onehot(label))/count on counted rows and exactly 0 on ignored
   * ones; correct u32 [1] = #counted rows whose argmax (first max wins) is the label. No counted row
   * (every label ignored, or N = 0): loss 0, dLogits 0, correct 0. A label ≥ V other than IGNORE_LABEL
   * counts, and makes its term and dLogits row NaN (as softmaxCrossEntropy; labels are not read back).
   */
  tokenCrossEntropy(logits: Tensor, labels: Tensor, loss: Tensor, dLogits: Tensor, correct: Tensor): void;
  /** out[0] (+)= Σ x², accumulated in float32 per workgroup, summed deterministically. */
  sumSquares(x: Tensor, out: Tensor, accumulate?: boolean): void;
  /** torch.nn.utils.clip_grad_norm_: factor[0] = min(1, maxNorm/(sqrt(sumSq[0]) + 1e-6)). */
  clipFactor(sumSq: Tensor, maxNorm: number, factor: Tensor): void;
  /**
   * torch.optim.AdamW on one tensor, with g = grad·gradScale[0] (gradScale null: 1):
   * p ← p·(1 − lr·wd); m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²;
   * p ← p − (lr/(1−β1^t))·m / (sqrt(v)/sqrt(1−β2^t) + eps).
   */
  adamw(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, gradScale: Tensor | null, hp: AdamWStep): void;
  /**
   * Inverted dropout with a counter-based hash RNG: keep element i when u(seed, i) ≥ p, out = x·keep/(1−p).
   * Deterministic in (seed, i), so the backward pass is the same call on dy; p = 0 copies. Both backends
   * use the same hash, so masks agree across backends:
   *   pcg(v) = let s = v·747796405 + 2891336453; w = ((s >> ((s >> 28) + 4)) ^ s)·277803737; (w >> 22) ^ w
   *   u(seed, i) = (pcg(pcg(i) ^ seed) >> 8) / 2^24          (u32 wrapping arithmetic)
   */
  dropout(x: Tensor, p: number, seed: number, out: Tensor): void;
  /** DropPath: per sample b (leading dim), keep when u(seed, b) ≥ p, out = x·keep/(1−p). Backward: same call on dy. */
  dropPath(x: Tensor, p: number, seed: number, out: Tensor): void;
  /**
   * A given 0/1 mask (stored noise, e.g. golden vectors' dropout and DropPath draws): out = x·mask[q / c]·scale
   * for flat index q, c = x.size / mask.size (a mask of x's shape: elementwise; [B]: per sample). The
   * backward pass is the same call on dy. mask.size must divide x.size.
   */
  maskScale(x: Tensor, mask: Tensor, scale: number, out: Tensor): void;
  /**
   * SNELLA's importance averages of one adapter tensor after an optimizer step (θ its value after the
   * step, grad the gradient the step used), elementwise: I = |θ·g| (a NaN product counts as 0);
   * ipt ← β1·ipt + (1 − β1)·I; unc ← β2·unc + (1 − β2)·|I − ipt| (the new ipt). An entry whose I is
   * infinite in float32 keeps ipt and unc and adds 1 to skipped (u32, 1 element, accumulating).
   */
  importance(theta: Tensor, grad: Tensor, ipt: Tensor, unc: Tensor, beta1: number, beta2: number, skipped: Tensor): void;

  // ---- Decoder primitives (LLaMA- and GPT-2-family text models; math in ../shared/vectors/README.md,
  // "Text transformers"). R rows, D features; x [B, T, C] holds nh heads of hd = C/nh consecutive
  // columns (head n = columns n·hd … n·hd + hd − 1); P positions in the RoPE tables. ----

  /**
   * RMSNorm over the last dim (no mean subtraction, no bias): out[r,k] = w[k]·x[r,k]·ρ[r],
   * ρ[r] = 1/sqrt(mean_j x[r,j]² + eps). x, out [R, D]; w [D]; rstd [R] (= ρ) is kept for the backward pass.
   */
  rmsNorm(x: Tensor, w: Tensor, eps: number, out: Tensor, rstd: Tensor): void;
  /**
   * x̂ = x·ρ, ĝ = dy·w: dx = ρ·(ĝ − x̂·mean(ĝ·x̂)) (written); dw += Σ_r dy·x̂ (accumulated, skipped when null),
   * as layerNormBackward.
   */
  rmsNormBackward(dy: Tensor, x: Tensor, w: Tensor, rstd: Tensor, dx: Tensor, dw: Tensor | null): void;
  /**
   * Rotary position embedding, Hugging Face's rotate-half layout, on x [B, T, C] in `heads` heads of even
   * width hd: for each head, row (b, t) at position p = t + offset and c < hd/2,
   *   out[c] = x[c]·cos[p,c] − x[c+hd/2]·sin[p,c],  out[c+hd/2] = x[c+hd/2]·cos[p,c] + x[c]·sin[p,c].
   * cos, sin [P, hd/2] hold cos and sin of p·θ^(−2c/hd) (ropeTables in src/model/rope.ts builds them in
   * float64); offset + T ≤ P. out may be x (rotated in place).
   */
  rope(x: Tensor, cos: Tensor, sin: Tensor, heads: number, offset: number, out: Tensor): void;
  /** The transpose of rope (the rotation by −angle): dx from dy, both [B, T, C]; dx may be dy (in place). */
  ropeBackward(dy: Tensor, cos: Tensor, sin: Tensor, heads: number, offset: number, dx: Tensor): void;
  /**
   * SwiGLU's product: out = silu(gate)·up, silu(z) = z·σ(z) = z/(1 + exp(−z)) (equal sizes). This and the
   * three below evaluate σ from the side where exp cannot overflow: no finite input meets inf/inf.
   */
  siluMul(gate: Tensor, up: Tensor, out: Tensor): void;
  /** dUp = dy·silu(gate); dGate = dy·up·σ(gate)·(1 + gate·(1 − σ(gate))) (both written). */
  siluMulBackward(dy: Tensor, gate: Tensor, up: Tensor, dGate: Tensor, dUp: Tensor): void;
  /**
   * GPT-2's gelu_new (the tanh approximation): out = x/2·(1 + tanh(u)) = x·σ(2u), u = √(2/π)·(x + 0.044715·x³).
   */
  geluTanh(x: Tensor, out: Tensor): void;
  /** dx = dy·(σ(2u) + 2x·σ(2u)·(1 − σ(2u))·√(2/π)·(1 + 3·0.044715·x²)). */
  geluTanhBackward(dy: Tensor, x: Tensor, dx: Tensor): void;
  /** out [R, W] = x[:, start : start + W] for x [R, C] (one block of a fused projection's columns). */
  sliceColumns(x: Tensor, start: number, out: Tensor): void;
  /** dx[:, start : start + W] += d for d [R, W], dx [R, C]; dx's other columns are unchanged (sliceColumns' gradient). */
  addColumns(dx: Tensor, start: number, d: Tensor): void;
}

export type PoolMode = 'cls' | 'mean';

/**
 * The decoder's choices for attention and attentionBackward; every field absent is the ViT's
 * bidirectional attention.
 */
export interface AttentionOptions {
  /**
   * Key/value heads KV (grouped-query attention): k, v [B, Tk, KV·hd]; query head n reads key/value
   * head ⌊n/(heads/KV)⌋. KV divides heads; default heads.
   */
  kvHeads?: number;
  /** Causal mask: query i sits at position offset + i and may attend key j only if j ≤ offset + i. */
  causal?: boolean;
  /**
   * Causal only: the position of query 0, in [0, Tk − Tq]; default Tk − Tq (the queries are the last
   * Tq positions: 0 for a full sequence, Tk − 1 for a KV-cache decode step with Tq = 1). Tq may
   * differ from Tk only with causal.
   */
  offset?: number;
  /**
   * u32 [B, Tk]: 1 = real key, 0 = padding (forbidden). Key 0 is allowed whatever its mask says (every
   * row keeps at least key 0), so with right padding a padded query row attends the real keys
   * 0 … length − 1.
   */
  keyMask?: Tensor;
}

/** The label value tokenCrossEntropy skips (Hugging Face's −100, as u32). */
export const IGNORE_LABEL = 0xffffffff;

/** One AdamW update's hyper-parameters; `step` t counts from 1. */
export interface AdamWStep {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  step: number;
}

/** A clear, actionable error raised by a backend (limits exceeded, device lost, bad shapes). */
export class BackendError extends Error {
  override name = 'BackendError';
}

/**
 * The GPU device is gone (a driver reset, the tab's GPU process crashed, `device.destroy()`): every
 * tensor of the backend is lost with it. `step` is the training step it interrupted, when known. A new
 * backend (another device, or Wasm) and the last checkpoint take a run on.
 */
export class DeviceLostError extends BackendError {
  override name = 'DeviceLostError';
  constructor(
    message: string,
    readonly step: number | null = null,
  ) {
    super(message);
  }
}
