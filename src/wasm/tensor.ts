// Tensors of the wasm backend: a shape, a dtype and a block of linear memory (byte offset `ptr`).
// Handles stay valid across memory growth (offsets do not move); they die on free() or destroy().

import type { DType, Tensor } from '../backend.js';

export class WasmTensor implements Tensor {
  readonly shape: readonly number[];
  /** False once freed (or once its backend is destroyed). */
  live = true;

  constructor(
    shape: readonly number[],
    readonly size: number,
    readonly dtype: DType,
    /** Byte offset in the backend's linear memory. */
    readonly ptr: number,
    /** Bytes reserved (size·4, at least one aligned block). */
    readonly bytes: number,
    readonly owner: object,
  ) {
    this.shape = Object.freeze([...shape]);
  }
}
