// out = op(a)·op(b) (or out += …), op(a) [M, K], op(b) [K, N], row-major f32, f32 accumulation.
// transA: a is stored [K, M]; transB: b is stored [N, K].
//
// GotoBLAS/BLIS structure, f32x4 SIMD, one thread per call (the host splits C into row or column
// blocks, one gemm call per thread, each with its own scratch; every element of C sees the same
// operations in the same order whatever the split, so results do not depend on the thread count):
//   for jc (NC columns) · for pc (KC depth): pack op(b)[pc:, jc:] into NR-wide panels [p][NR]
//     for ic (MC rows): pack op(a)[ic:, pc:] into MR-tall panels [p][MR]
//       for each (NR panel, MR panel): MR×NR micro-kernel, kc rank-1 updates in registers
// The micro-kernel keeps the MR×NR block of C in MR·NR/4 v128 accumulators (one broadcast load of
// a, two vector loads of b, MR·2 multiply-adds per step: fused in the relaxed-SIMD build, fma.ts;
// 4×8 is the largest tile V8 keeps in x64's registers, 6×8 spills). Panels are zero-padded, so edge tiles run the
// same kernel into a small tile (at the end of scratch) and copy out only the valid part. The
// transposes cost only in the packing (O(MK + KN) against O(MNK) work). Scratch:
// matmulScratchBytes() per thread.
// gemm() takes explicit leading dimensions (elements between rows of a, b and c as stored), so
// strided sub-matrices (one attention head inside [T, D], one thread's rows or columns) need no
// gather.

import { madd } from './fma';

const MR = 4;
const NR = 8;
const KC = 256;
const MC = 128;
const NC = 2048;

/** Packed a [MC×KC], packed b [KC×NC], then the MR×NR edge tile. */
export function matmulScratchBytes(): usize {
  return <usize>(MC * KC + KC * NC + MR * NR) << 2;
}

/** out = op(a)·op(b) (+ out) with leading dimensions lda, ldb, ldc (in elements) of a, b and c as stored. */
export function gemm(
  a: usize, lda: i32, b: usize, ldb: i32, c: usize, ldcElems: i32, M: i32, N: i32, K: i32,
  transA: bool, transB: bool, accumulate: bool, scratch: usize,
): void {
  const ldc = <usize>ldcElems << 2;
  if (K == 0) {
    if (!accumulate) for (let i = 0; i < M; i++) memory.fill(c + <usize>i * ldc, 0, <usize>N << 2);
    return;
  }
  const pa = scratch;
  const pb = scratch + (<usize>(MC * KC) << 2);
  const tile = pb + (<usize>(KC * NC) << 2);
  for (let jc = 0; jc < N; jc += NC) {
    const nc = min(NC, N - jc);
    for (let pc = 0; pc < K; pc += KC) {
      const kc = min(KC, K - pc);
      packB(b, ldb, transB, pc, kc, jc, nc, pb);
      const add = accumulate || pc > 0;
      for (let ic = 0; ic < M; ic += MC) {
        const mc = min(MC, M - ic);
        packA(a, lda, transA, ic, mc, pc, kc, pa);
        for (let jr = 0; jr < nc; jr += NR) {
          const nr = min(NR, nc - jr);
          const bp = pb + (<usize>(jr * kc) << 2);
          for (let ir = 0; ir < mc; ir += MR) {
            const mr = min(MR, mc - ir);
            const ap = pa + (<usize>(ir * kc) << 2);
            const cp = c + <usize>(ic + ir) * ldc + (<usize>(jc + jr) << 2);
            if (mr == MR && nr == NR) {
              kernel(ap, bp, kc, cp, ldc, add);
            } else {
              kernel(ap, bp, kc, tile, NR << 2, false);
              copyTile(tile, cp, ldc, mr, nr, add);
            }
          }
        }
      }
    }
  }
}

/** C[MR×NR] (=|+=) Σ_p ap[p][0..MR) ⊗ bp[p][0..NR). */
// @ts-ignore: decorator
@inline function kernel(ap: usize, bp: usize, kc: i32, cp: usize, ldc: usize, add: bool): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  for (let p = 0; p < kc; p++) {
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    let av = v128.load32_splat(ap);
    c00 = madd(av, b0, c00);
    c01 = madd(av, b1, c01);
    av = v128.load32_splat(ap, 4);
    c10 = madd(av, b0, c10);
    c11 = madd(av, b1, c11);
    av = v128.load32_splat(ap, 8);
    c20 = madd(av, b0, c20);
    c21 = madd(av, b1, c21);
    av = v128.load32_splat(ap, 12);
    c30 = madd(av, b0, c30);
    c31 = madd(av, b1, c31);
    ap += MR << 2;
    bp += NR << 2;
  }
  if (add) {
    c00 = f32x4.add(c00, v128.load(cp)); c01 = f32x4.add(c01, v128.load(cp, 16)); cp += ldc;
    c10 = f32x4.add(c10, v128.load(cp)); c11 = f32x4.add(c11, v128.load(cp, 16)); cp += ldc;
    c20 = f32x4.add(c20, v128.load(cp)); c21 = f32x4.add(c21, v128.load(cp, 16)); cp += ldc;
    c30 = f32x4.add(c30, v128.load(cp)); c31 = f32x4.add(c31, v128.load(cp, 16));
    cp -= 3 * ldc;
  }
  v128.store(cp, c00); v128.store(cp, c01, 16); cp += ldc;
  v128.store(cp, c10); v128.store(cp, c11, 16); cp += ldc;
  v128.store(cp, c20); v128.store(cp, c21, 16); cp += ldc;
  v128.store(cp, c30); v128.store(cp, c31, 16);
}

