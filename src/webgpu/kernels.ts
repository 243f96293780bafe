// The kernel table: each entry point of each WGSL family, with its storage bindings in the order the
// backend passes buffers (the binding tables are in the headers of the .wgsl files).

import activationsSrc from '../../wgsl/activations.wgsl';
import adamwSrc from '../../wgsl/adamw.wgsl';
import columnsSrc from '../../wgsl/columns.wgsl';
import importanceSrc from '../../wgsl/importance.wgsl';
import attentionBackwardSrc from '../../wgsl/attention_backward.wgsl';
import attentionForwardSrc from '../../wgsl/attention_forward.wgsl';
import attentionPreludeSrc from '../../wgsl/attention_prelude.wgsl';
import elementwiseSrc from '../../wgsl/elementwise.wgsl';
import geluSrc from '../../wgsl/gelu.wgsl';
import layernormSrc from '../../wgsl/layernorm.wgsl';
import lookupSrc from '../../wgsl/lookup.wgsl';
import matmulSrc from '../../wgsl/matmul.wgsl';
import mergeSrc from '../../wgsl/merge.wgsl';
import mergeBackwardSrc from '../../wgsl/merge_backward.wgsl';
import mixtureSrc from '../../wgsl/mixture.wgsl';
import selectSrc from '../../wgsl/select.wgsl';
import reduceSrc from '../../wgsl/reduce.wgsl';
import rmsnormSrc from '../../wgsl/rmsnorm.wgsl';
import ropeSrc from '../../wgsl/rope.wgsl';
import workgroupReduceSrc from '../../wgsl/workgroup_reduce.wgsl';
import sparsifySrc from '../../wgsl/sparsify.wgsl';
import tokensSrc from '../../wgsl/tokens.wgsl';
import xentSrc from '../../wgsl/xent.wgsl';
import type { KernelSpec } from './pipelines.js';

/** Files that call the workgroup reductions get workgroup_reduce.wgsl in front of their text. */
const withReductions = (source: string): string => `${workgroupReduceSrc}\n${source}`;
const [MIXTURE, REDUCTIONS, LAYER_NORM, RMS_NORM] = [mixtureSrc, reduceSrc, layernormSrc, rmsnormSrc].map(withReductions);
/** The attention entry files get attention_prelude.wgsl (tiles, product(), row reductions) in front. */
const [ATTENTION_FORWARD, ATTENTION_BACKWARD] = [attentionForwardSrc, attentionBackwardSrc].map(
  (source) => `${attentionPreludeSrc}\n${source}`,
);

const ATTENTION_BACKWARD_INPUTS = [
  [6, 'read'],
  [1, 'read'],
  [2, 'read'],
  [3, 'read'],
  [7, 'read'],
  [8, 'write'],
] as const;
const SELECT = [
  [1, 'read'],
  [2, 'write'],
  [3, 'write'],
  [4, 'write'],
] as const;

