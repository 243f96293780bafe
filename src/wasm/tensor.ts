// Tensors of the wasm backend: a shape, a dtype and a block of linear memory (byte offset `ptr`).
// Handles stay valid across memory growth (offsets do not move); they die on free() or destroy().

import { BackendError, type DType, type Tensor } from '../backend.js';

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

/** Element count of a shape, or a BackendError naming the bad dimension. */
export function sizeOf(shape: readonly number[]): number {
  let size = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new BackendError(`wasm backend: bad shape [${shape.join(', ')}]: dimensions must be non-negative integers`);
    size *= d;
  }
  return size;
}

export function describe(t: Tensor): string {
  return `${t.dtype}[${t.shape.join(', ')}]`;
}

/** Checks that a tensor has `size` elements of `dtype` (the shape itself may be any with that size). */
export function expectSize(t: Tensor, size: number, name: string, dtype: DType = 'f32'): void {
  if (t.size !== size || t.dtype !== dtype) {
    throw new BackendError(`wasm backend: ${name} is ${describe(t)}, expected ${size} ${dtype} element${size === 1 ? '' : 's'}`);
  }
}

/** Checks an exact shape and dtype. */
export function expectShape(t: Tensor, shape: readonly number[], name: string, dtype: DType = 'f32'): void {
  if (t.dtype !== dtype || t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new BackendError(`wasm backend: ${name} is ${describe(t)}, expected ${dtype}[${shape.join(', ')}]`);
  }
}

/** Outputs written while inputs are still read must not share storage with them. */
export function expectDistinct(outs: Record<string, Tensor>, ins: Record<string, Tensor>): void {
  for (const [o, to] of Object.entries(outs)) {
    for (const [i, ti] of Object.entries(ins)) {
      if (to === ti) throw new BackendError(`wasm backend: output ${o} is the same tensor as input ${i}: pass a separate output tensor`);
    }
  }
}
