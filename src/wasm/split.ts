// How the wasm backend cuts one primitive into per-thread calls (see threads.ts). Every piece is a
// contiguous block of the output, so pieces never write the same bytes and each output element is
// computed by the same operations whatever the split.

/** Elements (or rows, batches…) of at least `grain` per piece: how many pieces to cut `n` into. */
export function pieces(n: number, grain: number, threads: number): number {
  return Math.max(1, Math.min(threads, Math.floor(n / grain)));
}

/**
 * `parts` contiguous [start, count) ranges covering [0, n), every start a multiple of `align`,
 * sizes as even as the alignment allows; fewer when n is too small (always at least one range).
 */
export function ranges(n: number, parts: number, align = 1): [number, number][] {
  const units = Math.ceil(n / align);
  const k = Math.max(1, Math.min(parts, units));
  const out: [number, number][] = [];
  for (let i = 0; i < k; i++) {
    const start = Math.min(n, Math.floor((units * i) / k) * align);
    const end = Math.min(n, Math.floor((units * (i + 1)) / k) * align);
    out.push([start, end - start]);
  }
  return out;
}

/**
 * Row groups of the merge backward (merge_backward.ts): each accumulates its share of dB apart and the
 * groups are summed in order, so the count is fixed, not the thread count; threads beyond it idle.
 */
export const MERGE_GROUPS = 8;

/** Multiply-adds each thread should at least get before a matmul is split (≈ 50 µs of work). */
const GEMM_GRAIN = 2 ** 21;

/**
 * Argument lists of the gemm export for out[M, N] = op(a)·op(b) (+ out), one per piece: the rows of
 * out when M ≥ N, else its columns (multiples of the micro-kernel's MR = 4 rows or NR = 8 columns).
 * `scratch` holds one block of `scratchStride` bytes per piece.
 */
export function gemmCalls(
  a: number,
  b: number,
  c: number,
  M: number,
  N: number,
  K: number,
  transA: boolean,
  transB: boolean,
  accumulate: boolean,
  scratch: number,
  scratchStride: number,
  threads: number,
): number[][] {
  const parts = pieces(M * N * Math.max(K, 1), GEMM_GRAIN, threads);
  const lda = transA ? M : K;
  const ldb = transB ? K : N;
  const flags = [transA ? 1 : 0, transB ? 1 : 0, accumulate ? 1 : 0];
  if (M >= N) {
    return ranges(M, parts, 4).map(([i, m], t) => [
      a + 4 * (transA ? i : i * K),
      lda,
      b,
      ldb,
      c + 4 * i * N,
      N,
      m,
      N,
      K,
      ...flags,
      scratch + t * scratchStride,
    ]);
  }
  return ranges(N, parts, 8).map(([j, n], t) => [
    a,
    lda,
    b + 4 * (transB ? j * K : j),
    ldb,
    c + 4 * j,
    N,
    M,
    n,
    K,
    ...flags,
    scratch + t * scratchStride,
  ]);
}
