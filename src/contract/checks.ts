// The vocabulary of the backend contract: a Check is bound to one call of one primitive (its op name)
// and throws a BackendError `<op>: <what is wrong and the fix>` at the first broken rule.
// Rules every tensor argument obeys, in this order:
//   - it was created by this backend and is not freed yet (`live`);
//   - it has the dtype the primitive asks for (f32 unless stated);
//   - it has the shape, or only the element count, the primitive asks for.
// Outputs share storage with no input and with no other output (`distinct`); null optional tensors
// are skipped. Scalar arguments are checked against a range stated in the message.

import { BackendError, type DType, type Tensor } from '../backend.js';
import { describe, matrixDims } from './shapes.js';

/** Where a tensor stands with a backend: one of its live tensors, one it freed, or not one of its own. */
export type TensorState = 'live' | 'freed' | 'foreign';

export class Check {
  constructor(
    readonly op: string,
    private readonly state: (t: Tensor) => TensorState,
  ) {}

  fail(what: string): never {
    throw new BackendError(`${this.op}: ${what}`);
  }

  /** A live tensor of this backend, of any dtype. */
  live(name: string, t: Tensor): Tensor {
    const state = this.state(t);
    if (state === 'foreign') this.fail(`${name} was not created by this backend: upload it here first`);
    if (state === 'freed') this.fail(`${name} (${describe(t)}) was already freed: free a tensor only after its last use`);
    return t;
  }

  /** A live tensor of `dtype`. */
  dtype(name: string, t: Tensor, dtype: DType = 'f32'): Tensor {
    this.live(name, t);
    if (t.dtype !== dtype) this.fail(`${name} is ${describe(t)}, expected ${dtype === 'f32' ? 'an' : 'a'} ${dtype} tensor`);
    return t;
  }

  /** `size` elements of `dtype`, in any shape. */
  size(name: string, t: Tensor, size: number, dtype: DType = 'f32'): void {
    this.dtype(name, t, dtype);
    if (t.size !== size) this.fail(`${name} is ${describe(t)}, expected ${size} ${dtype} element${size === 1 ? '' : 's'}`);
  }

  /** A 1-element tensor (the scalars: thresholds, counts, SNELLA's α, γ, β). */
  scalar(name: string, t: Tensor, dtype: DType = 'f32'): void {
    this.size(name, t, 1, dtype);
  }

  /** Exactly `shape`. */
  shape(name: string, t: Tensor, shape: readonly number[], dtype: DType = 'f32'): void {
    this.dtype(name, t, dtype);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      this.fail(`${name} is ${describe(t)}, expected ${dtype}[${shape.join(', ')}]`);
    }
  }

  /** As many dimensions as `labels` names (e.g. 'H, n, k'); returns them. */
  dims(name: string, t: Tensor, labels: string, dtype: DType = 'f32'): number[] {
    this.dtype(name, t, dtype);
    if (t.shape.length !== labels.split(',').length) this.fail(`${name} is ${describe(t)}, expected ${dtype}[${labels}]`);
    return [...t.shape];
  }

  /** [rows, columns] of an f32 matrix: 2 or more dimensions, the leading ones counted as rows. */
  matrix(name: string, t: Tensor): [number, number] {
    this.dtype(name, t);
    if (t.shape.length < 2)
      this.fail(`${name} is ${describe(t)}, expected an f32 matrix (2 or more dimensions, the leading ones are rows)`);
    return matrixDims(t);
  }

  /** [rows, N] of f32 rows [..., N] with N ≥ 1 features (no rows at all is fine). */
  rows(name: string, t: Tensor): [number, number] {
    this.dtype(name, t);
    if (t.shape.length < 1 || t.shape[t.shape.length - 1] < 1) {
      this.fail(`${name} is ${describe(t)}, expected f32 rows [..., N] with N ≥ 1 features`);
    }
    return matrixDims(t);
  }

  /** [B, T, D] of f32 tokens with at least one token per sample. */
  tokens(name: string, t: Tensor): [number, number, number] {
    const [B, T, D] = this.dims(name, t, 'B, T, D');
    if (T < 1) this.fail(`${name} is ${describe(t)}: it needs at least one token (T ≥ 1)`);
    return [B, T, D];
  }

  /** Each output is a tensor of its own: it is none of the inputs and no other output. */
  distinct(outputs: Record<string, Tensor | null>, inputs: Record<string, Tensor | null>): void {
    const all = [...Object.entries(outputs), ...Object.entries(inputs)].filter(([, t]) => t !== null);
    Object.keys(outputs).forEach((name) => {
      const t = outputs[name];
      const other = t && all.find(([o, u]) => o !== name && u === t);
      if (other) this.fail(`${name} and ${other[0]} are the same tensor: pass a separate tensor for the output ${name}`);
    });
  }

  /** A scalar argument that must satisfy `ok`, described by `rule` (e.g. 'a finite number ≥ 0'). */
  satisfies(name: string, value: unknown, ok: boolean, rule: string): void {
    if (!ok) this.fail(`${name} must be ${rule}, got ${String(value)}`);
  }

  /** A finite number ≥ min. */
  atLeast(name: string, v: number, min: number): void {
    this.satisfies(name, v, Number.isFinite(v) && v >= min, `a finite number ≥ ${min}`);
  }

  /** A number in [lo, hi] (or [lo, hi) when `open`). */
  within(name: string, v: number, lo: number, hi: number, open = false): void {
    this.satisfies(name, v, v >= lo && (open ? v < hi : v <= hi), `a number in [${lo}, ${hi}${open ? ')' : ']'}`);
  }

  /** One of the named options. */
  oneOf<T extends string>(name: string, v: T, options: readonly T[]): void {
    if (!options.includes(v)) this.fail(`unknown ${name} "${String(v)}": use ${options.map((o) => `'${o}'`).join(' or ')}`);
  }
}
