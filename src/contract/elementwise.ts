// Rules for the elementwise and row primitives, every tensor f32 except copy's:
//   add, gelu          x (a) any shape, the other operands and out of its size
//   addTransposed      a [r, c], b [c, r], out [r, c]
//   addInto            out any shape, a of its size (out is read and written: it is not an input)
//   geluBackward       x any shape, dy and dx of its size
//   copy               out has src's size and src's dtype (f32 or u32)
//   addBias, sumRows   rows [..., N] with N ≥ 1 features (R = 0 rows is fine), bias / out N elements
// Empty tensors are fine (nothing is written, or sumRows writes zeros). Outputs are distinct
// tensors, none of them an input.

import type { Tensor } from '../backend.js';
import type { Check } from './checks.js';

export function add(c: Check, a: Tensor, b: Tensor, out: Tensor): void {
  c.dtype('a', a);
  c.size('b', b, a.size);
  c.size('out', out, a.size);
  c.distinct({ out }, { a, b });
}

export function addTransposed(c: Check, a: Tensor, b: Tensor, out: Tensor): void {
  const [r, cols] = c.dims('a', a, 'r, c');
  c.shape('b', b, [cols, r]);
  c.shape('out', out, [r, cols]);
  c.distinct({ out }, { a, b });
}

export function addInto(c: Check, out: Tensor, a: Tensor): void {
  c.dtype('out', out);
  c.size('a', a, out.size);
  c.distinct({ out }, { a });
}

export function addBias(c: Check, out: Tensor, bias: Tensor): void {
  const [, N] = c.rows('out', out);
  c.size('bias', bias, N);
  c.distinct({ out }, { bias });
}

export function sumRows(c: Check, x: Tensor, out: Tensor): void {
  const [, N] = c.rows('x', x);
  c.size('out', out, N);
  c.distinct({ out }, { x });
}

export function copy(c: Check, src: Tensor, out: Tensor): void {
  c.live('src', src);
  c.size('out', out, src.size, src.dtype);
  c.distinct({ out }, { src });
}

export function gelu(c: Check, x: Tensor, out: Tensor): void {
  c.dtype('x', x);
  c.size('out', out, x.size);
  c.distinct({ out }, { x });
}

export function geluBackward(c: Check, dy: Tensor, x: Tensor, dx: Tensor): void {
  c.dtype('x', x);
  c.size('dy', dy, x.size);
  c.size('dx', dx, x.size);
  c.distinct({ dx }, { dy, x });
}
