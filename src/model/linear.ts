// A linear layer of the ViT with its optional trainable part.
//
//   y = x·W0ᵀ + b0 + DropPath(branch(Dropout(x)))        x [B, ..., in], W0 [out, in], y [B, ..., out]
//
// branch: a SNELL-family adapter (x·Ws, Ws recomputed each call), or a dense ΔW [in, out] (sparse tuning
// as earlier methods store it), or none. With `full`, W0 and b0 themselves train. DropPath decides per
// sample b (the leading dimension), dropout per element; the base linear always sees the undropped x.
// Backward: dx = dy·W0 + Dropout(branch'(DropPath(dy))), the same masks applied again (noise.ts).
// Without branch noise (no dropout on its input, no DropPath on its output) and with a frozen W0, a SNELL-
// family branch that forms Ws is folded into the frozen product: y = x·(W0 + Wsᵀ)ᵀ + b0 and
// dx = dy·(W0 + Wsᵀ), one [out, in] addition per pass in place of a second product.

import type { Backend, Tensor } from '../backend.js';
import { type AdapterGradients, type AdapterParams, SnellAdapterOp } from '../adapter/op.js';
import type { AdapterKind } from '../adapter/config.js';
import type { MemoryLedger } from './memory.js';
import type { NoiseSite, NoiseSource } from './noise.js';
import { type Param, param } from './param.js';

export interface BranchSpec {
  kind: AdapterKind | 'dense';
  rank: number;
  kernelHeads: number;
  sparsity: number;
  /** Kernel coefficients c_h (default 0.1·(−1)^h). */
  coeff?: readonly number[];
  dropout: number;
  dropPath: number;
}

/** An adapted layer's factors and sparsity (Linear.adapted). */
export interface AdaptedLayer {
  /** The branch's tensor-name prefix, e.g. `blocks.0.attn.additional_q.learnable`. */
  name: string;
  kind: AdapterKind;
  dIn: number;
  dOut: number;
  A: Param;
  B: Param;
  readonly sparsity: number;
  setSparsity(s: number): void;
}

/** Where a branch's noise comes from in a training step (null when not training): its block and sites. */
export interface BranchNoise {
  source: NoiseSource;
  block: number;
  /** The site of the branch input's dropout; null: the input is not dropped (proj). */
  dropout: NoiseSite | null;
  dropPath: NoiseSite;
}

export class Linear {
  private readonly op: SnellAdapterOp | null;
  private readonly adapter: AdapterParams | null;
  private readonly delta: Tensor | null;
  /** W0 and b0 when they train (full fine-tuning), else empty. */
  private readonly weightParams: Param[] = [];
  /** The branch's trainable tensors, in the order the op returns their gradients. */
  private readonly branchParams: Param[] = [];

  constructor(
    private readonly b: Backend,
    private readonly ledger: MemoryLedger,
    readonly name: string,
    /** Prefix of the branch's tensor names (the reference's `blocks.N.attn.additional_q.learnable`). */
    readonly branchName: string,
    readonly dIn: number,
    readonly dOut: number,
    readonly weight: Tensor,
    readonly bias: Tensor | null,
    private readonly branch: BranchSpec | null,
    branchInit: Record<string, Float32Array> | null,
    trainWeight: boolean,
  ) {
    if (trainWeight) {
      ledger.move(weight, 'trainable');
      this.weightParams.push(param(`${name}.weight`, weight));
      if (bias) {
        ledger.move(bias, 'trainable');
        this.weightParams.push(param(`${name}.bias`, bias));
      }
    }
    this.op = null;
    this.adapter = null;
    this.delta = null;
    if (!branch) return;
    const init = branchInit ?? {};
    const upload = (key: string, shape: number[]) => {
      const data = init[key];
      if (!data) throw new Error(`${name}: the branch initialisation lacks "${key}"`);
      return ledger.within('trainable', () => b.upload(data, shape));
    };
    if (branch.kind === 'dense') {
      this.delta = upload('delta', [dIn, dOut]);
      this.branchParams.push(param(`${branchName}.delta`, this.delta));
      return;
    }
    const k = branch.rank / branch.kernelHeads;
    this.op = new SnellAdapterOp(b, {
      kind: branch.kind,
      dIn,
      dOut,
      rank: branch.rank,
      heads: branch.kernelHeads,
      sparsity: branch.sparsity,
      coeff: branch.coeff,
    });
    const A = upload('In_Qs', [branch.kernelHeads, dIn, k]);
    const B = upload('Out_Qs', [branch.kernelHeads, dOut, k]);
    this.adapter = { A, B };
    this.branchParams.push(param(`${branchName}.In_Qs`, A), param(`${branchName}.Out_Qs`, B));
    if (branch.kind === 'snella') {
      for (const key of ['alpha', 'gamma', 'beta'] as const) {
        this.adapter[key] = upload(key, [1]);
        this.branchParams.push(param(`${branchName}.${key}`, this.adapter[key]!));
      }
    }
  }

