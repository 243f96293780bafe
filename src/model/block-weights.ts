// A block's layers from the model's weights, by the model's parameter names (timm's, q/k/v separate):
// checked reads (a missing tensor or a wrong size names the tensor and both shapes), uploads into the
// frozen or trainable pool, and each branch's initial values: the stored ones when the weights hold
// them, else the reference's fresh initialisation. Checkpoint layouts are io/'s: loadCheckpoint gives
// these names.

import type { Backend, Tensor } from '../backend.js';
import type { NamedArray, Weights } from '../core/weights.js';
import { AdapterConfigError } from '../adapter/config.js';
import type { BlockLayers } from './block.js';
import type { LinearName, TuningPlan, ViTConfig } from './config.js';
import { truncatedNormal } from './init.js';
import { Linear, type BranchSpec } from './linear.js';
import type { MemoryLedger } from './memory.js';
import { type Param, param } from './param.js';

const BRANCH_PREFIX: Record<LinearName, string> = {
  q: 'attn.additional_q',
  k: 'attn.additional_k',
  v: 'attn.additional_v',
  proj: 'attn.additional_proj',
  fc1: 'mlp.additional_fc1',
  fc2: 'mlp.additional_fc2',
};
const LINEAR_PATH: Record<LinearName, string> = {
  q: 'attn.q',
  k: 'attn.k',
  v: 'attn.v',
  proj: 'attn.proj',
  fc1: 'mlp.fc1',
  fc2: 'mlp.fc2',
};

/** What building a block needs from the model under construction. */
export interface BlockParts {
  backend: Backend;
  ledger: MemoryLedger;
  weights: Weights;
  config: ViTConfig;
  init: () => number;
  get: (name: string, shape: readonly number[]) => NamedArray;
  frozen: (name: string, shape: readonly number[]) => Tensor;
  trainable: (name: string, shape: readonly number[]) => Tensor;
}

/**
 * Checked access to a checkpoint's tensors while building: `get` verifies presence and size (a mismatch
 * names the tensor and both shapes), `frozen` uploads into the frozen pool, `trainable` into the
 * trainable pool and reports the new parameter.
 */
export function blockParts(
  backend: Backend,
  ledger: MemoryLedger,
  weights: Weights,
  config: ViTConfig,
  init: () => number,
  onTrainable: (p: Param) => void,
): BlockParts {
  const get = (name: string, shape: readonly number[]): NamedArray => {
    const w = weights.get(name);
    const fused = name.replace(/attn\.[qkv]\./, 'attn.qkv.');
    if (!w && fused !== name && weights.has(fused)) {
      throw new AdapterConfigError(
        `the weights hold "${fused}", q, k and v fused as a timm file stores them: load the checkpoint with loadCheckpoint, or split them with splitQkvWeights`,
      );
    }
    if (!w) throw new AdapterConfigError(`the checkpoint has no tensor "${name}" (shape [${shape.join(', ')}] expected)`);
    if (w.data.length !== shape.reduce((x, y) => x * y, 1)) {
      throw new AdapterConfigError(`tensor "${name}" has shape [${w.shape.join(', ')}], expected [${shape.join(', ')}]`);
    }
    return w;
  };
  const frozen = (name: string, shape: readonly number[]) =>
    ledger.within('frozen', () => backend.upload(get(name, shape).data, shape));
  const trainable = (name: string, shape: readonly number[]) => {
    const tensor = ledger.within('trainable', () => backend.upload(get(name, shape).data, shape));
    onTrainable(param(name, tensor));
    return tensor;
  };
  return { backend, ledger, weights, config, init, get, frozen, trainable };
}

