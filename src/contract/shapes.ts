// How the contract reads shapes, shared by the rules and by the backends that execute them:
// a tensor's description `dtype[d0, d1, …]`, the element count of a shape, and a tensor seen as
// [rows, columns] with every leading dimension counted as rows.

import type { Tensor } from '../backend.js';

export function describe(t: Tensor): string {
  return `${t.dtype}[${t.shape.join(', ')}]`;
}

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function matrixDims(t: Tensor): [number, number] {
  return [sizeOf(t.shape.slice(0, -1)), t.shape[t.shape.length - 1]];
}