export const KERNELS = {
  // bindings: A, B, coeff, W
  merge: {
    family: 'merge',
    source: mergeSrc,
    entry: 'main',
    storage: [
      [1, 'read'],
      [2, 'read'],
      [3, 'read'],
      [4, 'write'],
    ],
  },
  // bindings: A, B, dW, coeff, part
  mergeBackwardPartials: {
    family: 'merge_backward',
    source: mergeBackwardSrc,
    entry: 'partials',
    storage: [
      [1, 'read'],
      [2, 'read'],
      [3, 'read'],
      [4, 'read'],
      [6, 'write'],
    ],
  },
  // bindings: part, out
  mergeBackwardTotals: {
    family: 'merge_backward',
    source: mergeBackwardSrc,
    entry: 'totals',
    storage: [
      [6, 'write'],
      [5, 'write'],
    ],
  },
  // bindings: W0, alpha, gamma, beta, W, P
  mixture: {
    family: 'mixture',
    source: MIXTURE,
    entry: 'forward',
    storage: [
      [1, 'read'],
      [2, 'read'],
      [3, 'read'],
      [4, 'read'],
      [5, 'write'],
      [6, 'write'],
    ],
  },
  // bindings: W0, alpha, gamma, P, dW, dW0, partial
  mixtureBackwardRows: {
    family: 'mixture',
    source: MIXTURE,
    entry: 'backward_rows',
    storage: [
      [1, 'read'],
      [2, 'read'],
      [3, 'read'],
      [6, 'write'],
      [7, 'read'],
      [8, 'write'],
      [9, 'write'],
    ],
  },
  // bindings: gamma, partial, dAlpha, dGamma, dBeta
  mixtureBackwardTotal: {
    family: 'mixture',
    source: MIXTURE,
    entry: 'backward_total',
    storage: [
      [3, 'read'],
      [9, 'write'],
      [10, 'write'],
      [11, 'write'],
      [12, 'write'],
    ],
  },
  // bindings (every entry): W, state, hist, threshold
  selectInit: { family: 'select', source: selectSrc, entry: 'init', storage: SELECT },
  selectHistogram: { family: 'select', source: selectSrc, entry: 'histogram', storage: SELECT },
  selectScan: { family: 'select', source: selectSrc, entry: 'scan', storage: SELECT },
  selectMinAbove: { family: 'select', source: selectSrc, entry: 'min_above', storage: SELECT },
  selectFinish: { family: 'select', source: selectSrc, entry: 'finish', storage: SELECT },
  // bindings: W, threshold, Ws, kept
  sparsify: {
    family: 'sparsify',
    source: sparsifySrc,
    entry: 'forward',
    storage: [
      [1, 'read'],
      [2, 'read'],
      [3, 'write'],
      [4, 'write'],
    ],
  },
  // bindings: W, threshold, G, dW
  sparsifyBackward: {
    family: 'sparsify',
    source: sparsifySrc,
    entry: 'backward',
    storage: [
      [1, 'read'],
      [2, 'read'],
      [5, 'read'],
      [6, 'write'],
    ],
  },
  // bindings: W, threshold, dW, x, dy
  keptGradient: {
    family: 'sparsify',
    source: sparsifySrc,
    entry: 'kept_gradient',
    storage: [
      [1, 'read'],
      [2, 'read'],
      [6, 'write'],
      [7, 'read'],
      [8, 'read'],
    ],
  },
  // bindings: a, b, C (scalar loads), and a4, b4, C (vec4 loads)
  matmul: {
    family: 'matmul',
    source: matmulSrc,
    entry: 'main',
    storage: [
      [1, 'read'],
      [2, 'read'],
      [3, 'write'],
    ],
  },
  matmulVec4: {
    family: 'matmul',
    source: matmulSrc,
    entry: 'main_vec4',
    storage: [
      [4, 'read'],
      [5, 'read'],
      [3, 'write'],
    ],
  },
} satisfies Record<string, KernelSpec>;

const ELEMENTWISE = (entry: string, storage: KernelSpec['storage']): KernelSpec => ({
  family: 'elementwise',
  source: elementwiseSrc,
  entry,
  storage,
});
/** gelu.wgsl uses elementwise.wgsl's uniform, bindings and index(): compiled after it. */
const GELU_SOURCE = `${elementwiseSrc}\n${geluSrc}`;
const GELU = (entry: string, storage: KernelSpec['storage']): KernelSpec => ({
  family: 'gelu',
  source: GELU_SOURCE,
  entry,
  storage,
});
const REDUCE = (entry: string, storage: KernelSpec['storage']): KernelSpec => ({
  family: 'reduce',
  source: REDUCTIONS,
  entry,
  storage,
});
const LAYERNORM = (entry: string, storage: KernelSpec['storage']): KernelSpec => ({
  family: 'layernorm',
  source: LAYER_NORM,
  entry,
  storage,
});
const TOKENS = (entry: string, storage: KernelSpec['storage']): KernelSpec => ({
  family: 'tokens',
  source: tokensSrc,
  entry,
  storage,
});
const XENT = (entry: string, storage: KernelSpec['storage']): KernelSpec => ({ family: 'xent', source: xentSrc, entry, storage });
const LOOKUP = (entry: string, storage: KernelSpec['storage']): KernelSpec => ({
  family: 'lookup',
  source: lookupSrc,
  entry,
  storage,
});

