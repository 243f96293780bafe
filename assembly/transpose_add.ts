// out = a + bᵀ: out[i, j] = a[i, j] + b[j, i] for a, out [r, c] and b [c, r], row-major f32 (a frozen
// weight W0 [out, in] plus a branch's update Ws [in, out], folded into one matrix). Tiles of 32×32
// keep the strided reads of b within 32 cache lines; the host splits the rows of out between threads.

const TILE = 32;

/** Rows i0 … i0 + rows − 1 of out. */
export function addTransposed(a: usize, b: usize, out: usize, r: i32, c: i32, i0: i32, rows: i32): void {
  const end = i0 + rows;
  for (let it = i0; it < end; it += TILE) {
    const iEnd = min(end, it + TILE);
    for (let jt = 0; jt < c; jt += TILE) {
      const jEnd = min(c, jt + TILE);
      for (let i = it; i < iEnd; i++) {
        const row = <usize>i * <usize>c;
        for (let j = jt; j < jEnd; j++) {
          const q = (row + <usize>j) << 2;
          store<f32>(out + q, load<f32>(a + q) + load<f32>(b + ((<usize>j * <usize>r + <usize>i) << 2)));
        }
      }
    }
  }
}
