// How the contract reads shapes, shared by the rules and by the backends that execute them:
// a tensor's description `dtype[d0, d1, …]`, the element count of a shape, a tensor seen as
// [rows, columns] with every leading dimension counted as rows, and the sizes of an attention call.

import type { AttentionOptions, Tensor } from '../backend.js';

export function describe(t: Tensor): string {
  return `${t.dtype}[${t.shape.join(', ')}]`;
}

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function matrixDims(t: Tensor): [number, number] {
  return [sizeOf(t.shape.slice(0, -1)), t.shape[t.shape.length - 1]];
}

/** The sizes of attention(q, k, …, heads, …, options): q [B, Tq, D = heads·hd], k [B, Tk, kvHeads·hd]. */
export interface AttentionShape {
  B: number;
  Tq: number;
  Tk: number;
  D: number;
  hd: number;
  kvHeads: number;
  /** causal: the position of query 0; −1 when not causal */
  offset: number;
}

export function attentionShape(q: Tensor, k: Tensor, heads: number, options: AttentionOptions = {}): AttentionShape {
  const [B, Tq, D] = q.shape;
  const Tk = k.shape[1];
  const offset = options.causal ? (options.offset ?? Tk - Tq) : -1;
  return { B, Tq, Tk, D, hd: D / heads, kvHeads: options.kvHeads ?? heads, offset };
}