/** Copies the valid mr×nr corner of the tile into C (stored or added). */
function copyTile(tile: usize, cp: usize, ldc: usize, mr: i32, nr: i32, add: bool): void {
  for (let r = 0; r < mr; r++) {
    const src = tile + (<usize>(r * NR) << 2);
    const dst = cp + <usize>r * ldc;
    for (let j = 0; j < nr; j++) {
      const o = <usize>j << 2;
      store<f32>(dst + o, add ? load<f32>(dst + o) + load<f32>(src + o) : load<f32>(src + o));
    }
  }
}

/** Packs op(b)[pc..pc+kc, jc..jc+nc] into NR-wide panels: dst[(jr·kc + p·NR + j)] (zero past N). */
function packB(b: usize, ldb: i32, transB: bool, pc: i32, kc: i32, jc: i32, nc: i32, dst: usize): void {
  for (let jr = 0; jr < nc; jr += NR) {
    const nr = min(NR, nc - jr);
    const panel = dst + (<usize>(jr * kc) << 2);
    const j0 = jc + jr;
    if (!transB) {
      // op(b)[p, j] = b[p·ldb + j]: rows of the panel are contiguous
      for (let p = 0; p < kc; p++) {
        const src = b + ((<usize>(pc + p) * <usize>ldb + <usize>j0) << 2);
        const out = panel + (<usize>(p * NR) << 2);
        if (nr == NR) {
          v128.store(out, v128.load(src));
          v128.store(out, v128.load(src, 16), 16);
        } else {
          for (let j = 0; j < NR; j++) store<f32>(out + (<usize>j << 2), j < nr ? load<f32>(src + (<usize>j << 2)) : 0);
        }
      }
    } else {
      // op(b)[p, j] = b[j·ldb + p]: columns of the panel are contiguous
      for (let j = 0; j < NR; j++) {
        const out = panel + (<usize>j << 2);
        if (j < nr) {
          const src = b + ((<usize>(j0 + j) * <usize>ldb + <usize>pc) << 2);
          for (let p = 0; p < kc; p++) store<f32>(out + (<usize>(p * NR) << 2), load<f32>(src + (<usize>p << 2)));
        } else {
          for (let p = 0; p < kc; p++) store<f32>(out + (<usize>(p * NR) << 2), 0);
        }
      }
    }
  }
}

/** Packs op(a)[ic..ic+mc, pc..pc+kc] into MR-tall panels: dst[(ir·kc + p·MR + r)] (zero past M). */
function packA(a: usize, lda: i32, transA: bool, ic: i32, mc: i32, pc: i32, kc: i32, dst: usize): void {
  for (let ir = 0; ir < mc; ir += MR) {
    const mr = min(MR, mc - ir);
    const panel = dst + (<usize>(ir * kc) << 2);
    const i0 = ic + ir;
    if (transA) {
      // op(a)[i, p] = a[p·lda + i]: rows of the panel are contiguous
      for (let p = 0; p < kc; p++) {
        const src = a + ((<usize>(pc + p) * <usize>lda + <usize>i0) << 2);
        const out = panel + (<usize>(p * MR) << 2);
        if (mr == MR) v128.store(out, v128.load(src));
        else for (let r = 0; r < MR; r++) store<f32>(out + (<usize>r << 2), r < mr ? load<f32>(src + (<usize>r << 2)) : 0);
      }
    } else {
      // op(a)[i, p] = a[i·lda + p]: columns of the panel are contiguous
      for (let r = 0; r < MR; r++) {
        const out = panel + (<usize>r << 2);
        if (r < mr) {
          const src = a + ((<usize>(i0 + r) * <usize>lda + <usize>pc) << 2);
          for (let p = 0; p < kc; p++) store<f32>(out + (<usize>(p * MR) << 2), load<f32>(src + (<usize>p << 2)));
        } else {
          for (let p = 0; p < kc; p++) store<f32>(out + (<usize>(p * MR) << 2), 0);
        }
      }
    }
  }
}
