// The SNELL adapter op, composed from backend primitives: the branch y = x·Ws added beside a frozen
// linear layer, and its backward pass. Ws is recomputed from (A, B) on every call and never kept
// (gradient checkpointing, as the reference does).
//
// forward:  W0 = merge(A, B)              [n, m]
//           W  = W0 (+ α·softmax(W0/γ) + β for snella)
//           t  = quantile(|W|, s);  Ws = W·|W|·[|W| > t]      (Ws = W when not sparsified)
//           y  = x·Ws                      x [R, n] → y [R, m]   (Ws mostly zeros: the sparseB hint)
// backward: dx = dy·Wsᵀ;  dW = (xᵀ·dy)·|W|·[|W| > t] (or xᵀ·dy), formed at the kept entries only (keptGradient)
//           snella: (dW0, dα, dγ, dβ) = mixtureBackward(dW, …);  (dA, dB) = mergeBackward(dW0)
//
// Low rank: plain LoRA with one head and no sparsity (W = A·Bᵀ, A [1, n, k], B [1, m, k]; the
// linear kernel has no coefficient) never forms the [n, m] matrix in forward or backward:
//   t = x·A [R, k];  y = t·Bᵀ
//   u = dy·B [R, k];  dx = u·Aᵀ;  dA = xᵀ·u [n, k];  dB = dyᵀ·t [m, k]   (t recomputed)
// O(R·k·(n + m)) instead of O(R·n·m). More heads take the merged path (the backend's tensors have no
// views to take one head's slice). `update` always forms the dense W (merged-weight export).

import type { Backend, Tensor } from '../backend.js';
import {
  AdapterConfigError,
  type AdapterConfig,
  checkSparsity,
  headDim,
  isSparsified,
  mergeKernelOf,
  resolveConfig,
} from './config.js';

export interface AdapterParams {
  A: Tensor;
  B: Tensor;
  /** SNELLA's mixture scalars (1-element tensors), required for kind 'snella'. */
  alpha?: Tensor;
  gamma?: Tensor;
  beta?: Tensor;
}

/** The merged update of one step. Every tensor belongs to the caller (free it with `freeUpdate`). */
export interface MergedUpdate {
  /** The kernel's output before the mixture (only kept separately for snella). */
  W0: Tensor | null;
  /** softmax(W0/γ) over o (snella only). */
  P: Tensor | null;
  /** The dense update W [n, m]. */
  W: Tensor;
  /** The applied update: W·|W|·[|W| > t], or W itself when not sparsified. */
  Ws: Tensor;
  /** quantile(|W|, s) as a 1-element tensor, or null when not sparsified. */
  threshold: Tensor | null;
  /** Number of kept entries (1-element u32), or null when not sparsified. */
  kept: Tensor | null;
}

export interface AdapterGradients {
  dx: Tensor;
  dA: Tensor;
  dB: Tensor;
  dAlpha: Tensor | null;
  dGamma: Tensor | null;
  dBeta: Tensor | null;
}

export class SnellAdapterOp {
  private settings: Required<AdapterConfig>;
  /** True when forward and backward run in low rank (see the header) instead of through W. */
  readonly lowRank: boolean;

  constructor(
    readonly backend: Backend,
    config: AdapterConfig,
  ) {
    this.settings = resolveConfig(config);
    const c = this.settings;
    this.lowRank = c.kind === 'lora' && !isSparsified(c) && c.heads === 1;
    const elements = this.config.dIn * this.config.dOut;
    if (elements > backend.maxElements) {
      throw new AdapterConfigError(
        `a ${this.config.dIn}×${this.config.dOut} update has ${elements} elements, more than this ${backend.kind} device holds in one tensor (${backend.maxElements}): use a smaller layer or a device with larger storage-buffer limits`,
      );
    }
  }

  get config(): Readonly<Required<AdapterConfig>> {
    return this.settings;
  }

