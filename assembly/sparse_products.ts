// Products with a sparsified update (most entries zero) and its gradient sampled at the kept entries.
// x [R, K] and dy [R, m] are row-major; both kernels read them as 32-row panels, transposed:
//   packPanels:    P[p][j][l] = X[32·p + l, j]   (p < ⌈R/32⌉, rows ≥ R are zero), 128 bytes per (p, j)
//
// Sparse product (matmul with the sparseB hint): out [R, N] = X·S (or +=), S = op(b) [K, N]:
//   countNonzeros: #{S ≠ 0};  sparseColumns: column c of S as its nonzeros (j, S[j, c]) in rising j
//     (offsets [N + 1] u32, entries: (u32 j, f32 value) pairs)
//   sparseProduct: out[32p + l, c] = Σ over column c's entries of P[p][j][l]·S[j, c]
//   eight f32x4 accumulators hold one panel's 32 rows of one column, so each entry costs one splat and
//   eight multiply-adds; the work is O(R·nnz) instead of O(R·K·N). Threads take disjoint panels.
//
// Sampled gradient (keptGradient): dW[i, o] = [|W| > t]·|W|·Σ_r x[r, i]·dy[r, o], 0 elsewhere
//   keptRows: row i of W as the o with |W[i, o]| > t, rising (offsets [n + 1] u32, indices u32)
//   keptGradient: over groups of GROUP panels (their dy panels stay in cache while every row i of the
//   call's range uses them), each kept (i, o) accumulates the group's partial dot product into dW; the
//   last group multiplies by |W|. Four kept o of one row share each load of x. Threads take disjoint rows.
// In both, every output element is summed in an order fixed by the data alone (panel by panel, lanes
// in a fixed tree), never by the split into threads. A NaN in S is nonzero and kept; a NaN |W| or
// threshold compares false and is not kept. Skipping S's zeros means an infinite x against a zero of
// S adds nothing (the dense product would give NaN there).

import { hsum } from './memory';

const PANEL = 32;
const PANEL_SHIFT = 7; // bytes of one (panel, j) row: 32 floats
const GROUP = 2;

/** Bytes of the panels of an [R, K] matrix. */
export function panelBytes(R: i32, K: i32): usize {
  return (<usize>((R + PANEL - 1) / PANEL) * <usize>K) << PANEL_SHIFT;
}

/** Panels p0 … p0 + count − 1 of x [R, K] into dst (see the header). */
export function packPanels(x: usize, R: i32, K: i32, dst: usize, p0: i32, count: i32): void {
  const rowBytes = <usize>K << 2;
  for (let p = p0; p < p0 + count; p++) {
    const base = dst + ((<usize>p * <usize>K) << PANEL_SHIFT);
    const r0 = p * PANEL;
    const rows = min(PANEL, R - r0);
    for (let l = rows; l < PANEL; l++) {
      for (let j = 0; j < K; j++) store<f32>(base + (<usize>j << PANEL_SHIFT) + (<usize>l << 2), 0);
    }
    for (let l = 0; l < rows; l++) {
      const src = x + <usize>(r0 + l) * rowBytes;
      const d = base + (<usize>l << 2);
      for (let j = 0; j < K; j++) store<f32>(d + (<usize>j << PANEL_SHIFT), load<f32>(src + (<usize>j << 2)));
    }
  }
}

/** Number of nonzero elements (NaN counts) among s[0 … size). */
export function countNonzeros(s: usize, size: i32): u32 {
  const zero = f32x4.splat(0);
  let count: u32 = 0;
  let q = 0;
  for (; q + 4 <= size; q += 4) {
    count += popcnt<u32>(<u32>i32x4.bitmask(f32x4.ne(v128.load(s + (<usize>q << 2)), zero)));
  }
  for (; q < size; q++) if (load<f32>(s + (<usize>q << 2)) != 0) count++;
  return count;
}

/**
 * The nonzeros of each column c of S = op(b) [K, N] (b stored [K, N], or [N, K] with transB), in rising j.
 * cursor: N u32 of scratch (transB = false only).
 */
