// The contract's table of bad calls (src/contract), run against each backend: every call must throw
// (or, for read, reject with) a BackendError with exactly the message given here, so both backends
// say the same thing. Rules covered: wrong shape, wrong dtype, aliasing, out-of-range scalar, empty
// tensor where refused, foreign and freed tensors; then the edge cases the contract accepts, which
// both backends must run alike (an out-of-range label, empty tensors).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Backend, BackendError, IGNORE_LABEL, type Tensor } from '../../src/backend.js';

export interface BadCall {
  /** The primitive and the rule broken. */
  what: string;
  call: (b: Backend) => unknown;
  message: string;
}

const f32 = (b: Backend, ...shape: number[]): Tensor => b.zeros(shape);
const u32 = (b: Backend, ...shape: number[]): Tensor => b.zeros(shape, 'u32');
const freed = (b: Backend, ...shape: number[]): Tensor => {
  const t = b.zeros(shape);
  b.free(t);
  return t;
};
const HP = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.05, step: 1 };
const adamw = (b: Backend, hp: Partial<typeof HP>) => b.adamw(f32(b, 4), f32(b, 4), f32(b, 4), f32(b, 4), null, { ...HP, ...hp });
const xent = (b: Backend, logits: Tensor, labels: Tensor, loss = f32(b, 1), correct = u32(b, 1)) =>
  b.softmaxCrossEntropy(logits, labels, loss, f32(b, ...logits.shape), correct);
const matrixRule = 'expected an f32 matrix (2 or more dimensions, the leading ones are rows)';
const rowsRule = 'expected f32 rows [..., N] with N ≥ 1 features';
const fresh = (name: string) => `pass a separate tensor for the output ${name}`;