/** The transformer primitives' kernels (binding tables in each .wgsl header). */
export const TRANSFORMER_KERNELS = {
  // elementwise.wgsl (and gelu.wgsl), bindings: a, [b,] out
  add: ELEMENTWISE('add', [
    [1, 'read'],
    [2, 'read'],
    [3, 'write'],
  ]),
  addTransposed: ELEMENTWISE('add_transposed', [
    [1, 'read'],
    [2, 'read'],
    [3, 'write'],
  ]),
  addInto: ELEMENTWISE('add_into', [
    [1, 'read'],
    [3, 'write'],
  ]),
  addBias: ELEMENTWISE('add_bias', [
    [2, 'read'],
    [3, 'write'],
  ]),
  gelu: GELU('gelu', [
    [1, 'read'],
    [3, 'write'],
  ]),
  geluBackward: GELU('gelu_backward', [
    [1, 'read'],
    [2, 'read'],
    [3, 'write'],
  ]),
  dropout: ELEMENTWISE('dropout', [
    [1, 'read'],
    [3, 'write'],
  ]),
  dropPath: ELEMENTWISE('drop_path', [
    [1, 'read'],
    [3, 'write'],
  ]),
  maskScale: ELEMENTWISE('mask_scale', [
    [1, 'read'],
    [2, 'read'],
    [3, 'write'],
  ]),
  // reduce.wgsl
  sumRowsPartial: REDUCE('sum_rows_partial', [
    [1, 'read'],
    [2, 'write'],
  ]), // x, partial
  sumChunks: REDUCE('sum_chunks', [
    [2, 'write'],
    [3, 'write'],
  ]), // partial, out
  sumSquaresPartial: REDUCE('sum_squares_partial', [
    [1, 'read'],
    [2, 'write'],
  ]), // x, partial
  sumSquaresTotal: REDUCE('sum_squares_total', [
    [2, 'write'],
    [3, 'write'],
  ]), // partial, out
  clipFactor: REDUCE('clip_factor', [
    [1, 'read'],
    [3, 'write'],
  ]), // sumSq, factor
  // layernorm.wgsl
  layerNorm: LAYERNORM('forward', [
    [1, 'read'],
    [2, 'read'],
    [3, 'read'],
    [4, 'write'],
    [5, 'write'],
    [6, 'write'],
  ]), // x, w, b, out, mean, rstd
  layerNormDx: LAYERNORM('backward_dx', [
    [7, 'read'],
    [1, 'read'],
    [2, 'read'],
    [10, 'read'],
    [11, 'read'],
    [8, 'write'],
  ]), // dy, x, w, mean, rstd, dx
  layerNormPartial: LAYERNORM('backward_partial', [
    [7, 'read'],
    [1, 'read'],
    [10, 'read'],
    [11, 'read'],
    [9, 'write'],
  ]), // dy, x, mean, rstd, partial
  // attention_forward.wgsl: q, k, v, out, probs, keyMask
  attention: {
    family: 'attention_forward',
    source: ATTENTION_FORWARD,
    entry: 'forward',
    storage: [
      [1, 'read'],
      [2, 'read'],
      [3, 'read'],
      [4, 'write'],
      [5, 'write'],
      [12, 'read'],
    ],
  },
  // attention_backward.wgsl, bindings: dO, q, k, v, P, dS, then dq (rows) or dk, dv (cols)
  attentionRows: {
    family: 'attention_backward',
    source: ATTENTION_BACKWARD,
    entry: 'backward_rows',
    storage: [...ATTENTION_BACKWARD_INPUTS, [9, 'write']],
  },
  attentionCols: {
    family: 'attention_backward',
    source: ATTENTION_BACKWARD,
    entry: 'backward_cols',
    storage: [...ATTENTION_BACKWARD_INPUTS, [10, 'write'], [11, 'write']],
  },
  // tokens.wgsl
  embed: TOKENS('embed', [
    [1, 'read'],
    [2, 'read'],
    [3, 'read'],
    [4, 'write'],
  ]), // patches, cls, pos, out
  embedPatchesBackward: TOKENS('embed_patches_bw', [
    [5, 'read'],
    [6, 'write'],
  ]), // dOut, dPatches
  embedSumBackward: TOKENS('embed_sum_bw', [
    [5, 'read'],
    [7, 'write'],
  ]), // dOut, dPos or dCls
  pool: TOKENS('pool', [
    [8, 'read'],
    [4, 'write'],
  ]), // x, out
  poolBackward: TOKENS('pool_bw', [
    [5, 'read'],
    [6, 'write'],
  ]), // dOut, dx
  // xent.wgsl
  xentRows: XENT('rows', [
    [1, 'read'],
    [2, 'read'],
    [3, 'write'],
    [4, 'write'],
  ]), // logits, labels, dLogits, partial
  xentTotal: XENT('total', [
    [4, 'write'],
    [5, 'write'],
    [6, 'write'],
  ]), // partial, loss, correct
  tokenCount: XENT('token_count', [
    [2, 'read'],
    [7, 'write'],
  ]), // labels, counted
  tokenRows: XENT('token_rows', [
    [1, 'read'],
    [2, 'read'],
    [3, 'write'],
    [4, 'write'],
    [7, 'write'],
  ]), // logits, labels, dLogits, partial, counted
  tokenTotal: XENT('token_total', [
    [4, 'write'],
    [5, 'write'],
    [6, 'write'],
    [7, 'write'],
  ]), // partial, loss, correct, counted
  // lookup.wgsl, bindings: ids or index, then table or x (forward) or dOut (backward), then the output
  lookupEmbed: LOOKUP('embed', [
    [1, 'read'],
    [2, 'read'],
    [4, 'write'],
  ]),
  lookupEmbedBackward: LOOKUP('embed_bw', [
    [1, 'read'],
    [3, 'read'],
    [4, 'write'],
  ]),
  lookupGather: LOOKUP('gather', [
    [1, 'read'],
    [2, 'read'],
    [4, 'write'],
  ]),
  lookupGatherBackward: LOOKUP('gather_bw', [
    [1, 'read'],
    [3, 'read'],
    [4, 'write'],
  ]),
  // adamw.wgsl, bindings: param, grad, m, v, scale
  adamw: {
    family: 'adamw',
    source: adamwSrc,
    entry: 'step',
    storage: [
      [1, 'write'],
      [2, 'read'],
      [3, 'write'],
      [4, 'write'],
      [5, 'read'],
    ],
  },
  // importance.wgsl, bindings: theta, grad, ipt, unc, skipped
  importance: {
    family: 'importance',
    source: importanceSrc,
    entry: 'update',
    storage: [
      [1, 'read'],
      [2, 'read'],
      [3, 'write'],
      [4, 'write'],
      [5, 'write'],
    ],
  },
} satisfies Record<string, KernelSpec>;

