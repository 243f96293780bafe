// CPU data preparation, exported pointer-and-length style over linear memory (build/prep.wasm, a
// module apart from the kernels). The host (src/data/prep.ts) owns every byte from heapBase() up.
export { heapBase } from '../memory';
export { resize, resizeScratchBytes } from './resize';
export { fromBytes, toBytes, grayToRgb, normalize } from './pixels';
export { patchify } from './patchify';
export { shuffle } from './shuffle';
export { prepareBatch, batchScratchBytes } from './batch';
