// Rules for the token lookups of decoder models (N tokens, V vocabulary rows of D features, B sequences of T tokens):
//   embed              ids u32, N elements in any shape; table f32 [V, D] with D ≥ 1; out N·D elements
//   embedBackward      dOut N·D elements, ids u32 N elements; dTable [V, D] with D ≥ 1 (accumulated)
//   gatherRows         x [B, T, D] with T ≥ 1, index u32 B elements; out [B, D]
//   gatherRowsBackward dOut [B, D], index u32 B elements; dx [B, T, D] with T ≥ 1
// Id and index values are not checked (that would read them back from the device): the primitives
// define what an out-of-range one gives (src/backend.ts). Outputs are distinct tensors, none of them
// an input.

import type { Tensor } from '../backend.js';
import type { Check } from './checks.js';

export function embed(c: Check, ids: Tensor, table: Tensor, out: Tensor): void {
  c.dtype('ids', ids, 'u32');
  const [, D] = vocabulary(c, 'table', table);
  c.size('out', out, ids.size * D);
  c.distinct({ out }, { ids, table });
}

export function embedBackward(c: Check, dOut: Tensor, ids: Tensor, dTable: Tensor): void {
  c.dtype('ids', ids, 'u32');
  const [, D] = vocabulary(c, 'dTable', dTable);
  c.size('dOut', dOut, ids.size * D);
  c.distinct({ dTable }, { dOut, ids });
}

export function gatherRows(c: Check, x: Tensor, index: Tensor, out: Tensor): void {
  const [B, , D] = c.tokens('x', x);
  c.size('index', index, B, 'u32');
  c.shape('out', out, [B, D]);
  c.distinct({ out }, { x, index });
}

export function gatherRowsBackward(c: Check, dOut: Tensor, index: Tensor, dx: Tensor): void {
  const [B, , D] = c.tokens('dx', dx);
  c.shape('dOut', dOut, [B, D]);
  c.size('index', index, B, 'u32');
  c.distinct({ dx }, { dOut, index });
}

/** [V, D] of an f32 embedding table with D ≥ 1 features per row. */
function vocabulary(c: Check, name: string, t: Tensor): [number, number] {
  const [V, D] = c.dims(name, t, 'V, D');
  if (D < 1) c.fail(`${name} is f32[${V}, ${D}]: each vocabulary row needs at least one feature (D ≥ 1)`);
  return [V, D];
}