export const BAD_CALLS: readonly BadCall[] = [
  // ---- tensors ----
  {
    what: 'upload: shape',
    call: (b) => b.upload(new Float32Array(2), [2, -1]),
    message: 'upload: shape [2, -1] must hold non-negative integers',
  },
  {
    what: 'upload: dtype',
    call: (b) => b.upload(new Float32Array(2), [2], 'f16' as never),
    message: `upload: unknown dtype "f16": use 'f32' or 'u32'`,
  },
  {
    what: 'upload: data type',
    call: (b) => b.upload(new Float32Array(2), [2], 'u32'),
    message: 'upload: a u32 tensor takes a Uint32Array, got a Float32Array',
  },
  {
    what: 'upload: data length',
    call: (b) => b.upload(new Float32Array(3), [2, 2]),
    message: 'upload: 3 values do not fill shape [2, 2] (4 elements): pass exactly 4',
  },
  { what: 'zeros: shape', call: (b) => b.zeros([1.5]), message: 'zeros: shape [1.5] must hold non-negative integers' },
  {
    what: 'write: data type',
    call: (b) => b.write(u32(b, 2), new Float32Array(2)),
    message: 'write: a u32 tensor takes a Uint32Array, got a Float32Array',
  },
  {
    what: 'write: data length',
    call: (b) => b.write(f32(b, 2, 2), new Float32Array(3)),
    message: 'write: 3 values for f32[2, 2] (4 elements): pass exactly 4',
  },
  {
    what: 'read: freed',
    call: (b) => b.read(freed(b, 2)),
    message: 'read: the tensor (f32[2]) was already freed: free a tensor only after its last use',
  },
  {
    what: 'free: twice',
    call: (b) => b.free(freed(b, 3, 1)),
    message: 'free: the tensor (f32[3, 1]) was already freed: free a tensor only after its last use',
  },
  {
    what: 'add: a freed input',
    call: (b) => b.add(freed(b, 2), f32(b, 2), f32(b, 2)),
    message: 'add: a (f32[2]) was already freed: free a tensor only after its last use',
  },
  {
    what: 'add: a foreign tensor',
    call: (b) => b.add(f32(b, 1), { shape: [1], size: 1, dtype: 'f32' }, f32(b, 1)),
    message: 'add: b was not created by this backend: upload it here first',
  },

  // ---- SNELL kernels ----
  {
    what: 'merge: kernel',
    call: (b) => b.merge(f32(b, 2, 3, 2), f32(b, 2, 4, 2), 'cubic' as never, [1, 1], f32(b, 3, 4)),
    message: `merge: unknown merge kernel "cubic": use 'distance' or 'linear'`,
  },
  {
    what: 'merge: A shape',
    call: (b) => b.merge(f32(b, 2, 3), f32(b, 2, 4, 2), 'distance', [1, 1], f32(b, 3, 4)),
    message: 'merge: A is f32[2, 3], expected f32[H, n, k]',
  },
  {
    what: 'merge: B shape',
    call: (b) => b.merge(f32(b, 2, 3, 2), f32(b, 2, 4, 3), 'distance', [1, 1], f32(b, 3, 4)),
    message: 'merge: B is f32[2, 4, 3], expected f32[2, m, 2] to match A f32[2, 3, 2]',
  },
  {
    what: 'merge: coeff (linear too)',
    call: (b) => b.merge(f32(b, 2, 3, 2), f32(b, 2, 4, 2), 'linear', [1], f32(b, 3, 4)),
    message: 'merge: coeff holds 1 of the H = 2 numbers: pass one per head',
  },
  {
    what: 'merge: W shape',
    call: (b) => b.merge(f32(b, 2, 3, 2), f32(b, 2, 4, 2), 'distance', [1, 1], f32(b, 4, 3)),
    message: 'merge: W is f32[4, 3], expected f32[3, 4]',
  },
  {
    what: 'merge: A dtype',
    call: (b) => b.merge(u32(b, 2, 3, 2), f32(b, 2, 4, 2), 'distance', [1, 1], f32(b, 3, 4)),
    message: 'merge: A is u32[2, 3, 2], expected an f32 tensor',
  },
  {
    what: 'mergeBackward: dA is dB',
    call: (b) => {
      const d = f32(b, 2, 3, 2);
      b.mergeBackward(f32(b, 2, 3, 2), f32(b, 2, 3, 2), f32(b, 3, 3), 'linear', [1, 1], d, d);
    },
    message: `mergeBackward: dA and dB are the same tensor: ${fresh('dA')}`,
  },
  {
    what: 'mergeBackward: dA is A',
    call: (b) => {
      const A = f32(b, 2, 3, 2);
      b.mergeBackward(A, f32(b, 2, 4, 2), f32(b, 3, 4), 'distance', [1, 1], A, f32(b, 2, 4, 2));
    },
    message: `mergeBackward: dA and A are the same tensor: ${fresh('dA')}`,
  },
  {
    what: 'mergeBackward: dW shape',
    call: (b) => b.mergeBackward(f32(b, 1, 3, 2), f32(b, 1, 4, 2), f32(b, 12), 'linear', [1], f32(b, 1, 3, 2), f32(b, 1, 4, 2)),
    message: 'mergeBackward: dW is f32[12], expected f32[3, 4]',
  },
  {
    what: 'mixture: W0 shape',
    call: (b) => b.mixture(f32(b, 6), f32(b, 1), f32(b, 1), f32(b, 1), f32(b, 6), f32(b, 6)),
    message: 'mixture: W0 is f32[6], expected f32[n, m]',
  },
  {
    what: 'mixture: alpha size',
    call: (b) => b.mixture(f32(b, 2, 3), f32(b, 2), f32(b, 1), f32(b, 1), f32(b, 2, 3), f32(b, 2, 3)),
    message: 'mixture: alpha is f32[2], expected 1 f32 element',
  },
  {
    what: 'mixture: W is P',
    call: (b) => {
      const W = f32(b, 2, 3);
      b.mixture(f32(b, 2, 3), f32(b, 1), f32(b, 1), f32(b, 1), W, W);
    },
    message: `mixture: W and P are the same tensor: ${fresh('W')}`,
  },
  {
    what: 'mixtureBackward: dGamma is dBeta',
    call: (b) => {
      const s = f32(b, 1);
      b.mixtureBackward(f32(b, 2, 3), f32(b, 2, 3), f32(b, 2, 3), f32(b, 1), f32(b, 1), f32(b, 2, 3), f32(b, 1), s, s);
    },
    message: `mixtureBackward: dGamma and dBeta are the same tensor: ${fresh('dGamma')}`,
  },
  {
    what: 'mixtureBackward: dW0 shape',
    call: (b) =>
      b.mixtureBackward(
        f32(b, 2, 3),
        f32(b, 2, 3),
        f32(b, 2, 3),
        f32(b, 1),
        f32(b, 1),
        f32(b, 3, 2),
        f32(b, 1),
        f32(b, 1),
        f32(b, 1),
      ),
    message: 'mixtureBackward: dW0 is f32[3, 2], expected f32[2, 3]',
  },
  {
    what: 'quantileAbs: empty W',
    call: (b) => b.quantileAbs(f32(b, 0), 0.5, f32(b, 1)),
    message: 'quantileAbs: W is f32[0]: the quantile of no values is undefined; pass at least one element',
  },
  {
    what: 'quantileAbs: s range',
    call: (b) => b.quantileAbs(f32(b, 5), 1.5, f32(b, 1)),
    message: 'quantileAbs: s must be a number in [0, 1], got 1.5',
  },
  {
    what: 'quantileAbs: s NaN',
    call: (b) => b.quantileAbs(f32(b, 5), NaN, f32(b, 1)),
    message: 'quantileAbs: s must be a number in [0, 1], got NaN',
  },
  {
    what: 'quantileAbs: threshold dtype',
    call: (b) => b.quantileAbs(f32(b, 5), 0.5, u32(b, 1)),
    message: 'quantileAbs: threshold is u32[1], expected an f32 tensor',
  },
  {
    what: 'quantileAbs: threshold is W',
    call: (b) => {
      const W = f32(b, 1);
      b.quantileAbs(W, 0.5, W);
    },
    message: `quantileAbs: threshold and W are the same tensor: ${fresh('threshold')}`,
  },
  {
    what: 'sparsify: kept dtype',
    call: (b) => b.sparsify(f32(b, 4), f32(b, 1), f32(b, 4), f32(b, 1)),
    message: 'sparsify: kept is f32[1], expected a u32 tensor',
  },
  {
    what: 'sparsify: Ws size',
    call: (b) => b.sparsify(f32(b, 4), f32(b, 1), f32(b, 5), u32(b, 1)),
    message: 'sparsify: Ws is f32[5], expected 4 f32 elements',
  },
  {
    what: 'sparsify: threshold size',
    call: (b) => b.sparsify(f32(b, 4), f32(b, 2), f32(b, 4), u32(b, 1)),
    message: 'sparsify: threshold is f32[2], expected 1 f32 element',
  },
  {
    what: 'sparsifyBackward: dW is G',
    call: (b) => {
      const G = f32(b, 4);
      b.sparsifyBackward(G, f32(b, 4), f32(b, 1), G);
    },
    message: `sparsifyBackward: dW and G are the same tensor: ${fresh('dW')}`,
  },
  {
    what: 'sparsifyBackward: G size',
    call: (b) => b.sparsifyBackward(f32(b, 3), f32(b, 4), f32(b, 1), f32(b, 4)),
    message: 'sparsifyBackward: G is f32[3], expected 4 f32 elements',
  },
  {
    what: 'keptGradient: x width',
    call: (b) => b.keptGradient(f32(b, 3, 5), f32(b, 3, 2), f32(b, 4, 2), f32(b, 1), f32(b, 4, 2)),
    message: "keptGradient: x is f32[3, 5], its last dimension must be W's n = 4",
  },
  {
    what: 'keptGradient: rows differ',
    call: (b) => b.keptGradient(f32(b, 3, 4), f32(b, 2, 2), f32(b, 4, 2), f32(b, 1), f32(b, 4, 2)),
    message: 'keptGradient: dy has 2 rows but x has 3: pass the gradient of x·Ws for this x',
  },
  {
    what: 'keptGradient: dW is W',
    call: (b) => {
      const W = f32(b, 4, 2);
      b.keptGradient(f32(b, 3, 4), f32(b, 3, 2), W, f32(b, 1), W);
    },
    message: `keptGradient: dW and W are the same tensor: ${fresh('dW')}`,
  },

  // ---- matmul ----
  {
    what: 'matmul: sparseB with transA',
    call: (b) => b.matmul(f32(b, 4, 3), f32(b, 4, 2), f32(b, 3, 2), { transA: true, sparseB: true }),
    message: 'matmul: sparseB takes a as stored: pass transA = false, or transpose a first',
  },
  {
    what: 'matmul: a is a vector',
    call: (b) => b.matmul(f32(b, 4), f32(b, 4, 2), f32(b, 1, 2)),
    message: `matmul: a is f32[4], ${matrixRule}`,
  },
  {
    what: 'matmul: b dtype',
    call: (b) => b.matmul(f32(b, 3, 4), u32(b, 4, 2), f32(b, 3, 2)),
    message: 'matmul: b is u32[4, 2], expected an f32 tensor',
  },
  {
    what: 'matmul: inner dimensions',
    call: (b) => b.matmul(f32(b, 3, 4), f32(b, 3, 4), f32(b, 3, 4)),
    message:
      'matmul: the inner dimensions differ: op(a) is 3×4 (a f32[3, 4]) but op(b) is 3×4 (b f32[3, 4]): pass operands whose inner dimensions match',
  },
  {
    what: 'matmul: transposed inner dimensions',
    call: (b) => b.matmul(f32(b, 3, 4), f32(b, 3, 5), f32(b, 4, 5), { transA: false, transB: true }),
    message:
      'matmul: the inner dimensions differ: op(a) is 3×4 (a f32[3, 4]) but op(b) is 5×3 (b f32[3, 5], transposed): pass operands whose inner dimensions match',
  },
  {
    what: 'matmul: out shape',
    call: (b) => b.matmul(f32(b, 3, 4), f32(b, 4, 5), f32(b, 3, 4)),
    message: 'matmul: out is f32[3, 4] (3×4), expected 3×5',
  },
  {
    what: 'matmul: out is a',
    call: (b) => {
      const a = f32(b, 4, 4);
      b.matmul(a, f32(b, 4, 4), a);
    },
    message: `matmul: out and a are the same tensor: ${fresh('out')}`,
  },

  // ---- elementwise and rows ----
  {
    what: 'add: b size',
    call: (b) => b.add(f32(b, 2, 3), f32(b, 5), f32(b, 6)),
    message: 'add: b is f32[5], expected 6 f32 elements',
  },
  {
    what: 'add: out is a',
    call: (b) => {
      const a = f32(b, 3);
      b.add(a, f32(b, 3), a);
    },
    message: `add: out and a are the same tensor: ${fresh('out')}`,
  },
  {
    what: 'addTransposed: b not transposed',
    call: (b) => b.addTransposed(f32(b, 3, 4), f32(b, 3, 4), f32(b, 3, 4)),
    message: 'addTransposed: b is f32[3, 4], expected f32[4, 3]',
  },
  {
    what: 'addTransposed: out is a',
    call: (b) => {
      const a = f32(b, 3, 4);
      b.addTransposed(a, f32(b, 4, 3), a);
    },
    message: `addTransposed: out and a are the same tensor: ${fresh('out')}`,
  },
  {
    what: 'addInto: a dtype',
    call: (b) => b.addInto(f32(b, 3), u32(b, 3)),
    message: 'addInto: a is u32[3], expected an f32 tensor',
  },
  {
    what: 'addInto: out is a',
    call: (b) => {
      const a = f32(b, 3);
      b.addInto(a, a);
    },
    message: `addInto: out and a are the same tensor: ${fresh('out')}`,
  },
  {
    what: 'addBias: no features',
    call: (b) => b.addBias(f32(b, 3, 0), f32(b, 0)),
    message: `addBias: out is f32[3, 0], ${rowsRule}`,
  },
  {
    what: 'addBias: bias size',
    call: (b) => b.addBias(f32(b, 2, 3, 8), f32(b, 3)),
    message: 'addBias: bias is f32[3], expected 8 f32 elements',
  },
  { what: 'sumRows: a scalar x', call: (b) => b.sumRows(f32(b), f32(b, 1)), message: `sumRows: x is f32[], ${rowsRule}` },
  {
    what: 'sumRows: out size',
    call: (b) => b.sumRows(f32(b, 4, 3), f32(b, 4)),
    message: 'sumRows: out is f32[4], expected 3 f32 elements',
  },
  { what: 'copy: dtype', call: (b) => b.copy(u32(b, 3), f32(b, 3)), message: 'copy: out is f32[3], expected a u32 tensor' },
  { what: 'copy: size', call: (b) => b.copy(f32(b, 3), f32(b, 4)), message: 'copy: out is f32[4], expected 3 f32 elements' },
  {
    what: 'gelu: out is x',
    call: (b) => {
      const x = f32(b, 3);
      b.gelu(x, x);
    },
    message: `gelu: out and x are the same tensor: ${fresh('out')}`,
  },
  {
    what: 'geluBackward: dy size',
    call: (b) => b.geluBackward(f32(b, 2), f32(b, 3), f32(b, 3)),
    message: 'geluBackward: dy is f32[2], expected 3 f32 elements',
  },

  // ---- transformer ----
  {
    what: 'layerNorm: eps < 0',
    call: (b) => b.layerNorm(f32(b, 3, 4), f32(b, 4), f32(b, 4), -1e-5, f32(b, 3, 4), f32(b, 3), f32(b, 3)),
    message: 'layerNorm: eps must be a finite number ≥ 0, got -0.00001',
  },
  {
    what: 'layerNorm: eps infinite',
    call: (b) => b.layerNorm(f32(b, 3, 4), f32(b, 4), f32(b, 4), Infinity, f32(b, 3, 4), f32(b, 3), f32(b, 3)),
    message: 'layerNorm: eps must be a finite number ≥ 0, got Infinity',
  },
  {
    what: 'layerNorm: no features',
    call: (b) => b.layerNorm(f32(b, 3, 0), f32(b, 0), f32(b, 0), 1e-6, f32(b, 3, 0), f32(b, 3), f32(b, 3)),
    message: `layerNorm: x is f32[3, 0], ${rowsRule}`,
  },
  {
    what: 'layerNorm: w size',
    call: (b) => b.layerNorm(f32(b, 2, 3, 8), f32(b, 3), f32(b, 3), 1e-6, f32(b, 2, 3, 8), f32(b, 6), f32(b, 6)),
    message: 'layerNorm: w is f32[3], expected 8 f32 elements',
  },
  {
    what: 'layerNorm: mean is rstd',
    call: (b) => {
      const m = f32(b, 3);
      b.layerNorm(f32(b, 3, 4), f32(b, 4), f32(b, 4), 1e-6, f32(b, 3, 4), m, m);
    },
    message: `layerNorm: mean and rstd are the same tensor: ${fresh('mean')}`,
  },
  {
    what: 'layerNormBackward: dw size',
    call: (b) => b.layerNormBackward(f32(b, 3, 4), f32(b, 3, 4), f32(b, 4), f32(b, 3), f32(b, 3), f32(b, 3, 4), f32(b, 3), null),
    message: 'layerNormBackward: dw is f32[3], expected 4 f32 elements',
  },
  {
    what: 'layerNormBackward: dx is dy',
    call: (b) => {
      const d = f32(b, 3, 4);
      b.layerNormBackward(d, f32(b, 3, 4), f32(b, 4), f32(b, 3), f32(b, 3), d, null, f32(b, 4));
    },
    message: `layerNormBackward: dx and dy are the same tensor: ${fresh('dx')}`,
  },
  // ---- decoder primitives ----
  {
    what: 'rmsNorm: eps NaN',
    call: (b) => b.rmsNorm(f32(b, 3, 4), f32(b, 4), NaN, f32(b, 3, 4), f32(b, 3)),
    message: 'rmsNorm: eps must be a finite number ≥ 0, got NaN',
  },
  {
    what: 'rmsNorm: eps infinite',
    call: (b) => b.rmsNorm(f32(b, 3, 4), f32(b, 4), Infinity, f32(b, 3, 4), f32(b, 3)),
    message: 'rmsNorm: eps must be a finite number ≥ 0, got Infinity',
  },
  {
    what: 'rmsNorm: eps < 0',
    call: (b) => b.rmsNorm(f32(b, 3, 4), f32(b, 4), -1e-6, f32(b, 3, 4), f32(b, 3)),
    message: 'rmsNorm: eps must be a finite number ≥ 0, got -0.000001',
  },
  {
    what: 'rmsNorm: no features',
    call: (b) => b.rmsNorm(f32(b, 3, 0), f32(b, 0), 1e-6, f32(b, 3, 0), f32(b, 3)),
    message: `rmsNorm: x is f32[3, 0], ${rowsRule}`,
  },
  {
    what: 'rmsNorm: w size',
    call: (b) => b.rmsNorm(f32(b, 2, 3, 8), f32(b, 3), 1e-6, f32(b, 2, 3, 8), f32(b, 6)),
    message: 'rmsNorm: w is f32[3], expected 8 f32 elements',
  },
  {
    what: 'rmsNorm: rstd size',
    call: (b) => b.rmsNorm(f32(b, 3, 4), f32(b, 4), 1e-6, f32(b, 3, 4), f32(b, 4)),
    message: 'rmsNorm: rstd is f32[4], expected 3 f32 elements',
  },
  {
    what: 'rmsNorm: out is x',
    call: (b) => {
      const x = f32(b, 3, 4);
      b.rmsNorm(x, f32(b, 4), 1e-6, x, f32(b, 3));
    },
    message: `rmsNorm: out and x are the same tensor: ${fresh('out')}`,
  },
  {
    what: 'rmsNormBackward: dw size',
    call: (b) => b.rmsNormBackward(f32(b, 3, 4), f32(b, 3, 4), f32(b, 4), f32(b, 3), f32(b, 3, 4), f32(b, 3)),
    message: 'rmsNormBackward: dw is f32[3], expected 4 f32 elements',
  },
  {
    what: 'rmsNormBackward: dy size',
    call: (b) => b.rmsNormBackward(f32(b, 4, 4), f32(b, 3, 4), f32(b, 4), f32(b, 3), f32(b, 3, 4), null),
    message: 'rmsNormBackward: dy is f32[4, 4], expected 12 f32 elements',
  },
  {
    what: 'rmsNormBackward: dx is dy',
    call: (b) => {
      const d = f32(b, 3, 4);
      b.rmsNormBackward(d, f32(b, 3, 4), f32(b, 4), f32(b, 3), d, null);
    },
    message: `rmsNormBackward: dx and dy are the same tensor: ${fresh('dx')}`,
  },
  {
    what: 'rmsNormBackward: dw is w',
    call: (b) => {
      const w = f32(b, 4);
      b.rmsNormBackward(f32(b, 3, 4), f32(b, 3, 4), w, f32(b, 3), f32(b, 3, 4), w);
    },
    message: `rmsNormBackward: dw and w are the same tensor: ${fresh('dw')}`,
  },
  {
    what: 'rope: heads not dividing C',
    call: (b) => b.rope(f32(b, 1, 2, 12), f32(b, 4, 3), f32(b, 4, 3), 5, 0, f32(b, 1, 2, 12)),
    message: 'rope: heads must be a positive integer dividing the feature dimension C = 12 (heads of width C/heads ≥ 1), got 5',
  },
  {
    what: 'rope: odd head width',
    call: (b) => b.rope(f32(b, 1, 2, 12), f32(b, 4, 3), f32(b, 4, 3), 4, 0, f32(b, 1, 2, 12)),
    message: 'rope: heads = 4 gives heads of odd width 3: RoPE rotates column pairs (c, c + hd/2), so hd must be even',
  },
  {
    what: 'rope: no tokens',
    call: (b) => b.rope(f32(b, 1, 0, 12), f32(b, 4, 3), f32(b, 4, 3), 2, 0, f32(b, 1, 0, 12)),
    message: 'rope: x is f32[1, 0, 12]: it needs at least one token (T ≥ 1)',
  },
  {
    what: 'rope: cos not a table',
    call: (b) => b.rope(f32(b, 1, 2, 12), f32(b, 12), f32(b, 12), 2, 0, f32(b, 1, 2, 12)),
    message: 'rope: cos is f32[12], expected f32[P, hd/2]',
  },
  {
    what: 'rope: cos width',
    call: (b) => b.rope(f32(b, 1, 2, 12), f32(b, 8, 2), f32(b, 8, 2), 2, 0, f32(b, 1, 2, 12)),
    message: 'rope: cos is f32[8, 2], expected f32[P, 3] (half the head width 6)',
  },
  {
    what: 'rope: sin shape',
    call: (b) => b.rope(f32(b, 1, 2, 12), f32(b, 8, 3), f32(b, 7, 3), 2, 0, f32(b, 1, 2, 12)),
    message: 'rope: sin is f32[7, 3], expected f32[8, 3]',
  },
  {
    what: 'rope: offset not an integer',
    call: (b) => b.rope(f32(b, 1, 2, 12), f32(b, 8, 3), f32(b, 8, 3), 2, 1.5, f32(b, 1, 2, 12)),
    message: 'rope: offset must be an integer ≥ 0 (the position of the first token), got 1.5',
  },
  {
    what: 'rope: offset < 0',
    call: (b) => b.rope(f32(b, 1, 2, 12), f32(b, 8, 3), f32(b, 8, 3), 2, -1, f32(b, 1, 2, 12)),
    message: 'rope: offset must be an integer ≥ 0 (the position of the first token), got -1',
  },
  {
    what: 'rope: offset + T past the tables',
    call: (b) => b.rope(f32(b, 1, 5, 12), f32(b, 8, 3), f32(b, 8, 3), 2, 4, f32(b, 1, 5, 12)),
    message: 'rope: positions 4 … 8 reach past the 8 rows of cos and sin: build the tables for at least 9 positions',
  },
  {
    what: 'rope: out shape',
    call: (b) => b.rope(f32(b, 1, 5, 12), f32(b, 8, 3), f32(b, 8, 3), 2, 0, f32(b, 5, 12)),
    message: 'rope: out is f32[5, 12], expected f32[1, 5, 12]',
  },
  {
    what: 'ropeBackward: dy not tokens',
    call: (b) => b.ropeBackward(f32(b, 5, 12), f32(b, 8, 3), f32(b, 8, 3), 2, 0, f32(b, 1, 5, 12)),
    message: 'ropeBackward: dy is f32[5, 12], expected f32[B, T, D]',
  },
  {
    what: 'ropeBackward: dx shape',
    call: (b) => b.ropeBackward(f32(b, 1, 5, 12), f32(b, 8, 3), f32(b, 8, 3), 2, 0, f32(b, 5, 1, 12)),
    message: 'ropeBackward: dx is f32[5, 1, 12], expected f32[1, 5, 12]',
  },
  {
    what: 'siluMul: up size',
    call: (b) => b.siluMul(f32(b, 2, 6), f32(b, 11), f32(b, 2, 6)),
    message: 'siluMul: up is f32[11], expected 12 f32 elements',
  },
  {
    what: 'siluMul: out is gate',
    call: (b) => {
      const g = f32(b, 6);
      b.siluMul(g, f32(b, 6), g);
    },
    message: `siluMul: out and gate are the same tensor: ${fresh('out')}`,
  },
  {
    what: 'siluMulBackward: dUp size',
    call: (b) => b.siluMulBackward(f32(b, 6), f32(b, 6), f32(b, 6), f32(b, 6), f32(b, 5)),
    message: 'siluMulBackward: dUp is f32[5], expected 6 f32 elements',
  },
  {
    what: 'siluMulBackward: dGate is dUp',
    call: (b) => {
      const d = f32(b, 6);
      b.siluMulBackward(f32(b, 6), f32(b, 6), f32(b, 6), d, d);
    },
    message: `siluMulBackward: dGate and dUp are the same tensor: ${fresh('dGate')}`,
  },
  {
    what: 'siluMulBackward: gate dtype',
    call: (b) => b.siluMulBackward(f32(b, 6), u32(b, 6), f32(b, 6), f32(b, 6), f32(b, 6)),
    message: 'siluMulBackward: gate is u32[6], expected an f32 tensor',
  },
  {
    what: 'geluTanh: out is x',
    call: (b) => {
      const x = f32(b, 6);
      b.geluTanh(x, x);
    },
    message: `geluTanh: out and x are the same tensor: ${fresh('out')}`,
  },
  {
    what: 'geluTanhBackward: dy size',
    call: (b) => b.geluTanhBackward(f32(b, 2), f32(b, 3), f32(b, 3)),
    message: 'geluTanhBackward: dy is f32[2], expected 3 f32 elements',
  },
  {
    what: 'geluTanhBackward: dx is dy',
    call: (b) => {
      const d = f32(b, 3);
      b.geluTanhBackward(d, f32(b, 3), d);
    },
    message: `geluTanhBackward: dx and dy are the same tensor: ${fresh('dx')}`,
  },
  {
    what: 'sliceColumns: block beyond the columns',
    call: (b) => b.sliceColumns(f32(b, 4, 12), 9, f32(b, 4, 4)),
    message: 'sliceColumns: start must be an integer ≥ 0 with start + 4 ≤ 12, got 9',
  },
  {
    what: 'sliceColumns: rows differ',
    call: (b) => b.sliceColumns(f32(b, 4, 12), 0, f32(b, 3, 4)),
    message: 'sliceColumns: out has 3 rows and x 4: the column block keeps the rows',
  },
  {
    what: 'addColumns: fractional start',
    call: (b) => b.addColumns(f32(b, 2, 6), 1.5, f32(b, 2, 2)),
    message: 'addColumns: start must be an integer ≥ 0 with start + 2 ≤ 6, got 1.5',
  },
  {
    what: 'addColumns: d is dx',
    call: (b) => {
      const d = f32(b, 2, 6);
      b.addColumns(d, 0, d);
    },
    message: `addColumns: dx and d are the same tensor: ${fresh('dx')}`,
  },
  {
    what: 'attention: heads',
    call: (b) => {
      const x = f32(b, 2, 5, 12);
      b.attention(x, x, x, 5, f32(b, 2, 5, 12), f32(b, 2, 5, 5, 5));
    },
    message:
      'attention: heads must be a positive integer dividing the feature dimension D = 12 (heads of width D/heads ≥ 1), got 5',
  },
  {
    what: 'attention: no tokens',
    call: (b) => {
      const x = f32(b, 2, 0, 8);
      b.attention(x, x, x, 2, f32(b, 2, 0, 8), f32(b, 0));
    },
    message: 'attention: q is f32[2, 0, 8]: it needs at least one token (T ≥ 1)',
  },
  {
    what: 'attention: probs size',
    call: (b) => {
      const x = f32(b, 2, 3, 8);
      b.attention(x, x, x, 2, f32(b, 2, 3, 8), f32(b, 2, 2, 3, 4));
    },
    message: 'attention: probs is f32[2, 2, 3, 4], expected 36 f32 elements',
  },
  {
    what: 'attention: k shape',
    call: (b) => {
      const x = f32(b, 2, 3, 8);
      b.attention(x, f32(b, 6, 8), x, 2, f32(b, 2, 3, 8), f32(b, 2, 2, 3, 3));
    },
    message: 'attention: k is f32[6, 8], expected f32[2, 3, 8]',
  },
  {
    what: 'attentionBackward: dq is dk',
    call: (b) => {
      const x = f32(b, 1, 3, 4);
      const d = f32(b, 1, 3, 4);
      b.attentionBackward(x, x, x, x, f32(b, 1, 2, 3, 3), 2, d, d, f32(b, 1, 3, 4));
    },
    message: `attentionBackward: dq and dk are the same tensor: ${fresh('dq')}`,
  },
  {
    what: 'attention: kvHeads',
    call: (b) => {
      const x = f32(b, 2, 3, 8);
      b.attention(x, x, x, 2, f32(b, 2, 3, 8), f32(b, 2, 2, 3, 3), { kvHeads: 3 });
    },
    message:
      'attention: kvHeads must be a positive integer dividing heads = 2 (each key/value head serves heads/kvHeads query heads), got 3',
  },
  {
    what: 'attention: grouped-query k shape',
    call: (b) => {
      const x = f32(b, 1, 3, 8);
      b.attention(x, x, x, 4, f32(b, 1, 3, 8), f32(b, 1, 4, 3, 3), { kvHeads: 2 });
    },
    message: 'attention: k is f32[1, 3, 8], expected f32[1, 3, 4]',
  },
  {
    what: 'attention: more keys than queries without causal',
    call: (b) => {
      const k = f32(b, 1, 5, 8);
      b.attention(f32(b, 1, 3, 8), k, k, 2, f32(b, 1, 3, 8), f32(b, 1, 2, 3, 5));
    },
    message: 'attention: k is f32[1, 5, 8], expected f32[1, 3, 8]',
  },
  {
    what: 'attention: causal k not [B, Tk, D]',
    call: (b) => b.attention(f32(b, 1, 3, 8), f32(b, 5, 8), f32(b, 5, 8), 2, f32(b, 1, 3, 8), f32(b, 30), { causal: true }),
    message: 'attention: k is f32[5, 8], expected f32[B, Tk, D]',
  },
  {
    what: 'attention: causal with fewer keys than queries',
    call: (b) => {
      const k = f32(b, 1, 3, 8);
      b.attention(f32(b, 1, 4, 8), k, k, 2, f32(b, 1, 4, 8), f32(b, 1, 2, 4, 3), { causal: true });
    },
    message: 'attention: k is f32[1, 3, 8]: causal attention needs at least as many keys as queries (Tk ≥ Tq = 4)',
  },
  {
    what: 'attention: offset past the keys',
    call: (b) => {
      const k = f32(b, 1, 5, 8);
      b.attention(f32(b, 1, 2, 8), k, k, 2, f32(b, 1, 2, 8), f32(b, 1, 2, 2, 5), { causal: true, offset: 4 });
    },
    message: 'attention: offset must be an integer in [0, Tk − Tq] = [0, 3] (query i sits at position offset + i < Tk), got 4',
  },
  {
    what: 'attention: offset without causal',
    call: (b) => {
      const x = f32(b, 1, 3, 8);
      b.attention(x, x, x, 2, f32(b, 1, 3, 8), f32(b, 1, 2, 3, 3), { offset: 0 });
    },
    message: 'attention: offset places the queries of causal attention: pass causal: true, or no offset',
  },
  {
    what: 'attention: keyMask dtype',
    call: (b) => {
      const x = f32(b, 1, 5, 8);
      b.attention(x, x, x, 2, f32(b, 1, 5, 8), f32(b, 1, 2, 5, 5), { keyMask: f32(b, 1, 5) });
    },
    message: 'attention: keyMask is f32[1, 5], expected a u32 tensor',
  },
  {
    what: 'attention: keyMask shape',
    call: (b) => {
      const k = f32(b, 1, 5, 8);
      b.attention(f32(b, 1, 1, 8), k, k, 2, f32(b, 1, 1, 8), f32(b, 1, 2, 1, 5), { causal: true, keyMask: u32(b, 1, 1) });
    },
    message: 'attention: keyMask is u32[1, 1], expected u32[1, 5]',
  },
  {
    what: 'attention: decode-step probs size',
    call: (b) => {
      const k = f32(b, 1, 6, 8);
      b.attention(f32(b, 1, 1, 8), k, k, 2, f32(b, 1, 1, 8), f32(b, 1, 2, 6, 6), { causal: true });
    },
    message: 'attention: probs is f32[1, 2, 6, 6], expected 12 f32 elements',
  },
  {
    what: 'attentionBackward: grouped-query dk shape',
    call: (b) => {
      const [x, kv] = [f32(b, 1, 3, 8), f32(b, 1, 3, 4)];
      b.attentionBackward(x, x, kv, kv, f32(b, 1, 4, 3, 3), 4, f32(b, 1, 3, 8), f32(b, 1, 3, 8), f32(b, 1, 3, 4), {
        kvHeads: 2,
      });
    },
    message: 'attentionBackward: dk is f32[1, 3, 8], expected f32[1, 3, 4]',
  },
  {
    what: 'embedTokens: pos size',
    call: (b) => b.embedTokens(f32(b, 2, 4, 8), f32(b, 8), f32(b, 4, 8), f32(b, 2, 5, 8)),
    message: 'embedTokens: pos is f32[4, 8], expected 40 f32 elements',
  },
  {
    what: 'embedTokens: out shape',
    call: (b) => b.embedTokens(f32(b, 8, 8), f32(b, 8), f32(b, 5, 8), f32(b, 10, 8)),
    message: 'embedTokens: out is f32[10, 8], expected f32[B, T, D]',
  },
  {
    what: 'embedTokensBackward: dCls size',
    call: (b) => b.embedTokensBackward(f32(b, 2, 5, 8), null, f32(b, 5), null),
    message: 'embedTokensBackward: dCls is f32[5], expected 8 f32 elements',
  },
  {
    what: 'embedTokensBackward: no tokens',
    call: (b) => b.embedTokensBackward(f32(b, 2, 0, 8), null, null, f32(b, 0)),
    message: 'embedTokensBackward: dOut is f32[2, 0, 8]: it needs at least one token (T ≥ 1)',
  },
  {
    what: 'poolTokens: mode',
    call: (b) => b.poolTokens(f32(b, 2, 3, 8), 'max' as never, f32(b, 2, 8)),
    message: `poolTokens: unknown pooling mode "max": use 'cls' or 'mean'`,
  },
  {
    what: 'poolTokens: out shape',
    call: (b) => b.poolTokens(f32(b, 2, 3, 8), 'cls', f32(b, 16)),
    message: 'poolTokens: out is f32[16], expected f32[2, 8]',
  },
  {
    what: 'poolTokensBackward: dOut shape',
    call: (b) => b.poolTokensBackward(f32(b, 8, 2), 'mean', f32(b, 2, 3, 8)),
    message: 'poolTokensBackward: dOut is f32[8, 2], expected f32[2, 8]',
  },

  {
    what: 'embed: ids dtype',
    call: (b) => b.embed(f32(b, 4), f32(b, 10, 4), f32(b, 4, 4)),
    message: 'embed: ids is f32[4], expected a u32 tensor',
  },
  {
    what: 'embed: table shape',
    call: (b) => b.embed(u32(b, 4), f32(b, 40), f32(b, 4, 4)),
    message: 'embed: table is f32[40], expected f32[V, D]',
  },
  {
    what: 'embed: table without features',
    call: (b) => b.embed(u32(b, 4), f32(b, 10, 0), f32(b, 4, 0)),
    message: 'embed: table is f32[10, 0]: each vocabulary row needs at least one feature (D ≥ 1)',
  },
  {
    what: 'embed: out size',
    call: (b) => b.embed(u32(b, 2, 2), f32(b, 10, 4), f32(b, 4, 3)),
    message: 'embed: out is f32[4, 3], expected 16 f32 elements',
  },
  {
    what: 'embedBackward: dOut size',
    call: (b) => b.embedBackward(f32(b, 3, 4), u32(b, 4), f32(b, 10, 4)),
    message: 'embedBackward: dOut is f32[3, 4], expected 16 f32 elements',
  },
  {
    what: 'embedBackward: dTable is dOut',
    call: (b) => {
      const t = f32(b, 10, 4);
      b.embedBackward(t, u32(b, 10), t);
    },
    message: `embedBackward: dTable and dOut are the same tensor: ${fresh('dTable')}`,
  },
  {
    what: 'gatherRows: index size',
    call: (b) => b.gatherRows(f32(b, 2, 5, 8), u32(b, 3), f32(b, 2, 8)),
    message: 'gatherRows: index is u32[3], expected 2 u32 elements',
  },
  {
    what: 'gatherRows: index dtype',
    call: (b) => b.gatherRows(f32(b, 2, 5, 8), f32(b, 2), f32(b, 2, 8)),
    message: 'gatherRows: index is f32[2], expected a u32 tensor',
  },
  {
    what: 'gatherRows: out shape',
    call: (b) => b.gatherRows(f32(b, 2, 5, 8), u32(b, 2), f32(b, 2, 5, 8)),
    message: 'gatherRows: out is f32[2, 5, 8], expected f32[2, 8]',
  },
  {
    what: 'gatherRowsBackward: no tokens',
    call: (b) => b.gatherRowsBackward(f32(b, 2, 8), u32(b, 2), f32(b, 2, 0, 8)),
    message: 'gatherRowsBackward: dx is f32[2, 0, 8]: it needs at least one token (T ≥ 1)',
  },

  // ---- loss, optimizer, noise ----
  {
    what: 'softmaxCrossEntropy: labels dtype',
    call: (b) => xent(b, f32(b, 2, 3), f32(b, 2)),
    message: 'softmaxCrossEntropy: labels is f32[2], expected a u32 tensor',
  },
  {
    what: 'softmaxCrossEntropy: labels size',
    call: (b) => xent(b, f32(b, 2, 3), u32(b, 3)),
    message: 'softmaxCrossEntropy: labels is u32[3], expected 2 u32 elements',
  },
  {
    what: 'softmaxCrossEntropy: empty batch',
    call: (b) => xent(b, f32(b, 0, 3), u32(b, 0)),
    message: 'softmaxCrossEntropy: logits is f32[0, 3]: the mean loss over an empty batch is undefined; pass at least one row',
  },
  {
    what: 'softmaxCrossEntropy: no classes',
    call: (b) => xent(b, f32(b, 2, 0), u32(b, 2)),
    message: 'softmaxCrossEntropy: logits is f32[2, 0]: it needs at least one class (C ≥ 1)',
  },
  {
    what: 'softmaxCrossEntropy: logits shape',
    call: (b) => xent(b, f32(b, 2, 3, 1), u32(b, 2)),
    message: 'softmaxCrossEntropy: logits is f32[2, 3, 1], expected f32[B, C]',
  },
  {
    what: 'softmaxCrossEntropy: correct dtype',
    call: (b) => xent(b, f32(b, 2, 3), u32(b, 2), f32(b, 1), f32(b, 1)),
    message: 'softmaxCrossEntropy: correct is f32[1], expected a u32 tensor',
  },
  {
    what: 'tokenCrossEntropy: labels dtype',
    call: (b) => b.tokenCrossEntropy(f32(b, 4, 7), f32(b, 4), f32(b, 1), f32(b, 4, 7), u32(b, 1)),
    message: 'tokenCrossEntropy: labels is f32[4], expected a u32 tensor',
  },
  {
    what: 'tokenCrossEntropy: labels size',
    call: (b) => b.tokenCrossEntropy(f32(b, 2, 2, 7), u32(b, 2), f32(b, 1), f32(b, 2, 2, 7), u32(b, 1)),
    message: 'tokenCrossEntropy: labels is u32[2], expected 4 u32 elements',
  },
  {
    what: 'tokenCrossEntropy: no vocabulary',
    call: (b) => b.tokenCrossEntropy(f32(b, 4, 0), u32(b, 4), f32(b, 1), f32(b, 4, 0), u32(b, 1)),
    message: `tokenCrossEntropy: logits is f32[4, 0], ${rowsRule}`,
  },
  {
    what: 'tokenCrossEntropy: dLogits size',
    call: (b) => b.tokenCrossEntropy(f32(b, 4, 7), u32(b, 4), f32(b, 1), f32(b, 4, 6), u32(b, 1)),
    message: 'tokenCrossEntropy: dLogits is f32[4, 6], expected 28 f32 elements',
  },
  {
    what: 'tokenCrossEntropy: correct dtype',
    call: (b) => b.tokenCrossEntropy(f32(b, 4, 7), u32(b, 4), f32(b, 1), f32(b, 4, 7), f32(b, 1)),
    message: 'tokenCrossEntropy: correct is f32[1], expected a u32 tensor',
  },
  {
    what: 'sumSquares: out size',
    call: (b) => b.sumSquares(f32(b, 4), f32(b, 2)),
    message: 'sumSquares: out is f32[2], expected 1 f32 element',
  },
  {
    what: 'clipFactor: maxNorm',
    call: (b) => b.clipFactor(f32(b, 1), 0, f32(b, 1)),
    message: 'clipFactor: maxNorm must be a finite number > 0, got 0',
  },
  {
    what: 'clipFactor: factor is sumSq',
    call: (b) => {
      const s = f32(b, 1);
      b.clipFactor(s, 1, s);
    },
    message: `clipFactor: factor and sumSq are the same tensor: ${fresh('factor')}`,
  },
  { what: 'adamw: lr < 0', call: (b) => adamw(b, { lr: -1e-3 }), message: 'adamw: lr must be a finite number ≥ 0, got -0.001' },
  { what: 'adamw: lr NaN', call: (b) => adamw(b, { lr: NaN }), message: 'adamw: lr must be a finite number ≥ 0, got NaN' },
  { what: 'adamw: eps < 0', call: (b) => adamw(b, { eps: -1 }), message: 'adamw: eps must be a finite number ≥ 0, got -1' },
  {
    what: 'adamw: weightDecay infinite',
    call: (b) => adamw(b, { weightDecay: Infinity }),
    message: 'adamw: weightDecay must be a finite number ≥ 0, got Infinity',
  },
  { what: 'adamw: beta1 = 1', call: (b) => adamw(b, { beta1: 1 }), message: 'adamw: beta1 must be a number in [0, 1), got 1' },
  {
    what: 'adamw: beta2 < 0',
    call: (b) => adamw(b, { beta2: -0.5 }),
    message: 'adamw: beta2 must be a number in [0, 1), got -0.5',
  },
  {
    what: 'adamw: step 0',
    call: (b) => adamw(b, { step: 0 }),
    message: 'adamw: step must be an integer ≥ 1 (t counts from 1), got 0',
  },
  {
    what: 'adamw: param is grad',
    call: (b) => {
      const p = f32(b, 4);
      b.adamw(p, p, f32(b, 4), f32(b, 4), null, HP);
    },
    message: `adamw: param and grad are the same tensor: ${fresh('param')}`,
  },
  {
    what: 'adamw: m is v',
    call: (b) => {
      const m = f32(b, 4);
      b.adamw(f32(b, 4), f32(b, 4), m, m, null, HP);
    },
    message: `adamw: m and v are the same tensor: ${fresh('m')}`,
  },
  {
    what: 'adamw: gradScale size',
    call: (b) => b.adamw(f32(b, 4), f32(b, 4), f32(b, 4), f32(b, 4), f32(b, 4), HP),
    message: 'adamw: gradScale is f32[4], expected 1 f32 element',
  },
  {
    what: 'dropout: p range',
    call: (b) => b.dropout(f32(b, 4), 1.5, 1, f32(b, 4)),
    message: 'dropout: p must be a number in [0, 1], got 1.5',
  },
  {
    what: 'dropout: seed',
    call: (b) => b.dropout(f32(b, 4), 0.5, 0.5, f32(b, 4)),
    message: 'dropout: seed must be an integer (it is used mod 2^32), got 0.5',
  },
  {
    what: 'dropout: out is x',
    call: (b) => {
      const x = f32(b, 4);
      b.dropout(x, 0.1, 1, x);
    },
    message: `dropout: out and x are the same tensor: ${fresh('out')}`,
  },
  {
    what: 'dropPath: no sample dimension',
    call: (b) => b.dropPath(f32(b), 0.5, 1, f32(b)),
    message: 'dropPath: x is f32[]: it needs a leading sample dimension [B, …]',
  },
  {
    what: 'dropPath: out shape',
    call: (b) => b.dropPath(f32(b, 2, 3), 0.5, 1, f32(b, 3, 2)),
    message: 'dropPath: out is f32[3, 2], expected f32[2, 3]',
  },
  {
    what: 'maskScale: mask size',
    call: (b) => b.maskScale(f32(b, 4, 10), f32(b, 11), 2, f32(b, 4, 10)),
    message: "maskScale: mask is f32[11]: its 11 elements do not divide x f32[4, 10]; pass a mask of x's shape or [B]",
  },
  {
    what: 'maskScale: scale',
    call: (b) => b.maskScale(f32(b, 4), f32(b, 4), Infinity, f32(b, 4)),
    message: 'maskScale: scale must be finite, got Infinity',
  },
  {
    what: 'maskScale: out is mask',
    call: (b) => {
      const m = f32(b, 4);
      b.maskScale(f32(b, 4), m, 1, m);
    },
    message: `maskScale: out and mask are the same tensor: ${fresh('out')}`,
  },
  {
    what: 'importance: unc size',
    call: (b) => b.importance(f32(b, 6), f32(b, 6), f32(b, 6), f32(b, 5), 0.85, 0.85, u32(b, 1)),
    message: 'importance: unc is f32[5], expected 6 f32 elements',
  },
  {
    what: 'importance: skipped dtype',
    call: (b) => b.importance(f32(b, 6), f32(b, 6), f32(b, 6), f32(b, 6), 0.85, 0.85, f32(b, 1)),
    message: 'importance: skipped is f32[1], expected a u32 tensor',
  },
  {
    what: 'importance: beta2 = 1',
    call: (b) => b.importance(f32(b, 6), f32(b, 6), f32(b, 6), f32(b, 6), 0.85, 1, u32(b, 1)),
    message: 'importance: beta2 must be a number in [0, 1), got 1',
  },
  {
    what: 'importance: ipt is theta',
    call: (b) => {
      const t = f32(b, 6);
      b.importance(t, f32(b, 6), t, f32(b, 6), 0.85, 0.85, u32(b, 1));
    },
    message: `importance: ipt and theta are the same tensor: ${fresh('ipt')}`,
  },
];

