// The wasm backend's kernels, exported pointer-and-length style over linear memory. The host
// (src/wasm/) owns all memory above heapBase() and passes byte offsets, element counts and scratch.
export { heapBase } from './memory';
export { relaxedSimd } from './fma';
export { merge, mergeScratchBytes, packB4 } from './merge';
export { mergeBackward, mergeBackwardReduce } from './merge_backward';
export { mixture, mixtureBackward } from './mixture';
export { quantileAbs } from './select';
export { sparsify, sparsifyBackward } from './sparsify';
export { gemm, matmulScratchBytes } from './matmul';
export { add, addInto, addBias, copy, zero, gelu, geluBackward } from './elementwise';
export { sumRows, sumSquares, clipFactor } from './reduce';
export { layerNorm, layerNormBackward, layerNormScratchBytes } from './layernorm';
export { attention, attentionBackward, attentionScratchBytes } from './attention';
export { embedTokens, embedTokensBackward, poolTokens, poolTokensBackward } from './tokens';
export { softmaxCrossEntropy, tokenCrossEntropyRows, tokenCrossEntropyTotal } from './xent';
export { embed, embedBackward, gatherRows, gatherRowsBackward } from './lookup';
export { adamw } from './adamw';
export { importance } from './importance';
export { dropout, dropPath, maskScale } from './dropout';
export { rmsNorm, rmsNormBackward, rmsNormScratchBytes } from './rmsnorm';
export { rope } from './rope';
export { siluMul, siluMulBackward, geluTanh, geluTanhBackward } from './activations';
export { countKept, countNonzeros, keptGradient, keptRows, packPanels, panelBytes, sparseColumns, sparseProduct } from './sparse_products';
export { addTransposed } from './transpose_add';