  get params(): Param[] {
    return [...this.weightParams, ...this.branchParams];
  }

  /** The branch's settings, or null for a plain linear. */
  get branchSpec(): BranchSpec | null {
    return this.branch;
  }

  /**
   * The SNELL-family branch as SNELLA's allocator sees it: its factors In_Qs (A) and Out_Qs (B), whose
   * `grad` holds the last backward pass's gradient until the optimizer step frees it, and its
   * sparsity, which may change between steps. Null for a plain linear or a dense branch.
   */
  get adapted(): AdaptedLayer | null {
    const op = this.op;
    if (!op) return null;
    const [A, B] = this.branchParams;
    return {
      name: this.branchName,
      kind: op.config.kind,
      dIn: this.dIn,
      dOut: this.dOut,
      A: A!,
      B: B!,
      get sparsity() {
        return op.config.sparsity;
      },
      setSparsity: (s: number) => op.setSparsity(s),
    };
  }

  /**
   * The branch's current update Ws [in, out] (the layer adds x·Ws, so the merged weight is W0 + Wsᵀ),
   * recomputed and read back without noise; null for a plain linear.
   */
  async branchUpdate(): Promise<Float32Array | null> {
    if (!this.branch) return null;
    if (this.delta) return (await this.b.read(this.delta)) as Float32Array;
    const u = this.ledger.within('scratch', () => this.op!.update(this.adapter!));
    try {
      return (await this.b.read(u.Ws)) as Float32Array;
    } finally {
      this.op!.freeUpdate(u);
    }
  }

  /** y [..., out] for x [..., in]; allocations land in the caller's pool. */
  forward(x: Tensor, noise: BranchNoise | null): Tensor {
    const { b } = this;
    const shape = [...x.shape.slice(0, -1), this.dOut];
    const y = b.zeros(shape);
    if (this.folds(noise)) {
      const u = this.ledger.within('scratch', () => this.op!.update(this.adapter!));
      const merged = this.ledger.within('scratch', () => this.mergedWeight(u.Ws));
      this.op!.freeUpdate(u);
      b.matmul(x, merged, y, { transB: true });
      b.free(merged);
      if (this.bias) b.addBias(y, this.bias);
      return y;
    }
    b.matmul(x, this.weight, y, { transB: true });
    if (this.bias) b.addBias(y, this.bias);
    if (!this.branch) return y;
    const xin = this.branchInput(x, noise);
    let yb: Tensor;
    if (this.delta) {
      yb = b.zeros(shape);
      b.matmul(xin, this.delta, yb);
    } else {
      yb = this.ledger.within('scratch', () => this.op!.forward(this.adapter!, xin));
    }
    if (xin !== x) b.free(xin);
    this.addBranchOutput(y, yb, noise);
    return y;
  }

