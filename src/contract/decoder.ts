// Rules for the decoder primitives (R rows, D features; x [B, T, C] in nh heads of width hd = C/nh;
// P positions in the RoPE tables), every tensor f32:
//   rmsNorm            x rows [..., D] with D ≥ 1 (R = x.size/D rows), w D elements, eps a finite
//                      number ≥ 0; out R·D, rstd R elements
//   rmsNormBackward    dy R·D, x, w, rstd as above; dx R·D; dw D elements (or null)
//   rope, ropeBackward x (dy) [B, T, C] with T ≥ 1; heads a positive integer dividing C into heads of
//                      even width hd ≥ 2; cos [P, hd/2], sin of cos's shape; offset an integer ≥ 0 with
//                      offset + T ≤ P; out (dx) [B, T, C], which may be x (dy) itself: each pair of
//                      columns is read before it is written, so the rotation runs in place (it cannot
//                      be cos or sin, whose shape differs)
//   siluMul            gate any shape, up and out of its size
//   siluMulBackward    gate any shape, dy, up, dGate, dUp of its size
//   geluTanh           x any shape, out of its size; geluTanhBackward: dy and dx of x's size
//   sliceColumns       x rows [..., C] (R = x.size/C rows); out rows [..., W] with W ≥ 1 and R rows;
//                      start an integer ≥ 0 with start + W ≤ C
//   addColumns         dx rows [..., C], d rows [..., W] as sliceColumns' x and out (dx is read and written)
// Outputs are distinct tensors, none of them an input, except rope's out and ropeBackward's dx as stated.

import type { Tensor } from '../backend.js';
import type { Check } from './checks.js';

export function rmsNorm(c: Check, x: Tensor, w: Tensor, eps: number, out: Tensor, rstd: Tensor): void {
  const [R, D] = c.rows('x', x);
  c.size('w', w, D);
  c.size('out', out, R * D);
  c.size('rstd', rstd, R);
  c.atLeast('eps', eps, 0);
  c.distinct({ out, rstd }, { x, w });
}

export function rmsNormBackward(c: Check, dy: Tensor, x: Tensor, w: Tensor, rstd: Tensor, dx: Tensor, dw: Tensor | null): void {
  const [R, D] = c.rows('x', x);
  c.size('dy', dy, R * D);
  c.size('w', w, D);
  c.size('rstd', rstd, R);
  c.size('dx', dx, R * D);
  if (dw) c.size('dw', dw, D);
  c.distinct({ dx, dw }, { dy, x, w, rstd });
}

/** rope and ropeBackward: `input` is x or dy, `output` out or dx (which may be the input). */
export function rope(
  c: Check,
  names: readonly [string, string],
  input: Tensor,
  cos: Tensor,
  sin: Tensor,
  heads: number,
  offset: number,
  output: Tensor,
): void {
  const [inName, outName] = names;
  const [B, T, C] = c.tokens(inName, input);
  c.satisfies(
    'heads',
    heads,
    Number.isInteger(heads) && heads >= 1 && C % heads === 0 && C >= heads,
    `a positive integer dividing the feature dimension C = ${C} (heads of width C/heads ≥ 1)`,
  );
  const hd = C / heads;
  if (hd % 2 !== 0)
    c.fail(`heads = ${heads} gives heads of odd width ${hd}: RoPE rotates column pairs (c, c + hd/2), so hd must be even`);
  const half = hd / 2;
  const [P, width] = c.dims('cos', cos, 'P, hd/2');
  if (width !== half) c.fail(`cos is f32[${cos.shape.join(', ')}], expected f32[P, ${half}] (half the head width ${hd})`);
  c.shape('sin', sin, cos.shape);
  c.satisfies('offset', offset, Number.isInteger(offset) && offset >= 0, 'an integer ≥ 0 (the position of the first token)');
  if (offset + T > P) {
    c.fail(
      `positions ${offset} … ${offset + T - 1} reach past the ${P} rows of cos and sin: build the tables for at least ${offset + T} positions`,
    );
  }
  c.shape(outName, output, [B, T, C]); // [B, T, C] is never the 2-D cos or sin: only the input can alias it
}

export function siluMul(c: Check, gate: Tensor, up: Tensor, out: Tensor): void {
  c.dtype('gate', gate);
  c.size('up', up, gate.size);
  c.size('out', out, gate.size);
  c.distinct({ out }, { gate, up });
}

export function siluMulBackward(c: Check, dy: Tensor, gate: Tensor, up: Tensor, dGate: Tensor, dUp: Tensor): void {
  c.dtype('gate', gate);
  c.size('dy', dy, gate.size);
  c.size('up', up, gate.size);
  c.size('dGate', dGate, gate.size);
  c.size('dUp', dUp, gate.size);
  c.distinct({ dGate, dUp }, { dy, gate, up });
}

export function geluTanh(c: Check, x: Tensor, out: Tensor): void {
  c.dtype('x', x);
  c.size('out', out, x.size);
  c.distinct({ out }, { x });
}

export function geluTanhBackward(c: Check, dy: Tensor, x: Tensor, dx: Tensor): void {
  c.dtype('x', x);
  c.size('dy', dy, x.size);
  c.size('dx', dx, x.size);
  c.distinct({ dx }, { dy, x });
}

export function sliceColumns(c: Check, x: Tensor, start: number, out: Tensor): void {
  columnBlock(c, 'x', x, 'out', out, start);
  c.distinct({ out }, { x });
}

export function addColumns(c: Check, dx: Tensor, start: number, d: Tensor): void {
  columnBlock(c, 'dx', dx, 'd', d, start);
  c.distinct({ dx }, { d });
}

/** A block of W columns at `start` of a matrix of C columns, with the same rows. */
function columnBlock(c: Check, wideName: string, wide: Tensor, blockName: string, block: Tensor, start: number): void {
  const [R, C] = c.rows(wideName, wide);
  const [rows, W] = c.rows(blockName, block);
  if (rows !== R) c.fail(`${blockName} has ${rows} rows and ${wideName} ${R}: the column block keeps the rows`);
  c.satisfies('start', start, Number.isInteger(start) && start >= 0 && start + W <= C, `an integer ≥ 0 with start + ${W} ≤ ${C}`);
}
