// The wasm backend's kernels, exported pointer-and-length style over linear memory. The host
// (src/wasm/) owns all memory above heapBase() and passes byte offsets, element counts and scratch.
export { heapBase } from './memory';
export { merge, mergeScratchBytes } from './merge';
export { mergeBackward } from './merge_backward';
export { mixture, mixtureBackward } from './mixture';
export { quantileAbs } from './select';
export { sparsify, sparsifyBackward } from './sparsify';
export { matmul, matmulScratchBytes } from './matmul';