/** The layers of the block whose tensors are named `${prefix}norm1.weight` …, with branches per `plan`. */
export function blockLayers(parts: BlockParts, prefix: string, plan: TuningPlan | null, full: boolean): BlockLayers {
  const { backend: b, ledger, weights, config, frozen, trainable } = parts;
  const D = config.dim;
  const hidden = config.mlpRatio * D;
  const linear = (name: LinearName, dIn: number, dOut: number) => {
    const path = `${prefix}${LINEAR_PATH[name]}`;
    const w = frozen(`${path}.weight`, [dOut, dIn]);
    const bias = frozen(`${path}.bias`, [dOut]);
    const carries = plan && plan.method !== 'full' && plan.targets.includes(name);
    const branchName = `${prefix}${BRANCH_PREFIX[name]}.learnable`;
    const spec: BranchSpec | null = carries
      ? {
          kind: plan.method as BranchSpec['kind'],
          rank: plan.rank,
          kernelHeads: plan.kernelHeads,
          sparsity: plan.layerSparsity?.[branchName] ?? plan.sparsity,
          coeff: storedCoeff(weights, branchName, plan.kernelHeads),
          dropout: name === 'proj' ? 0 : plan.branchDropout,
          dropPath: plan.branchDropPath,
        }
      : null;
    const branchInit = spec ? branchValues(weights, branchName, spec, dIn, dOut, parts.init) : null;
    return new Linear(b, ledger, path, branchName, dIn, dOut, w, bias, spec, branchInit, full);
  };
  const norm = (name: string) =>
    full
      ? { w: trainable(`${prefix}${name}.weight`, [D]), b: trainable(`${prefix}${name}.bias`, [D]) }
      : { w: frozen(`${prefix}${name}.weight`, [D]), b: frozen(`${prefix}${name}.bias`, [D]) };
  return {
    norm1: norm('norm1'),
    norm2: norm('norm2'),
    q: linear('q', D, D),
    k: linear('k', D, D),
    v: linear('v', D, D),
    proj: linear('proj', D, D),
    fc1: linear('fc1', D, hidden),
    fc2: linear('fc2', hidden, D),
  };
}

/** The kernel coefficients a checkpoint stores for a branch (shared_coeff_fc [H, 1, 1]), if any. */
function storedCoeff(weights: Weights, branchName: string, heads: number): number[] | undefined {
  const c = weights.get(`${branchName}.shared_coeff_fc`);
  if (!c) return undefined;
  if (c.data.length !== heads) {
    throw new AdapterConfigError(
      `tensor "${branchName}.shared_coeff_fc" holds ${c.data.length} coefficients for ${heads} kernel heads`,
    );
  }
  return Array.from(c.data);
}

/**
 * A branch's initial values: from the checkpoint when present, else what the reference trains from:
 * kaiming_uniform(a = √5) on SNELL's In_Qs/Out_Qs (uniform ±1/√fan_in, fan_in = rows·r/H); LoRA's two
 * projections N(0, 0.02²), since the reference model re-initialises every nn.Linear, its LoRA branch's
 * included, with trunc_normal_(std 0.02) after building it (init_weights → _init_vit_weights), which
 * replaces the branch's own kaiming-uniform down and zero up projection; SNELLA's α = 1, γ = 1, β = 0;
 * a dense ΔW zero.
 */
function branchValues(
  weights: Weights,
  prefix: string,
  spec: BranchSpec,
  dIn: number,
  dOut: number,
  next: () => number,
): Record<string, Float32Array> {
  if (spec.kind === 'dense') return { delta: weights.get(`${prefix}.delta`)?.data ?? new Float32Array(dIn * dOut) };
  const k = spec.rank / spec.kernelHeads;
  const uniform = (rows: number) => {
    const bound = 1 / Math.sqrt(rows * k);
    return Float32Array.from({ length: spec.kernelHeads * rows * k }, () => (2 * next() - 1) * bound);
  };
  const stored = (key: string) => weights.get(`${prefix}.${key}`)?.data;
  const normal = truncatedNormal(next);
  const lora = (rows: number) => Float32Array.from({ length: spec.kernelHeads * rows * k }, () => normal(0.02));
  const fresh = spec.kind === 'lora' ? lora : uniform;
  const values: Record<string, Float32Array> = { In_Qs: stored('In_Qs') ?? fresh(dIn), Out_Qs: stored('Out_Qs') ?? fresh(dOut) };
  if (spec.kind === 'snella') {
    values.alpha = stored('alpha') ?? Float32Array.of(1);
    values.gamma = stored('gamma') ?? Float32Array.of(1);
    values.beta = stored('beta') ?? Float32Array.of(0);
  }
  return values;
}
