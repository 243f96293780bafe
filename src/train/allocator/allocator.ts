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

/** An allocator's state as plain data, for a run checkpoint. */
export interface AllocatorSnapshot {
  /** Ī and Ū of every factor, by `<layer>.<In_Qs|Out_Qs>.<ipt|unc>`. */
  averages: Map<string, Float32Array>;
  /** Non-finite entries skipped so far. */
  skipped: number;
  /** The sparsities in force, in layer order. */
  sparsity: number[];
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

  /** The averages by name (`<layer>.In_Qs.ipt`, `<layer>.Out_Qs.unc`, …), each a device tensor, in layer order. */
  averageTensors(): Map<string, Tensor> {
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
    return tensors;
  }

  /** Everything a resumed run needs: the averages (read back), the skip count and the sparsities. */
  async snapshot(): Promise<AllocatorSnapshot> {
    const averages = new Map<string, Float32Array>();
    for (const [name, t] of this.averageTensors()) averages.set(name, (await this.backend.read(t)) as Float32Array);
    const skipped = ((await this.backend.read(this.skipped)) as Uint32Array)[0]!;
    return { averages, skipped, sparsity: [...this.current] };
  }

  /** Continues from a snapshot of an allocator over the same layers. */
  restore(snapshot: AllocatorSnapshot): void {
    if (snapshot.sparsity.length !== this.layers.length) {
      throw new Error(
        `the checkpoint holds ${snapshot.sparsity.length} layer sparsities for ${this.layers.length} adapted layers: resume with the plan that wrote it`,
      );
    }
    for (const [name, t] of this.averageTensors()) {
      const v = snapshot.averages.get(name);
      if (!v || v.length !== t.size) {
        throw new Error(
          `the checkpoint has ${v ? `${v.length} values` : 'no entry'} for the allocator's "${name}", the model needs ${t.size}: resume with the plan that wrote it`,
        );
      }
      this.backend.write(t, v);
    }
    this.backend.write(this.skipped, new Uint32Array([snapshot.skipped]));
    this.current = [...snapshot.sparsity];
  }

  /** Bytes of device memory the allocator holds: two averages per adapter factor, and a counter. */
  get bytes(): number {
    return this.averages.reduce((n, a) => n + 4 * 2 * (a.A.ipt.size + a.B.ipt.size), 0) + 4;
  }

  free(): void {
    for (const t of this.averageTensors().values()) this.backend.free(t);
    this.backend.free(this.skipped);
  }
}