export function sparseColumns(b: usize, K: i32, N: i32, transB: bool, offsets: usize, entries: usize, cursor: usize): void {
  if (transB) {
    let e: u32 = 0;
    for (let c = 0; c < N; c++) {
      store<u32>(offsets + (<usize>c << 2), e);
      const row = b + ((<usize>c * <usize>K) << 2);
      for (let j = 0; j < K; j++) {
        const v = load<f32>(row + (<usize>j << 2));
        if (v != 0) {
          store<u32>(entries + (<usize>e << 3), j);
          store<f32>(entries + (<usize>e << 3), v, 4);
          e++;
        }
      }
    }
    store<u32>(offsets + (<usize>N << 2), e);
    return;
  }
  memory.fill(cursor, 0, <usize>N << 2);
  for (let j = 0; j < K; j++) {
    const row = b + ((<usize>j * <usize>N) << 2);
    for (let c = 0; c < N; c++) {
      if (load<f32>(row + (<usize>c << 2)) != 0) {
        const at = cursor + (<usize>c << 2);
        store<u32>(at, load<u32>(at) + 1);
      }
    }
  }
  let e: u32 = 0;
  for (let c = 0; c < N; c++) {
    const at = cursor + (<usize>c << 2);
    const n = load<u32>(at);
    store<u32>(offsets + (<usize>c << 2), e);
    store<u32>(at, e);
    e += n;
  }
  store<u32>(offsets + (<usize>N << 2), e);
  for (let j = 0; j < K; j++) {
    const row = b + ((<usize>j * <usize>N) << 2);
    for (let c = 0; c < N; c++) {
      const v = load<f32>(row + (<usize>c << 2));
      if (v != 0) {
        const at = cursor + (<usize>c << 2);
        const k = load<u32>(at);
        store<u32>(entries + (<usize>k << 3), j);
        store<f32>(entries + (<usize>k << 3), v, 4);
        store<u32>(at, k + 1);
      }
    }
  }
}

/** Writes (or adds) the `rows` (≤ 4) lanes of v down one column of out, `stride` bytes apart. */
// @ts-ignore: decorator
@inline function putColumn4(at: usize, stride: usize, v: v128, rows: i32, add: bool): void {
  for (let l = 0; l < min(rows, 4); l++) {
    const p = at + <usize>l * stride;
    let x: f32 = 0;
    if (l == 0) x = f32x4.extract_lane(v, 0);
    else if (l == 1) x = f32x4.extract_lane(v, 1);
    else if (l == 2) x = f32x4.extract_lane(v, 2);
    else x = f32x4.extract_lane(v, 3);
    store<f32>(p, add ? load<f32>(p) + x : x);
  }
}