const RMSNORM = (entry: string, storage: KernelSpec['storage']): KernelSpec => ({
  family: 'rmsnorm',
  source: RMS_NORM,
  entry,
  storage,
});
const ROPE = (entry: string, storage: KernelSpec['storage']): KernelSpec => ({ family: 'rope', source: ropeSrc, entry, storage });
const ACTIVATIONS = (entry: string, storage: KernelSpec['storage']): KernelSpec => ({
  family: 'activations',
  source: activationsSrc,
  entry,
  storage,
});

const COLUMNS = (entry: string, storage: KernelSpec['storage']): KernelSpec => ({
  family: 'columns',
  source: columnsSrc,
  entry,
  storage,
});

/** The decoder primitives' kernels (binding tables in each .wgsl header); dw sums end in TRANSFORMER_KERNELS.sumChunks. */
export const DECODER_KERNELS = {
  // columns.wgsl
  sliceColumns: COLUMNS('slice_columns', [
    [1, 'read'],
    [2, 'write'],
  ]), // x, out
  addColumns: COLUMNS('add_columns', [
    [1, 'read'],
    [2, 'write'],
  ]), // d, dx
  // rmsnorm.wgsl
  rmsNorm: RMSNORM('forward', [
    [1, 'read'],
    [2, 'read'],
    [3, 'write'],
    [4, 'write'],
  ]), // x, w, out, rstd
  rmsNormDx: RMSNORM('backward_dx', [
    [5, 'read'],
    [1, 'read'],
    [2, 'read'],
    [8, 'read'],
    [6, 'write'],
  ]), // dy, x, w, rstd, dx
  rmsNormPartial: RMSNORM('backward_partial', [
    [5, 'read'],
    [1, 'read'],
    [8, 'read'],
    [7, 'write'],
  ]), // dy, x, rstd, partial
  // rope.wgsl
  rope: ROPE('rotate', [
    [1, 'read'],
    [2, 'read'],
    [3, 'read'],
    [4, 'write'],
  ]), // x, cos, sin, out
  ropeInPlace: ROPE('rotate_in_place', [
    [2, 'read'],
    [3, 'read'],
    [4, 'write'],
  ]), // cos, sin, x (= out)
  // activations.wgsl
  siluMul: ACTIVATIONS('silu_mul', [
    [1, 'read'],
    [2, 'read'],
    [4, 'write'],
  ]), // gate, up, out
  siluMulBackward: ACTIVATIONS('silu_mul_backward', [
    [1, 'read'],
    [2, 'read'],
    [3, 'read'],
    [4, 'write'],
    [5, 'write'],
  ]), // dy, gate, up, dGate, dUp
  geluTanh: ACTIVATIONS('gelu_tanh', [
    [1, 'read'],
    [4, 'write'],
  ]), // x, out
  geluTanhBackward: ACTIVATIONS('gelu_tanh_backward', [
    [1, 'read'],
    [2, 'read'],
    [4, 'write'],
  ]), // dy, x, dx
} satisfies Record<string, KernelSpec>;

