// Elementwise kernels of the transformer primitives over flat f32 arrays (n elements):
//   add: out = a + b;  addInto: out += a;  addBias: out[r,:] += bias (out [R, N], bias [N]);  copy;
//   zero: out = 0
//   gelu: out = x·Φ(x);  geluBackward: dx = dy·(Φ(x) + x·φ(x))   (exact erf, see erf.ts)
// f32x4 over four elements at a time with a scalar tail for the sums. GELU runs per element in f64
// (Φ through erfc, so the negative tail keeps its relative accuracy) and rounds once on store.

import { phi, pdf } from './erf';

/** out[0..n) = a + b (also used row-wise by the token kernels). */
export function add(a: usize, b: usize, out: usize, n: i32): void {
  let q = 0;
  for (; q + 4 <= n; q += 4) {
    const o = <usize>q << 2;
    v128.store(out + o, f32x4.add(v128.load(a + o), v128.load(b + o)));
  }
  for (; q < n; q++) {
    const o = <usize>q << 2;
    store<f32>(out + o, load<f32>(a + o) + load<f32>(b + o));
  }
}

export function addInto(out: usize, a: usize, n: i32): void {
  add(out, a, out, n);
}

export function addBias(out: usize, bias: usize, R: i32, N: i32): void {
  for (let r = 0; r < R; r++) {
    const row = out + (<usize>r * <usize>N << 2);
    add(row, bias, row, N);
  }
}

export function copy(src: usize, out: usize, n: i32): void {
  memory.copy(out, src, <usize>n << 2);
}

/** out[0..n) = 0. */
export function zero(out: usize, n: i32): void {
  memory.fill(out, 0, <usize>n << 2);
}

export function gelu(x: usize, out: usize, n: i32): void {
  for (let q = 0; q < n; q++) {
    const o = <usize>q << 2;
    const v = <f64>load<f32>(x + o);
    store<f32>(out + o, <f32>(v * phi(v)));
  }
}

export function geluBackward(dy: usize, x: usize, dx: usize, n: i32): void {
  for (let q = 0; q < n; q++) {
    const o = <usize>q << 2;
    const v = <f64>load<f32>(x + o);
    store<f32>(dx + o, <f32>(<f64>load<f32>(dy + o) * (phi(v) + v * pdf(v))));
  }
}
