// Configuration of one SNELL adapter and the checks that turn bad settings into clear errors.
//
// kind     kernel                                   sparsified (s > 0)
// snell    W = Σ_h c_h·‖A_h[i]−B_h[o]‖₂              yes
// klora    same kernel                              never (the reference's s = 0 path)
// snella   W = W0 + α·softmax(W0/γ, over o) + β      always (s = 0 drops the minimum; s = 1 keeps nothing)
// lora     W = Σ_h A_h[i]·B_h[o] (plain LoRA)        yes when s > 0

import type { MergeKernel } from '../backend.js';

export type AdapterKind = 'snell' | 'klora' | 'snella' | 'lora';
export const ADAPTER_KINDS: readonly AdapterKind[] = ['snell', 'klora', 'snella', 'lora'];

export interface AdapterConfig {
  kind: AdapterKind;
  /** Input dimension n (rows of W). */
  dIn: number;
  /** Output dimension m (columns of W). */
  dOut: number;
  /** Total rank r, split evenly over the H heads. */
  rank: number;
  /** Number of kernel heads H (the reference uses 2). */
  heads: number;
  /**
   * Sparsity ratio s: the quantile of |W| at or below which entries are dropped. In [0, 1); snella
   * allows 1 (SNELLA's allocator can take every entry from a layer).
   */
  sparsity: number;
  /** Kernel coefficients c_h; default 0.1·(−1)^h. */
  coeff?: readonly number[];
}

export class AdapterConfigError extends Error {
  override name = 'AdapterConfigError';
}

/** The reference's fixed coefficients: c_h = 0.1·(−1)^h, rounded to float32 as PyTorch stores them. */
export function defaultCoeff(heads: number): number[] {
  return Array.from({ length: heads }, (_, h) => Math.fround(h % 2 === 0 ? 0.1 : -0.1));
}

export function mergeKernelOf(kind: AdapterKind): MergeKernel {
  return kind === 'lora' ? 'linear' : 'distance';
}

/**
 * True when the kept value W·|W|·[|W| > t] replaces W. The reference's SNELL module at s = 0 is its
 * KLoRA (no sparsify); its SNELLA module sparsifies at every s, 0 included.
 */
export function isSparsified(config: Pick<AdapterConfig, 'kind' | 'sparsity'>): boolean {
  return config.kind === 'snella' || (config.kind !== 'klora' && config.sparsity > 0);
}

/** Checks one sparsity for an adapter kind; throws AdapterConfigError naming the allowed range. */
export function checkSparsity(kind: AdapterKind, sparsity: number): void {
  const ok = kind === 'snella' ? sparsity >= 0 && sparsity <= 1 : sparsity >= 0 && sparsity < 1;
  if (!ok) {
    throw new AdapterConfigError(`sparsity must be in ${kind === 'snella' ? '[0, 1]' : '[0, 1)'} for ${kind}, got ${sparsity}`);
  }
}

export function headDim(config: AdapterConfig): number {
  return config.rank / config.heads;
}

/** Validates a configuration and returns it with defaults filled in; throws AdapterConfigError naming the fix. */
export function resolveConfig(config: AdapterConfig): Required<AdapterConfig> {
  const { kind, dIn, dOut, rank, heads, sparsity } = config;
  if (!ADAPTER_KINDS.includes(kind)) {
    throw new AdapterConfigError(`unknown adapter kind "${kind}": use one of ${ADAPTER_KINDS.join(', ')}`);
  }
  for (const [name, v] of [
    ['dIn', dIn],
    ['dOut', dOut],
    ['rank', rank],
    ['heads', heads],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) {
      throw new AdapterConfigError(`${name} must be a positive integer, got ${v}`);
    }
  }
  if (rank % heads !== 0) {
    throw new AdapterConfigError(
      `rank ${rank} is not divisible by heads H = ${heads}: choose a rank that is a multiple of ${heads}`,
    );
  }
  checkSparsity(kind, sparsity);
  const coeff = config.coeff ?? defaultCoeff(heads);
  if (coeff.length !== heads || coeff.some((c) => !Number.isFinite(c))) {
    throw new AdapterConfigError(`coeff must hold ${heads} finite numbers (one per head), got [${coeff.join(', ')}]`);
  }
  return { kind, dIn, dOut, rank, heads, sparsity, coeff };
}
