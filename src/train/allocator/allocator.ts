// SNELLA's sparsity allocator on a backend: the bi-level competition that moves sparsity between
// adapted layers (test/vectors/README.md, "SNELLA sparsity allocator").
//   every optimizer step:  Ī, Ū of each adapter factor (In_Qs = A, Out_Qs = B) updated on the device
//                          from θ (after the step) and g (backend.importance; nothing is read back);
//   every epoch t:         the budget of budget.ts; when it re-masks, S_l = mean(Ī⊙Ū | A) + mean(Ī⊙Ū | B)
//                          read once (float64 here, from the float32 averages) and split.ts hands each
//                          layer its kept count k_l and sparsity s_l for the epoch's forward passes.
// A split that cannot be made keeps the previous sparsities and says why in the epoch's report.

import type { Backend, Tensor } from '../../backend.js';
import { budgetAt, budgetBounds, type BudgetSchedule } from './budget.js';
import { splitBudget } from './split.js';

export interface AllocatorSettings extends BudgetSchedule {
  /** Decay of the sensitivity average Ī (the authors' beta1). */
  beta1: number;
  /** Decay of the uncertainty average Ū (beta2). */
  beta2: number;
}

/** One adapted layer as the allocator sees it: its name, volume and factors. */
export interface AllocatedLayer {
  name: string;
  dIn: number;
  dOut: number;
  A: Tensor;
  B: Tensor;
}

/** What one epoch's schedule step decided. */
export interface EpochAllocation {
  epoch: number;
  budget: number;
  remask: boolean;
  /** Each layer's sparsity for this epoch, in layer order. */
  sparsity: number[];
  /** Kept entries per layer (Σ is at most the budget), when this epoch re-masked. */
  kept: number[] | null;
  /** Why a re-mask epoch kept the previous sparsities, else null. */
  unsplit: string | null;
  /** Averaged entries skipped so far because θ·g was infinite. */
  skipped: number;
}

interface Averages {
  ipt: Tensor;
  unc: Tensor;
}

export class SparsityAllocator {
  private readonly averages: { A: Averages; B: Averages }[];
  private readonly skipped: Tensor;
  private readonly bounds: { initial: number; target: number };
  private current: number[];
  /** N_l = dIn·dOut of each layer, in layer order. */
  readonly volumes: readonly number[];

  constructor(
    readonly backend: Backend,
    readonly layers: readonly AllocatedLayer[],
    readonly settings: AllocatorSettings,
  ) {
    const zeros = (t: Tensor): Averages => ({ ipt: backend.zeros(t.shape), unc: backend.zeros(t.shape) });
    this.averages = layers.map((l) => ({ A: zeros(l.A), B: zeros(l.B) }));
    this.skipped = backend.zeros([1], 'u32');
    this.volumes = layers.map((l) => l.dIn * l.dOut);
    this.bounds = budgetBounds(this.volumes, settings);
    this.current = layers.map(() => settings.initSparsity);
  }

  /** The sparsities in force, in layer order. */
  get sparsity(): readonly number[] {
    return this.current;
  }

  /** After an optimizer step: folds |θ·g| into the averages, for gradients dA, dB of each layer in order. */
  track(gradients: readonly { dA: Tensor; dB: Tensor }[]): void {
    const { beta1, beta2 } = this.settings;
    this.layers.forEach((l, i) => {
      const avg = this.averages[i]!;
      this.backend.importance(l.A, gradients[i]!.dA, avg.A.ipt, avg.A.unc, beta1, beta2, this.skipped);
      this.backend.importance(l.B, gradients[i]!.dB, avg.B.ipt, avg.B.unc, beta1, beta2, this.skipped);
    });
  }

  /** The schedule step of epoch `t` (0-based), run before the epoch trains. */
  async startEpoch(t: number): Promise<EpochAllocation> {
    const { budget, remask } = budgetAt(t, this.bounds, this.settings);
    const skipped = ((await this.backend.read(this.skipped)) as Uint32Array)[0]!;
    const report = { epoch: t, budget, remask, kept: null, unsplit: null, skipped };
    if (!remask) return { ...report, sparsity: [...this.current] };
    const split = splitBudget(await this.scores(), this.volumes, budget);
    if (!split.ok)
      return { ...report, sparsity: [...this.current], unsplit: `${split.reason}: the sparsities stay as they were` };
    this.current = split.sparsity;
    return { ...report, sparsity: [...this.current], kept: split.kept };
  }

  /** S_l = mean(Ī⊙Ū over A) + mean(Ī⊙Ū over B), in float64 from the device's float32 averages. */
  private async scores(): Promise<number[]> {
    const mean = async (a: Averages) => {
      const ipt = (await this.backend.read(a.ipt)) as Float32Array;
      const unc = (await this.backend.read(a.unc)) as Float32Array;
      let s = 0;
      for (let i = 0; i < ipt.length; i++) s += ipt[i]! * unc[i]!;
      return s / ipt.length;
    };
    const out: number[] = [];
    for (const avg of this.averages) out.push((await mean(avg.A)) + (await mean(avg.B)));
    return out;
  }

  /** The averages by name (`<layer>.In_Qs.ipt`, …) and the sparsities, for a checkpoint. */
  state(): { tensors: Map<string, Tensor>; sparsity: number[] } {
    const tensors = new Map<string, Tensor>();
    this.layers.forEach((l, i) => {
      const avg = this.averages[i]!;
      for (const [factor, a] of [
        ['In_Qs', avg.A],
        ['Out_Qs', avg.B],
      ] as const) {
        tensors.set(`${l.name}.${factor}.ipt`, a.ipt);
        tensors.set(`${l.name}.${factor}.unc`, a.unc);
      }
    });
    tensors.set('skipped', this.skipped);
    return { tensors, sparsity: [...this.current] };
  }

  /** Restores what `state()` gave, read back from a checkpoint. */
  restore(values: ReadonlyMap<string, Float32Array | Uint32Array>, sparsity: readonly number[]): void {
    if (sparsity.length !== this.layers.length) {
      throw new Error(
        `the checkpoint holds ${sparsity.length} layer sparsities for ${this.layers.length} adapted layers: it comes from another model`,
      );
    }
    for (const [name, t] of this.state().tensors) {
      const v = values.get(name);
      if (!v) throw new Error(`the checkpoint has no allocator state "${name}": it was written without the allocator`);
      this.backend.write(t, v);
    }
    this.current = [...sparsity];
  }

  /** Bytes of device memory the allocator holds: two averages per adapter factor, and a counter. */
  get bytes(): number {
    return this.averages.reduce((n, a) => n + 4 * 2 * (a.A.ipt.size + a.B.ipt.size), 0) + 4;
  }

  free(): void {
    for (const t of this.state().tensors.values()) this.backend.free(t);
  }
}
