// Builds merge vectors in the golden format (test/vectors/README.md) from the float64
// reference, for shapes and edge cases the shipped vectors do not cover.

import type { AdapterKind } from '../../src/adapter/config.js';
import { defaultCoeff } from '../../src/adapter/config.js';
import { encodeSafetensors, type NamedTensor } from '../../src/io/safetensors-write.js';
import {
  matmul64,
  merge64,
  mergeBackward64,
  mixture64,
  mixtureBackward64,
  quantileAbs64,
  sparsify64,
  sparsifyBackward64,
} from '../../src/reference/snell64.js';
import { uniform } from '../../src/reference/random.js';

export interface VectorSpec {
  kind: Exclude<AdapterKind, 'lora'>;
  dIn: number;
  dOut: number;
  rank: number;
  heads: number;
  rows: number;
  sparsity: number;
  A: Float32Array;
  B: Float32Array;
  x: Float32Array;
  g: Float32Array;
  mix?: { alpha: number; gamma: number; beta: number };
}

export function makeMergeVector(s: VectorSpec): { name: string; bytes: Uint8Array } {
  const { dIn: n, dOut: m, heads: H, rows } = s;
  const k = s.rank / H;
  const coeff = defaultCoeff(H);
  const W0 = merge64(s.A, s.B, H, n, m, k, 'distance', coeff);
  const mix = s.mix ? mixture64(W0, n, m, s.mix.alpha, s.mix.gamma, s.mix.beta) : null;
  const W = mix ? mix.W : W0;
  // the authors' SNELLA module sparsifies at every s (s = 0 drops the minimum); SNELL at s = 0 is their KLoRA
  const sparse = s.kind === 'snella' || (s.kind !== 'klora' && s.sparsity > 0);
  const thr = sparse ? quantileAbs64(W, s.sparsity) : 0;
  const sp = sparse ? sparsify64(W, thr) : { Ws: W, kept: n * m };
  let dW = matmul64(s.x, s.g, n, rows, m, true, false);
  if (sparse) dW = sparsifyBackward64(dW, W, thr);
  const f = (a: ArrayLike<number>, shape: number[]): NamedTensor => ({ shape, data: Float32Array.from(a) });
  const tensors: Record<string, NamedTensor> = {
    In_Qs: f(s.A, [H, n, k]),
    Out_Qs: f(s.B, [H, m, k]),
    x: f(s.x, [rows, n]),
    g: f(s.g, [rows, m]),
    W: f(W, [n, m]),
  };
  if (mix) {
    const mb = mixtureBackward64(dW, W0, mix.P, n, m, s.mix!.alpha, s.mix!.gamma);
    dW = mb.dW0;
    Object.assign(tensors, {
      alpha: f([s.mix!.alpha], [1]),
      gamma: f([s.mix!.gamma], [1]),
      beta: f([s.mix!.beta], [1]),
      'grad.alpha': f([mb.dAlpha], [1]),
      'grad.gamma': f([mb.dGamma], [1]),
      'grad.beta': f([mb.dBeta], [1]),
    });
  }
  if (sparse) tensors.W_sparse = f(sp.Ws, [n, m]);
  const grads = mergeBackward64(s.A, s.B, dW, H, n, m, k, 'distance', coeff);
  Object.assign(tensors, {
    y: f(matmul64(s.x, sp.Ws, rows, n, m), [rows, m]),
    'grad.In_Qs': f(grads.dA, [H, n, k]),
    'grad.Out_Qs': f(grads.dB, [H, m, k]),
    'grad.x': f(matmul64(s.g, sp.Ws, rows, m, n, false, true), [rows, n]),
  });
  const meta: Record<string, unknown> = {
    kind: s.kind,
    d_in: n,
    d_out: m,
    q_dim: s.rank,
    num_Hs: H,
    norm_p: 2,
    coeff,
    init_thres: s.sparsity,
    n_rows: rows,
  };
  if (sparse) Object.assign(meta, { threshold: thr, kept: sp.kept });
  const name = `merge_${s.kind}_${n}x${m}_q${s.rank}_t${s.sparsity}.safetensors`;
  const metadata = Object.fromEntries(Object.entries(meta).map(([key, v]) => [key, JSON.stringify(v)]));
  return { name, bytes: encodeSafetensors(tensors, metadata) };
}

/** A vector spec with seeded uniform inputs (A, B in ±0.3; x, g in ±1). */
export function randomSpec(
  kind: VectorSpec['kind'],
  dIn: number,
  dOut: number,
  rank: number,
  heads: number,
  rows: number,
  sparsity: number,
  seed: number,
): VectorSpec {
  const k = rank / heads;
  return {
    kind,
    dIn,
    dOut,
    rank,
    heads,
    rows,
    sparsity,
    A: uniform(heads * dIn * k, seed, -0.3, 0.3),
    B: uniform(heads * dOut * k, seed + 1, -0.3, 0.3),
    x: uniform(rows * dIn, seed + 2),
    g: uniform(rows * dOut, seed + 3),
  };
}