  /**
   * Sets the sparsity used from the next update on (SNELLA's allocator moves it between epochs).
   * Whether the op sparsifies at all cannot change: snella always does, klora never, snell and lora
   * only when built with s > 0.
   */
  setSparsity(sparsity: number): void {
    checkSparsity(this.settings.kind, sparsity);
    const next = { ...this.settings, sparsity };
    if (isSparsified(next) !== isSparsified(this.settings)) {
      throw new AdapterConfigError(
        `a ${this.settings.kind} adapter built with sparsity ${this.settings.sparsity} cannot switch to ${sparsity}: sparsifying or not is fixed when the adapter is built`,
      );
    }
    this.settings = next;
  }

  /** Computes the merged and sparsified update (W, Ws, threshold, kept) for the current parameters. */
  update(params: AdapterParams): MergedUpdate {
    this.checkParams(params);
    const { backend: b, config: c } = this;
    const shape = [c.dIn, c.dOut];
    const kernel = mergeKernelOf(c.kind);
    let W0: Tensor | null = null;
    let P: Tensor | null = null;
    let W = b.zeros(shape);
    b.merge(params.A, params.B, kernel, c.coeff, W);
    if (c.kind === 'snella') {
      W0 = W;
      P = b.zeros(shape);
      W = b.zeros(shape);
      b.mixture(W0, params.alpha!, params.gamma!, params.beta!, W, P);
    }
    if (!isSparsified(c)) return { W0, P, W, Ws: W, threshold: null, kept: null };
    const threshold = b.zeros([1]);
    const kept = b.zeros([1], 'u32');
    const Ws = b.zeros(shape);
    b.quantileAbs(W, c.sparsity, threshold);
    b.sparsify(W, threshold, Ws, kept);
    return { W0, P, W, Ws, threshold, kept };
  }

  freeUpdate(u: MergedUpdate): void {
    for (const t of new Set([u.W0, u.P, u.W, u.Ws, u.threshold, u.kept])) if (t) this.backend.free(t);
  }

  /** y = x·Ws for x [..., n] (R rows in all); returns y [..., m], x's leading dimensions kept. */
  forward(params: AdapterParams, x: Tensor): Tensor {
    const rows = this.rowsOf(x, this.config.dIn, 'x');
    if (this.lowRank) return this.forwardLowRank(params, x, rows);
    const u = this.update(params);
    const y = this.backend.zeros(rowsLike(x, this.config.dOut));
    this.backend.matmul(x, u.Ws, y, { sparseB: u.threshold !== null });
    this.freeUpdate(u);
    return y;
  }

  /** Gradients of L with respect to x (dx of x's shape) and the adapter's parameters, given dy = ∂L/∂y [..., m]. */
  backward(params: AdapterParams, x: Tensor, dy: Tensor): AdapterGradients {
    const { backend: b, config: c } = this;
    const rows = this.rowsOf(x, c.dIn, 'x');
    if (this.rowsOf(dy, c.dOut, 'dy') !== rows) {
      throw new AdapterConfigError(`dy has ${dy.size / c.dOut} rows but x has ${rows}: pass the gradient of this call's output`);
    }
    if (this.lowRank) return this.backwardLowRank(params, x, dy, rows);
    const u = this.update(params);
    const dx = b.zeros(x.shape);
    b.matmul(dy, u.Ws, dx, { transB: true, sparseB: u.threshold !== null });
    const grads = this.gradients(params, u, x, dy);
    this.freeUpdate(u);
    return { dx, ...grads };
  }

