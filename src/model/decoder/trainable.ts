// The decoder's whole tensors that train with method `full` (embeddings, norms) or as heads (lm_head,
// score): each registered once under its Hugging Face name, held in the 'trainable' pool. A backward
// pass first zeroes one gradient per tensor (in 'gradients'); the ops then accumulate into it, so a
// tensor used twice (a tied embedding: the lookup and the head) sums both contributions.

import type { Backend, Tensor } from '../../backend.js';
import type { MemoryLedger } from '../memory.js';
import { type Param, param } from '../param.js';

export class TrainableTensors {
  private readonly byTensor = new Map<Tensor, Param>();

  constructor(
    private readonly b: Backend,
    private readonly ledger: MemoryLedger,
  ) {}

  /** Registers `tensor` under `name` (once; a second registration of the same tensor is ignored). */
  add(name: string, tensor: Tensor): void {
    if (this.byTensor.has(tensor)) return;
    this.ledger.move(tensor, 'trainable');
    this.byTensor.set(tensor, param(name, tensor));
  }

  has(t: Tensor): boolean {
    return this.byTensor.has(t);
  }

  get params(): Param[] {
    return [...this.byTensor.values()];
  }

  /** A zero gradient for every registered tensor (an unfreed one from an earlier pass is freed). */
  zeroGrads(): void {
    for (const p of this.byTensor.values()) {
      if (p.grad) this.b.free(p.grad);
      p.grad = this.ledger.within('gradients', () => this.b.zeros(p.tensor.shape));
    }
  }

  /** The gradient being accumulated for t in this backward pass, or null when t is frozen. */
  grad(t: Tensor): Tensor | null {
    return this.byTensor.get(t)?.grad ?? null;
  }
}