/** Workgroup sizes the host needs to size dispatches (they match the WGSL). */
export const WG = {
  merge: 256,
  mergeBackward: 64,
  /** merge_backward.wgsl: rows of the other side summed into one partial */
  mergeBackwardChunk: 32,
  sparsify: 256,
  /** sparsify.wgsl kept_gradient: TILE² threads per TILE×TILE tile of dW (TILE = 16 there) */
  keptGradient: 256,
  /** select.wgsl: WG·ITEMS elements per histogram / min_above workgroup */
  selectElements: 256 * 16,
  /** elementwise.wgsl, tokens.wgsl, lookup.wgsl, adamw.wgsl, activations.wgsl, columns.wgsl, rope.wgsl (per pair): one thread per element */
  elementwise: 256,
  /** reduce.wgsl, layernorm.wgsl and rmsnorm.wgsl: columns per workgroup of the column sums */
  reduce: 256,
  /** reduce.wgsl: WG·ITEMS elements per sum_squares_partial workgroup */
  sumSquaresElements: 256 * 16,
  /** rows per chunk of the two-stage column sums (sumRows, the LayerNorm dw/db, the RMSNorm dw) */
  rowsPerChunk: 64,
  /** attention_*.wgsl: query rows (forward, backward_rows) or key rows (backward_cols) per workgroup */
  attentionRows: 32,
} as const;

/** The three radix digits of select.wgsl over the 31 bits of |W|: [shift, width]. */
export const SELECT_DIGITS: ReadonlyArray<readonly [number, number]> = [
  [20, 11],
  [9, 11],
  [0, 9],
];