/** out[32p + l, c] (+)= Σ_e P[p][j_e][l]·v_e over column c's entries, for panels p0 … p0 + count − 1. */
export function sparseProduct(
  panels: usize, R: i32, K: i32, N: i32, offsets: usize, entries: usize, out: usize, accumulate: bool, p0: i32, count: i32,
): void {
  const stride = <usize>N << 2;
  for (let p = p0; p < p0 + count; p++) {
    const base = panels + ((<usize>p * <usize>K) << PANEL_SHIFT);
    const r0 = p * PANEL;
    const rows = min(PANEL, R - r0);
    const outRow = out + <usize>r0 * stride;
    for (let c = 0; c < N; c++) {
      let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
      const end = load<u32>(offsets + (<usize>(c + 1) << 2));
      for (let e = load<u32>(offsets + (<usize>c << 2)); e < end; e++) {
        const at = entries + (<usize>e << 3);
        const src = base + (<usize>load<u32>(at) << PANEL_SHIFT);
        const v = f32x4.splat(load<f32>(at, 4));
        a0 = f32x4.add(a0, f32x4.mul(v, v128.load(src)));
        a1 = f32x4.add(a1, f32x4.mul(v, v128.load(src, 16)));
        a2 = f32x4.add(a2, f32x4.mul(v, v128.load(src, 32)));
        a3 = f32x4.add(a3, f32x4.mul(v, v128.load(src, 48)));
        a4 = f32x4.add(a4, f32x4.mul(v, v128.load(src, 64)));
        a5 = f32x4.add(a5, f32x4.mul(v, v128.load(src, 80)));
        a6 = f32x4.add(a6, f32x4.mul(v, v128.load(src, 96)));
        a7 = f32x4.add(a7, f32x4.mul(v, v128.load(src, 112)));
      }
      const col = outRow + (<usize>c << 2);
      const s4 = stride << 2;
      putColumn4(col, stride, a0, rows, accumulate);
      putColumn4(col + s4, stride, a1, rows - 4, accumulate);
      putColumn4(col + 2 * s4, stride, a2, rows - 8, accumulate);
      putColumn4(col + 3 * s4, stride, a3, rows - 12, accumulate);
      putColumn4(col + 4 * s4, stride, a4, rows - 16, accumulate);
      putColumn4(col + 5 * s4, stride, a5, rows - 20, accumulate);
      putColumn4(col + 6 * s4, stride, a6, rows - 24, accumulate);
      putColumn4(col + 7 * s4, stride, a7, rows - 28, accumulate);
    }
  }
}

/** Number of |W| > t among W's `size` elements (t at tPtr). */
export function countKept(w: usize, size: i32, tPtr: usize): u32 {
  const t = load<f32>(tPtr);
  const tv = f32x4.splat(t);
  let count: u32 = 0;
  let q = 0;
  for (; q + 4 <= size; q += 4) {
    count += popcnt<u32>(<u32>i32x4.bitmask(f32x4.gt(f32x4.abs(v128.load(w + (<usize>q << 2))), tv)));
  }
  for (; q < size; q++) if (Mathf.abs(load<f32>(w + (<usize>q << 2))) > t) count++;
  return count;
}

/** Row i of W [n, m] as its kept columns o (|W[i, o]| > t), rising: offsets [n + 1], indices. */
export function keptRows(w: usize, n: i32, m: i32, tPtr: usize, offsets: usize, indices: usize): void {
  const t = load<f32>(tPtr);
  let e: u32 = 0;
  for (let i = 0; i < n; i++) {
    store<u32>(offsets + (<usize>i << 2), e);
    const row = w + ((<usize>i * <usize>m) << 2);
    for (let o = 0; o < m; o++) {
      if (Mathf.abs(load<f32>(row + (<usize>o << 2))) > t) {
        store<u32>(indices + (<usize>e << 2), o);
        e++;
      }
    }
  }
  store<u32>(offsets + (<usize>n << 2), e);
}

/** One x panel row times one dy panel row (32 lanes): the even quarter-rows added into `even`, */
// @ts-ignore: decorator
@inline function dotEven(x: usize, d: usize, even: v128): v128 {
  return f32x4.add(even, f32x4.add(
    f32x4.add(f32x4.mul(v128.load(x), v128.load(d)), f32x4.mul(v128.load(x, 32), v128.load(d, 32))),
    f32x4.add(f32x4.mul(v128.load(x, 64), v128.load(d, 64)), f32x4.mul(v128.load(x, 96), v128.load(d, 96))),
  ));
}

/** … and the odd ones into `odd` (two accumulators halve the dependency chain). */
// @ts-ignore: decorator
@inline function dotOdd(x: usize, d: usize, odd: v128): v128 {
  return f32x4.add(odd, f32x4.add(
    f32x4.add(f32x4.mul(v128.load(x, 16), v128.load(d, 16)), f32x4.mul(v128.load(x, 48), v128.load(d, 48))),
    f32x4.add(f32x4.mul(v128.load(x, 80), v128.load(d, 80)), f32x4.mul(v128.load(x, 112), v128.load(d, 112))),
  ));
}