/** The contract's table on one backend; `create` gives null where the backend is unavailable (then every case skips). */
export function describeContract(name: string, create: () => Promise<Backend | null>): void {
  describe(`the backend contract on ${name}`, () => {
    let b: Backend | null = null;
    beforeAll(async () => {
      b = await create();
    });
    afterAll(() => b?.destroy());

    for (const bad of BAD_CALLS) {
      it(`refuses ${bad.what}`, async (ctx) => {
        if (!b) return ctx.skip();
        let error: unknown = null;
        try {
          await bad.call(b);
        } catch (e) {
          error = e;
        }
        expect(error).toBeInstanceOf(BackendError);
        expect((error as Error).message).toBe(bad.message);
      });
    }

    it('refused calls reach no device: the queue still flushes cleanly', async (ctx) => {
      if (!b) return ctx.skip();
      await expect(b.flush()).resolves.toBeUndefined();
    });

    it('read rejects, never throws synchronously', async (ctx) => {
      if (!b) return ctx.skip();
      const t = b.zeros([2]);
      b.free(t);
      const pending = b.read(t);
      expect(pending).toBeInstanceOf(Promise);
      await expect(pending).rejects.toThrow(BackendError);
    });

    it('an out-of-range label gives that sample a NaN loss term and gradient row, never counted as correct', async (ctx) => {
      if (!b) return ctx.skip();
      const logits = b.upload(new Float32Array([1, 3, 0, /* */ 2, 0, 1, /* */ 0, 0, 5]), [3, 3]);
      const [loss, dLogits, correct] = [b.zeros([1]), b.zeros([3, 3]), b.zeros([1], 'u32')];
      b.softmaxCrossEntropy(logits, b.upload(new Uint32Array([1, 3, 2]), [3]), loss, dLogits, correct);
      expect((await b.read(loss))[0]).toBeNaN();
      const d = Array.from(await b.read(dLogits));
      expect(d.map(Number.isNaN)).toEqual([false, false, false, true, true, true, false, false, false]);
      expect((await b.read(correct))[0]).toBe(2);
    });

    it('tokenCrossEntropy: a label past the vocabulary gives its row NaN, an ignored one 0, and both backends count the rest', async (ctx) => {
      if (!b) return ctx.skip();
      const logits = b.upload(new Float32Array([1, 3, 0, /* */ 2, 0, 1, /* */ 0, 0, 5, /* */ 4, 1, 1]), [4, 3]);
      const [loss, dLogits, correct] = [b.zeros([1]), b.zeros([4, 3]), b.zeros([1], 'u32')];
      b.tokenCrossEntropy(logits, b.upload(new Uint32Array([1, IGNORE_LABEL, 3, 0]), [4]), loss, dLogits, correct);
      expect((await b.read(loss))[0]).toBeNaN();
      const d = Array.from(await b.read(dLogits));
      expect(d.map(Number.isNaN)).toEqual([false, false, false, false, false, false, true, true, true, false, false, false]);
      expect(d.slice(3, 6)).toEqual([0, 0, 0]);
      expect((await b.read(correct))[0]).toBe(2);
    });

    it('accepts empty tensors where the result is defined', async (ctx) => {
      if (!b) return ctx.skip();
      const empty = b.zeros([0, 4]);
      b.add(empty, b.zeros([0, 4]), b.zeros([0, 4]));
      b.addBias(b.zeros([0, 4]), b.zeros([4]));
      const s = b.upload(new Float32Array([7]), [1]);
      b.sumSquares(empty, s);
      const rows = b.upload(new Float32Array([1, 2, 3, 4]), [4]);
      b.sumRows(empty, rows);
      const kept = b.upload(new Uint32Array([9]), [1]);
      b.sparsify(b.zeros([0]), b.zeros([1]), b.zeros([0]), kept);
      b.rmsNorm(empty, b.zeros([4]), 1e-6, b.zeros([0, 4]), b.zeros([0]));
      const noSamples = b.zeros([0, 3, 4]);
      b.rope(noSamples, b.zeros([3, 1]), b.zeros([3, 1]), 2, 0, noSamples);
      b.siluMul(b.zeros([0]), b.zeros([0]), b.zeros([0]));
      b.geluTanh(b.zeros([0]), b.zeros([0]));
      expect(Array.from(await b.read(s))).toEqual([0]);
      expect(Array.from(await b.read(rows))).toEqual([0, 0, 0, 0]);
      expect(Array.from(await b.read(kept))).toEqual([0]);
    });
  });
}
