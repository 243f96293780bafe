// Rules for creating, filling, reading and freeing tensors:
//   shape   an array of non-negative integers (an empty array is a 1-element scalar);
//   dtype   'f32' or 'u32'; upload's default is the data's own type (Uint32Array: u32, else f32),
//           zeros' default is f32;
//   data    a Float32Array for an f32 tensor, a Uint32Array for a u32 tensor, one value per element;
//   read, write and free take a live tensor of this backend: freeing one twice is an error.
// How many elements one tensor may hold is the device's limit (Backend.maxElements), checked there.

import type { DType, Tensor } from '../backend.js';
import type { Check } from './checks.js';
import { describe, sizeOf } from './shapes.js';

const DTYPES: readonly DType[] = ['f32', 'u32'];

/** The dtype the new tensor gets. */
export function upload(c: Check, data: Float32Array | Uint32Array, shape: readonly number[], dtype: DType | undefined): DType {
  if (!(data instanceof Float32Array || data instanceof Uint32Array)) {
    c.fail(`data must be a Float32Array or a Uint32Array, got ${typeName(data)}`);
  }
  const type = dtype ?? (data instanceof Uint32Array ? 'u32' : 'f32');
  validShape(c, shape);
  knownDtype(c, type);
  matchingData(c, data, type);
  const size = sizeOf(shape);
  if (data.length !== size)
    c.fail(`${data.length} values do not fill shape [${shape.join(', ')}] (${size} elements): pass exactly ${size}`);
  return type;
}

export function zeros(c: Check, shape: readonly number[], dtype: DType): void {
  validShape(c, shape);
  knownDtype(c, dtype);
}

export function write(c: Check, t: Tensor, data: Float32Array | Uint32Array): void {
  c.live('the tensor', t);
  matchingData(c, data, t.dtype);
  if (data.length !== t.size) c.fail(`${data.length} values for ${describe(t)} (${t.size} elements): pass exactly ${t.size}`);
}

export function read(c: Check, t: Tensor): void {
  c.live('the tensor', t);
}

export function free(c: Check, t: Tensor): void {
  c.live('the tensor', t);
}

function validShape(c: Check, shape: readonly number[]): void {
  if (!Array.isArray(shape)) c.fail(`shape must be an array of dimensions, got ${String(shape)}`);
  if (!shape.every((d) => Number.isInteger(d) && d >= 0)) c.fail(`shape [${shape.join(', ')}] must hold non-negative integers`);
}

function knownDtype(c: Check, dtype: DType): void {
  c.oneOf('dtype', dtype, DTYPES);
}

function matchingData(c: Check, data: Float32Array | Uint32Array, dtype: DType): void {
  const expected = dtype === 'u32' ? Uint32Array : Float32Array;
  if (!(data instanceof expected)) c.fail(`a ${dtype} tensor takes a ${expected.name}, got ${typeName(data)}`);
}

function typeName(data: unknown): string {
  return `a ${(data as object | null)?.constructor?.name ?? typeof data}`;
}