/** Adds the group's partial sum into dW[i, o]; the last group multiplies by |W[i, o]|. */
// @ts-ignore: decorator
@inline function finish(dw: usize, w: usize, at: usize, even: v128, odd: v128, first: bool, last: bool): void {
  let g = hsum(f32x4.add(even, odd));
  if (!first) g = load<f32>(dw + at) + g;
  if (last) g *= Mathf.abs(load<f32>(w + at));
  store<f32>(dw + at, g);
}

/**
 * dW rows i0 … i0 + rows − 1 from the x panels xp [np][n][32] and dy panels dp [np][m][32] and the kept
 * lists of keptRows; rows of dW outside the kept columns are written 0.
 */
export function keptGradient(
  xp: usize, dp: usize, np: i32, n: i32, m: i32, offsets: usize, indices: usize, w: usize, dw: usize, i0: i32, rows: i32,
): void {
  const rowBytes = <usize>m << 2;
  memory.fill(dw + <usize>i0 * rowBytes, 0, <usize>rows * rowBytes);
  const xStride = <usize>n << PANEL_SHIFT;
  const dStride = <usize>m << PANEL_SHIFT;
  for (let g = 0; g < np; g += GROUP) {
    const gEnd = min(np, g + GROUP);
    const first = g == 0;
    const last = gEnd == np;
    for (let i = i0; i < i0 + rows; i++) {
      const x0 = xp + <usize>g * xStride + (<usize>i << PANEL_SHIFT);
      const rowAt = <usize>i * rowBytes;
      const end = load<u32>(offsets + (<usize>(i + 1) << 2));
      let e = load<u32>(offsets + (<usize>i << 2));
      for (; e + 4 <= end; e += 4) {
        const o0 = load<u32>(indices + (<usize>e << 2));
        const o1 = load<u32>(indices + (<usize>e << 2), 4);
        const o2 = load<u32>(indices + (<usize>e << 2), 8);
        const o3 = load<u32>(indices + (<usize>e << 2), 12);
        const d0 = dp + <usize>g * dStride + (<usize>o0 << PANEL_SHIFT);
        const d1 = dp + <usize>g * dStride + (<usize>o1 << PANEL_SHIFT);
        const d2 = dp + <usize>g * dStride + (<usize>o2 << PANEL_SHIFT);
        const d3 = dp + <usize>g * dStride + (<usize>o3 << PANEL_SHIFT);
        let e0 = f32x4.splat(0), f0 = e0, e1 = e0, f1 = e0, e2 = e0, f2 = e0, e3 = e0, f3 = e0;
        for (let p = 0; p < gEnd - g; p++) {
          const x = x0 + <usize>p * xStride;
          const off = <usize>p * dStride;
          e0 = dotEven(x, d0 + off, e0);
          f0 = dotOdd(x, d0 + off, f0);
          e1 = dotEven(x, d1 + off, e1);
          f1 = dotOdd(x, d1 + off, f1);
          e2 = dotEven(x, d2 + off, e2);
          f2 = dotOdd(x, d2 + off, f2);
          e3 = dotEven(x, d3 + off, e3);
          f3 = dotOdd(x, d3 + off, f3);
        }
        finish(dw, w, rowAt + (<usize>o0 << 2), e0, f0, first, last);
        finish(dw, w, rowAt + (<usize>o1 << 2), e1, f1, first, last);
        finish(dw, w, rowAt + (<usize>o2 << 2), e2, f2, first, last);
        finish(dw, w, rowAt + (<usize>o3 << 2), e3, f3, first, last);
      }
      for (; e < end; e++) {
        const o = load<u32>(indices + (<usize>e << 2));
        const d = dp + <usize>g * dStride + (<usize>o << PANEL_SHIFT);
        let ev = f32x4.splat(0), fv = ev;
        for (let p = 0; p < gEnd - g; p++) {
          const x = x0 + <usize>p * xStride;
          const off = <usize>p * dStride;
          ev = dotEven(x, d + off, ev);
          fv = dotOdd(x, d + off, fv);
        }
        finish(dw, w, rowAt + (<usize>o << 2), ev, fv, first, last);
      }
    }
  }
}
