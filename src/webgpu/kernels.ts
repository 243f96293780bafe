// The kernel table: each entry point of each WGSL family, with its storage bindings in the order the
// backend passes buffers (the binding tables are in the headers of the .wgsl files).

import matmulSrc from '../../wgsl/matmul.wgsl';
import mergeSrc from '../../wgsl/merge.wgsl';
import mergeBackwardSrc from '../../wgsl/merge_backward.wgsl';
import mixtureSrc from '../../wgsl/mixture.wgsl';
import selectSrc from '../../wgsl/select.wgsl';
import sparsifySrc from '../../wgsl/sparsify.wgsl';
import type { KernelSpec } from './pipelines.js';

const SELECT = [[1, 'read'], [2, 'write'], [3, 'write'], [4, 'write']] as const;

export const KERNELS = {
  // bindings: A, B, coeff, W
  merge: { family: 'merge', source: mergeSrc, entry: 'main', storage: [[1, 'read'], [2, 'read'], [3, 'read'], [4, 'write']] },
  // bindings: A, B, dW, coeff, out
  mergeBackward: {
    family: 'merge_backward', source: mergeBackwardSrc, entry: 'main',
    storage: [[1, 'read'], [2, 'read'], [3, 'read'], [4, 'read'], [5, 'write']],
  },
  // bindings: W0, alpha, gamma, beta, W, P
  mixture: {
    family: 'mixture', source: mixtureSrc, entry: 'forward',
    storage: [[1, 'read'], [2, 'read'], [3, 'read'], [4, 'read'], [5, 'write'], [6, 'write']],
  },
  // bindings: W0, alpha, gamma, P, dW, dW0, partial
  mixtureBackwardRows: {
    family: 'mixture', source: mixtureSrc, entry: 'backward_rows',
    storage: [[1, 'read'], [2, 'read'], [3, 'read'], [6, 'write'], [7, 'read'], [8, 'write'], [9, 'write']],
  },
  // bindings: gamma, partial, dAlpha, dGamma, dBeta
  mixtureBackwardTotal: {
    family: 'mixture', source: mixtureSrc, entry: 'backward_total',
    storage: [[3, 'read'], [9, 'write'], [10, 'write'], [11, 'write'], [12, 'write']],
  },
  // bindings (every entry): W, state, hist, threshold
  selectInit: { family: 'select', source: selectSrc, entry: 'init', storage: SELECT },
  selectHistogram: { family: 'select', source: selectSrc, entry: 'histogram', storage: SELECT },
  selectScan: { family: 'select', source: selectSrc, entry: 'scan', storage: SELECT },
  selectMinAbove: { family: 'select', source: selectSrc, entry: 'min_above', storage: SELECT },
  selectFinish: { family: 'select', source: selectSrc, entry: 'finish', storage: SELECT },
  // bindings: W, threshold, Ws, kept
  sparsify: { family: 'sparsify', source: sparsifySrc, entry: 'forward', storage: [[1, 'read'], [2, 'read'], [3, 'write'], [4, 'write']] },
  // bindings: W, threshold, G, dW
  sparsifyBackward: {
    family: 'sparsify', source: sparsifySrc, entry: 'backward',
    storage: [[1, 'read'], [2, 'read'], [5, 'read'], [6, 'write']],
  },
  // bindings: a, b, C
  matmul: { family: 'matmul', source: matmulSrc, entry: 'main', storage: [[1, 'read'], [2, 'read'], [3, 'write']] },
} satisfies Record<string, KernelSpec>;

/** Workgroup sizes the host needs to size dispatches (they match the WGSL). */
export const WG = {
  merge: 256,
  mergeBackward: 64,
  sparsify: 256,
  /** select.wgsl: WG·ITEMS elements per histogram / min_above workgroup */
  selectElements: 256 * 16,
  /** matmul.wgsl: one workgroup per 64×64 tile */
  matmulTile: 64,
} as const;

/** The three radix digits of select.wgsl over the 31 bits of |W|: [shift, width]. */
export const SELECT_DIGITS: ReadonlyArray<readonly [number, number]> = [[20, 11], [9, 11], [0, 9]];