  /**
   * The parameters' gradients of y = x·Ws given this step's update `u` (from `update`, still the caller's)
   * and dy = ∂L/∂y, without dx: for a caller that folds Ws into another product (the merged path only).
   */
  gradients(params: AdapterParams, u: MergedUpdate, x: Tensor, dy: Tensor): Omit<AdapterGradients, 'dx'> {
    const { backend: b, config: c } = this;
    if (this.lowRank) throw new AdapterConfigError('a low-rank LoRA op never forms Ws: call backward');
    let dW = b.zeros([c.dIn, c.dOut]);
    if (u.threshold) b.keptGradient(x, dy, u.W, u.threshold, dW);
    else b.matmul(x, dy, dW, { transA: true });
    let dAlpha: Tensor | null = null;
    let dGamma: Tensor | null = null;
    let dBeta: Tensor | null = null;
    if (c.kind === 'snella') {
      const dW0 = b.zeros([c.dIn, c.dOut]);
      dAlpha = b.zeros([1]);
      dGamma = b.zeros([1]);
      dBeta = b.zeros([1]);
      b.mixtureBackward(dW, u.W0!, u.P!, params.alpha!, params.gamma!, dW0, dAlpha, dGamma, dBeta);
      b.free(dW);
      dW = dW0;
    }
    const k = headDim(c);
    const dA = b.zeros([c.heads, c.dIn, k]);
    const dB = b.zeros([c.heads, c.dOut, k]);
    b.mergeBackward(params.A, params.B, dW, mergeKernelOf(c.kind), c.coeff, dA, dB);
    b.free(dW);
    return { dA, dB, dAlpha, dGamma, dBeta };
  }

  /** y = (x·A)·Bᵀ. */
  private forwardLowRank(params: AdapterParams, x: Tensor, rows: number): Tensor {
    const { backend: b, config: c } = this;
    this.checkParams(params);
    const t = b.zeros([rows, headDim(c)]);
    b.matmul(x, params.A, t);
    const y = b.zeros(rowsLike(x, c.dOut));
    b.matmul(t, params.B, y, { transB: true });
    b.free(t);
    return y;
  }

  /** dx = (dy·B)·Aᵀ, dA = xᵀ·(dy·B), dB = dyᵀ·(x·A). */
  private backwardLowRank(params: AdapterParams, x: Tensor, dy: Tensor, rows: number): AdapterGradients {
    const { backend: b, config: c } = this;
    this.checkParams(params);
    const k = headDim(c);
    const u = b.zeros([rows, k]);
    b.matmul(dy, params.B, u);
    const dx = b.zeros(x.shape);
    b.matmul(u, params.A, dx, { transB: true });
    const dA = b.zeros([1, c.dIn, k]);
    b.matmul(x, u, dA, { transA: true });
    b.free(u);
    const t = b.zeros([rows, k]);
    b.matmul(x, params.A, t);
    const dB = b.zeros([1, c.dOut, k]);
    b.matmul(dy, t, dB, { transA: true });
    b.free(t);
    return { dx, dA, dB, dAlpha: null, dGamma: null, dBeta: null };
  }

  private rowsOf(t: Tensor, width: number, name: string): number {
    const last = t.shape[t.shape.length - 1];
    if (last !== width || t.size % width !== 0) {
      throw new AdapterConfigError(`${name} has shape [${t.shape.join(', ')}], its last dimension must be ${width}`);
    }
    return t.size / width;
  }

  private checkParams(p: AdapterParams): void {
    const c = this.config;
    const k = headDim(c);
    expectShape(p.A, [c.heads, c.dIn, k], 'A (In_Qs)');
    expectShape(p.B, [c.heads, c.dOut, k], 'B (Out_Qs)');
    if (c.kind === 'snella') {
      for (const [name, t] of [
        ['alpha', p.alpha],
        ['gamma', p.gamma],
        ['beta', p.beta],
      ] as const) {
        if (!t) throw new AdapterConfigError(`a snella adapter needs the scalar ${name}`);
        expectShape(t, [1], name);
      }
    }
  }
}

/** x's shape with its last dimension replaced by `width`. */
function rowsLike(x: Tensor, width: number): number[] {
  return [...x.shape.slice(0, -1), width];
}

function expectShape(t: Tensor, shape: readonly number[], name: string): void {
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new AdapterConfigError(`${name} has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}]`);
  }
}
