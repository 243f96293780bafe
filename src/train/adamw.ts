// torch.optim.AdamW over a model's trainable tensors, with optional clipping of the global gradient
// norm (torch.nn.utils.clip_grad_norm_). The moments live in the optimizer pool; gradients are
// consumed (freed) by each step. Weight decay skips tensors marked decay = false (model/param.ts: 1-D tensors, biases, cls_token, pos_embed).

import type { Backend, Tensor } from '../backend.js';
import type { MemoryLedger } from '../model/memory.js';
import type { Param } from '../model/param.js';

export interface AdamWConfig {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** Clip the global L2 norm of all gradients to this; null: no clipping. */
  maxGradNorm: number | null;
}

export const ADAMW_DEFAULTS: AdamWConfig = {
  lr: 1e-3,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  weightDecay: 1e-4,
  maxGradNorm: null,
};

export interface AdamWSnapshot {
  steps: number;
  /** `<param>.exp_avg` and `<param>.exp_avg_sq`, as torch names the moments. */
  moments: Map<string, Float32Array>;
}

export class AdamW {
  private readonly state: Array<{ p: Param; m: Tensor; v: Tensor }>;
  private t = 0;

  constructor(
    private readonly b: Backend,
    ledger: MemoryLedger,
    params: Param[],
    readonly config: AdamWConfig,
  ) {
    this.state = ledger.within('optimizer', () =>
      params.map((p) => ({ p, m: b.zeros(p.tensor.shape), v: b.zeros(p.tensor.shape) })),
    );
  }

  get steps(): number {
    return this.t;
  }

  /** Everything a resumed run needs: the step count and both moments of every parameter, by name. */
  async snapshot(): Promise<AdamWSnapshot> {
    const moments = new Map<string, Float32Array>();
    for (const { p, m, v } of this.state) {
      moments.set(`${p.name}.exp_avg`, (await this.b.read(m)) as Float32Array);
      moments.set(`${p.name}.exp_avg_sq`, (await this.b.read(v)) as Float32Array);
    }
    return { steps: this.t, moments };
  }

  /** Continues from a snapshot of an optimizer over the same parameters. */
  restore(snapshot: AdamWSnapshot): void {
    for (const { p, m, v } of this.state) {
      for (const [suffix, t] of [
        ['exp_avg', m],
        ['exp_avg_sq', v],
      ] as const) {
        const data = snapshot.moments.get(`${p.name}.${suffix}`);
        if (!data || data.length !== t.size) {
          throw new Error(
            `the optimizer state has ${data ? `${data.length} values` : 'no entry'} for ${p.name}.${suffix}, ` +
              `the model has ${t.size}: resume with the plan (method, rank, targets) that wrote it`,
          );
        }
        this.b.write(t, data);
      }
    }
    this.t = snapshot.steps;
  }

  /** Drops the gradients of a step that is not taken (a skipped non-finite step): no update, no step count. */
  discardGradients(): void {
    for (const { p } of this.state) {
      if (p.grad) this.b.free(p.grad);
      p.grad = null;
    }
  }

  /**
   * One update of every parameter with a gradient, at learning rate `lr`; then `afterUpdate` (which
   * sees the updated parameters and, in their `grad`, the gradients the step used); then frees the
   * gradients.
   */
  step(lr = this.config.lr, afterUpdate?: () => void): void {
    const { b, config: c } = this;
    this.t++;
    let scale: Tensor | null = null;
    if (c.maxGradNorm !== null) {
      const sumSq = b.zeros([1]);
      scale = b.zeros([1]);
      for (const { p } of this.state) if (p.grad) b.sumSquares(p.grad, sumSq, true);
      b.clipFactor(sumSq, c.maxGradNorm, scale);
      b.free(sumSq);
    }
    for (const { p, m, v } of this.state) {
      if (!p.grad) continue;
      b.adamw(p.tensor, p.grad, m, v, scale, {
        lr,
        beta1: c.beta1,
        beta2: c.beta2,
        eps: c.eps,
        weightDecay: p.decay ? c.weightDecay : 0,
        step: this.t,
      });
    }
    afterUpdate?.();
    for (const { p } of this.state) {
      if (p.grad) b.free(p.grad);
      p.grad = null;
    }
    if (scale) b.free(scale);
  }
}
