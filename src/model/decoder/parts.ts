// A decoder's tensors from its weight map (Hugging Face names), checked and uploaded: a missing tensor
// or a wrong size names the tensor and both shapes. Projections become Linears (model/linear.ts) with
// their weight as [out, in]: a GPT-2 Conv1D weight [in, out] is transposed once on the host. A
// projection the plan targets gets a branch named `<layer prefix><path>.snell` (In_Qs, Out_Qs, …):
// its stored values when the weights hold them, else a fresh start — SNELL's kaiming-uniform factors
// (±1/√(rows·r/H)), or PEFT's LoRA (A kaiming-uniform ±1/√in, B = 0, so ΔW = 0 at step 0), or a dense
// ΔW = 0. With method `full` every tensor trains: `weight` registers it (`trainable`) and projections
// train their weight and bias.

import { AdapterConfigError } from '../../adapter/config.js';
import type { Backend, Tensor } from '../../backend.js';
import type { NamedArray, Weights } from '../../core/weights.js';
import { Linear, type BranchSpec } from '../linear.js';
import type { MemoryLedger } from '../memory.js';
import { branchMethod, type DecoderConfig, type DecoderPlan, layerPrefix, type Projection } from './config.js';
import { TrainableTensors } from './trainable.js';

export class DecoderParts {
  /** The whole tensors that train (method full, heads), by tensor. */
  readonly trainable: TrainableTensors;
  /** Method `full`: every tensor trains. */
  readonly full: boolean;

  constructor(
    readonly backend: Backend,
    readonly ledger: MemoryLedger,
    readonly weights: Weights,
    readonly config: DecoderConfig,
    readonly plan: DecoderPlan | null,
    readonly next: () => number,
  ) {
    this.trainable = new TrainableTensors(backend, ledger);
    this.full = plan?.method === 'full';
  }

  get(name: string, shape: readonly number[]): NamedArray {
    const w = this.weights.get(name);
    if (!w) throw new AdapterConfigError(`the weights have no tensor "${name}" (shape [${shape.join(', ')}] expected)`);
    if (w.data.length !== shape.reduce((a, b) => a * b, 1)) {
      throw new AdapterConfigError(`tensor "${name}" has shape [${w.shape.join(', ')}], expected [${shape.join(', ')}]`);
    }
    return w;
  }

  frozen(name: string, shape: readonly number[]): Tensor {
    return this.uploaded(name, shape, 'frozen');
  }

  /**
   * A model tensor (embedding, norm, head): trainable with method `full` or with `train`, else frozen.
   * It is uploaded into its own pool, so the frozen pool's peak never counts a trainable tensor.
   */
  weight(name: string, shape: readonly number[], train = this.full): Tensor {
    if (!train) return this.frozen(name, shape);
    const t = this.uploaded(name, shape, 'trainable');
    this.trainable.add(name, t);
    return t;
  }

  private uploaded(name: string, shape: readonly number[], pool: 'frozen' | 'trainable'): Tensor {
    const data = this.get(name, shape).data;
    return this.ledger.within(pool, () => this.backend.upload(data, shape));
  }

  /** Projection `p` of layer l as a Linear, with its branch when the plan targets it there. */
  projection(l: number, p: Projection): Linear {
    const c = this.config;
    const prefix = layerPrefix(c.arch, l);
    const [dIn, dOut] = p.dims(c);
    const name = `${prefix}${p.path}`;
    const stored = this.get(`${name}.weight`, p.conv1d ? [dIn, dOut] : [dOut, dIn]).data;
    const pool = this.full ? 'trainable' : 'frozen';
    const weight = this.ledger.within(pool, () =>
      this.backend.upload(p.conv1d ? transpose(stored, dIn, dOut) : stored, [dOut, dIn]),
    );
    const bias = p.bias(c) ? this.uploaded(`${name}.bias`, [dOut], pool) : null;
    const branchName = `${name}.snell`;
    const spec = this.branchSpec(l, p, branchName);
    const init = spec ? this.branchValues(branchName, spec, dIn, dOut) : null;
    return new Linear(this.backend, this.ledger, name, branchName, dIn, dOut, weight, bias, spec, init, this.full);
  }

  private branchSpec(l: number, p: Projection, branchName: string): BranchSpec | null {
    const plan = this.plan;
    if (!plan || !branchMethod(plan.method)) return null;
    const [first, last] = plan.layers ?? [0, this.config.layers];
    const target = p.path.split('.').pop()!;
    if (l < first || l >= last || !plan.targets.includes(target)) return null;
    const coeff = this.weights.get(`${branchName}.shared_coeff_fc`)?.data;
    return {
      kind: plan.method,
      rank: plan.rank,
      kernelHeads: plan.kernelHeads,
      sparsity: plan.layerSparsity?.[branchName] ?? plan.sparsity,
      ...(coeff && { coeff: Array.from(coeff) }),
      dropout: 0,
      dropPath: 0,
    };
  }

  private branchValues(prefix: string, spec: BranchSpec, dIn: number, dOut: number): Record<string, Float32Array> {
    const stored = (key: string) => this.weights.get(`${prefix}.${key}`)?.data;
    if (spec.kind === 'dense') {
      const name = `${prefix}.delta`;
      return { delta: this.weights.get(name) ? this.get(name, [dIn, dOut]).data : new Float32Array(dIn * dOut) };
    }
    const k = spec.rank / spec.kernelHeads;
    const uniform = (count: number, bound: number) => Float32Array.from({ length: count }, () => (2 * this.next() - 1) * bound);
    const H = spec.kernelHeads;
    const lora = spec.kind === 'lora';
    const values: Record<string, Float32Array> = {
      In_Qs: stored('In_Qs') ?? uniform(H * dIn * k, lora ? 1 / Math.sqrt(dIn) : 1 / Math.sqrt(dIn * k)),
      Out_Qs: stored('Out_Qs') ?? (lora ? new Float32Array(H * dOut * k) : uniform(H * dOut * k, 1 / Math.sqrt(dOut * k))),
    };
    if (spec.kind === 'snella') {
      values.alpha = stored('alpha') ?? Float32Array.of(1);
      values.gamma = stored('gamma') ?? Float32Array.of(1);
      values.beta = stored('beta') ?? Float32Array.of(0);
    }
    return values;
  }
}

/** [rows, cols] → [cols, rows]. */
function transpose(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c]!;
  return out;
}