  /** dx for dy [..., out] given the forward input x; sets the gradients of the trainable tensors. */
  backward(dy: Tensor, x: Tensor, noise: BranchNoise | null): Tensor {
    const { b, ledger } = this;
    if (this.folds(noise)) return this.foldedBackward(dy, x);
    const dx = b.zeros(x.shape);
    b.matmul(dy, this.weight, dx);
    if (this.weightParams.length) {
      const [w, bias] = this.weightParams;
      w.grad = ledger.within('gradients', () => b.zeros([this.dOut, this.dIn]));
      b.matmul(dy, x, w.grad, { transA: true });
      if (bias) {
        bias.grad = ledger.within('gradients', () => b.zeros([this.dOut]));
        b.sumRows(dy, bias.grad);
      }
    }
    if (!this.branch) return dx;
    const dyb = this.branchGradient(dy, noise);
    const xin = this.branchInput(x, noise);
    let dxb: Tensor;
    if (this.delta) {
      const g = ledger.within('gradients', () => b.zeros([this.dIn, this.dOut]));
      b.matmul(xin, dyb, g, { transA: true });
      this.branchParams[0].grad = g;
      dxb = b.zeros(x.shape);
      b.matmul(dyb, this.delta, dxb, { transB: true });
    } else {
      const g = ledger.within('scratch', () => this.op!.backward(this.adapter!, xin, dyb));
      dxb = g.dx;
      this.setBranchGradients(g);
    }
    if (xin !== x) b.free(xin);
    if (dyb !== dy) b.free(dyb);
    if (noise?.dropout && this.branch.dropout > 0) {
      const masked = b.zeros(x.shape);
      noise.source.apply(noise.block, noise.dropout, dxb, this.branch.dropout, masked);
      b.free(dxb);
      dxb = masked;
    }
    b.addInto(dx, dxb);
    b.free(dxb);
    return dx;
  }

  /** Whether this call folds the branch into the frozen product (see the header). */
  private folds(noise: BranchNoise | null): boolean {
    const branch = this.branch;
    if (!this.op || this.op.lowRank || this.weightParams.length > 0 || !branch) return false;
    return !noise || ((!noise.dropout || branch.dropout === 0) && branch.dropPath === 0);
  }

  /** W0 + Wsᵀ [out, in] for this step's update Ws [in, out]. */
  private mergedWeight(Ws: Tensor): Tensor {
    const merged = this.b.zeros([this.dOut, this.dIn]);
    this.b.addTransposed(this.weight, Ws, merged);
    return merged;
  }

  /** dx = dy·(W0 + Wsᵀ) and the branch's gradients from one recomputed update. */
  private foldedBackward(dy: Tensor, x: Tensor): Tensor {
    const { b, ledger } = this;
    const op = this.op!;
    const u = ledger.within('scratch', () => op.update(this.adapter!));
    const merged = ledger.within('scratch', () => this.mergedWeight(u.Ws));
    const dx = b.zeros(x.shape);
    b.matmul(dy, merged, dx);
    b.free(merged);
    const g = ledger.within('scratch', () => op.gradients(this.adapter!, u, x, dy));
    op.freeUpdate(u);
    this.setBranchGradients(g);
    return dx;
  }

  private setBranchGradients(g: Omit<AdapterGradients, 'dx'>): void {
    const grads = [g.dA, g.dB, g.dAlpha, g.dGamma, g.dBeta].filter((t): t is Tensor => t !== null);
    grads.forEach((t, i) => {
      this.ledger.move(t, 'gradients');
      this.branchParams[i].grad = t;
    });
  }

  private branchInput(x: Tensor, noise: BranchNoise | null): Tensor {
    if (!noise?.dropout || !this.branch || this.branch.dropout === 0) return x;
    const xin = this.b.zeros(x.shape);
    noise.source.apply(noise.block, noise.dropout, x, this.branch.dropout, xin);
    return xin;
  }

  /** DropPath of the branch output (forward) or of its gradient (backward): the same mask. */
  private branchGradient(dy: Tensor, noise: BranchNoise | null): Tensor {
    if (!noise || !this.branch || this.branch.dropPath === 0) return dy;
    const d = this.b.zeros(dy.shape);
    noise.source.apply(noise.block, noise.dropPath, dy, this.branch.dropPath, d);
    return d;
  }

  private addBranchOutput(y: Tensor, yb: Tensor, noise: BranchNoise | null): void {
    if (noise && this.branch!.dropPath > 0) {
      const d = this.branchGradient(yb, noise);
      this.b.free(yb);
      yb = d;
    }
    this.b.addInto(y, yb);
    this.b.free(yb);
  }
}
