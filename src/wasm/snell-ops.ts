// The wasm backend's SNELL primitives: the low-rank merge and its backward, the mixture, the
// |W| quantile, sparsify and its backward, and matmul, on the kernels of assembly/. The contract
// (src/contract) has checked every argument before a call gets here.

import type { MatmulOptions, MergeKernel, Tensor } from '../backend.js';
import { matrixDims } from '../contract/shapes.js';
import { ptr, WasmRuntime } from './runtime.js';
import { gemmCalls, MERGE_GROUPS, pieces, ranges } from './split.js';

/** Distance terms (n·m·H·k) each thread should at least get before a merge or its backward is split. */
const MERGE_GRAIN = 2 ** 18;
/** Rows of one panel of the sparse kernels (assembly/sparse_products.ts). */
const PANEL_ROWS = 32;
/** Largest share of nonzero (or kept) entries at which the sparse kernels beat the dense product. */
const SPARSE_DENSITY = 0.25;
/** Multiply-adds each thread should at least get before a sparse kernel is split. */
const SPARSE_GRAIN = 2 ** 20;

/** The SNELL primitives over WasmRuntime's kernel calls; WasmDecoderOps and WasmExecutor add the rest. */
export abstract class WasmSnellOps extends WasmRuntime {
  merge(A: Tensor, B: Tensor, kernel: MergeKernel, coeff: readonly number[], W: Tensor): void {
    const w = this.exports();
    const [H, n, k] = A.shape;
    const m = B.shape[1];
    const s = this.memory.scratch(w.mergeScratchBytes(H, m, k, 0, 0) >>> 0, coeff);
    w.packB4(ptr(B), H, m, k, s.ptr);
    const [pa, pw, linear] = [ptr(A), ptr(W), kernel === 'linear' ? 1 : 0];
    this.run(
      'merge',
      ranges(n, pieces(n * m * H * k, MERGE_GRAIN, this.threads)).map(([i, rows]) => [
        pa,
        s.ptr,
        H,
        n,
        m,
        k,
        linear,
        s.coeff,
        pw,
        i,
        rows,
      ]),
    );
  }

  mergeBackward(A: Tensor, B: Tensor, dW: Tensor, kernel: MergeKernel, coeff: readonly number[], dA: Tensor, dB: Tensor): void {
    const w = this.exports();
    const [H, n, k] = A.shape;
    const m = B.shape[1];
    // scratch: packed B, MERGE_GROUPS packed dB partials, one dA accumulator per thread
    const s = this.memory.scratch(w.mergeScratchBytes(H, m, k, MERGE_GROUPS, this.threads) >>> 0, coeff);
    const packedBytes = Math.ceil(m / 4) * H * k * 16;
    const [partials, accs] = [s.ptr + packedBytes, s.ptr + packedBytes * (1 + MERGE_GROUPS)];
    w.packB4(ptr(B), H, m, k, s.ptr);
    const [pa, pdw, pda, pdb, linear] = [ptr(A), ptr(dW), ptr(dA), ptr(dB), kernel === 'linear' ? 1 : 0];
    this.run(
      'mergeBackward',
      ranges(MERGE_GROUPS, pieces(n * m * H * k, MERGE_GRAIN, this.threads)).map(([g, count], t) => [
        pa,
        s.ptr,
        pdw,
        H,
        n,
        m,
        k,
        linear,
        s.coeff,
        pda,
        g,
        g + count,
        MERGE_GROUPS,
        accs + t * H * k * 16,
      ]),
    );
    this.run(
      'mergeBackwardReduce',
      ranges(m, pieces(m * H * k * MERGE_GROUPS, 2 ** 16, this.threads)).map(([o, count]) => [
        partials,
        MERGE_GROUPS,
        H,
        m,
        k,
        pdb,
        o,
        count,
      ]),
    );
  }

  mixture(W0: Tensor, alpha: Tensor, gamma: Tensor, beta: Tensor, W: Tensor, P: Tensor): void {
    const [n, m] = W0.shape;
    this.exports().mixture(ptr(W0), n, m, ptr(alpha), ptr(gamma), ptr(beta), ptr(W), ptr(P));
  }

  mixtureBackward(
    dW: Tensor,
    W0: Tensor,
    P: Tensor,
    alpha: Tensor,
    gamma: Tensor,
    dW0: Tensor,
    dAlpha: Tensor,
    dGamma: Tensor,
    dBeta: Tensor,
  ): void {
    const [n, m] = W0.shape;
    this.exports().mixtureBackward(
      ptr(dW),
      ptr(W0),
      ptr(P),
      ptr(alpha),
      ptr(gamma),
      n,
      m,
      ptr(dW0),
      ptr(dAlpha),
      ptr(dGamma),
      ptr(dBeta),
    );
  }

  quantileAbs(W: Tensor, s: number, threshold: Tensor): void {
    const N = W.size;
    // torch.quantile: pos = s·(N−1) in float64, lo = ⌊pos⌋, frac = pos − lo
    const pos = s * (N - 1);
    const lo = Math.min(Math.floor(pos), N - 1);
    this.exports().quantileAbs(ptr(W), N, lo, pos - lo, ptr(threshold));
  }

  sparsify(W: Tensor, threshold: Tensor, Ws: Tensor, kept: Tensor): void {
    const w = this.exports();
    const [pw, pt, pws, N] = [ptr(W), ptr(threshold), ptr(Ws), W.size];
    const parts = ranges(N, pieces(N, 2 ** 17, this.threads), 16);
    if (parts.length === 1) {
      w.sparsify(pw, N, pt, pws, ptr(kept));
      return;
    }
    // each piece counts its own kept elements; the (exact, integer) counts are summed here
    const counts = this.memory.scratch(4 * parts.length).ptr;
    this.run(
      'sparsify',
      parts.map(([at, len], i) => [pw + 4 * at, len, pt, pws + 4 * at, counts + 4 * i]),
    );
    const u32 = this.memory.u32();
    u32[ptr(kept) >>> 2] = parts.reduce((sum, _, i) => sum + u32[(counts >>> 2) + i], 0);
  }

  sparsifyBackward(G: Tensor, W: Tensor, threshold: Tensor, dW: Tensor): void {
    const [pg, pw, pt, pdw, N] = [ptr(G), ptr(W), ptr(threshold), ptr(dW), W.size];
    this.run(
      'sparsifyBackward',
      ranges(N, pieces(N, 2 ** 17, this.threads), 16).map(([at, len]) => [pg + 4 * at, pw + 4 * at, len, pt, pdw + 4 * at]),
    );
  }

  matmul(a: Tensor, b: Tensor, out: Tensor, options: MatmulOptions = {}): void {
    const w = this.exports();
    const { transA = false, transB = false, accumulate = false, sparseB = false } = options;
    if (sparseB && this.sparseProduct(a, b, out, transB, accumulate)) return;
    const [ar, ac] = matrixDims(a);
    const [br, bc] = matrixDims(b);
    const [M, K] = transA ? [ac, ar] : [ar, ac];
    const N = transB ? br : bc;
    const s = this.perThreadScratch(w.matmulScratchBytes() >>> 0);
    this.run('gemm', gemmCalls(ptr(a), ptr(b), ptr(out), M, N, K, transA, transB, accumulate, s.ptr, s.stride, this.threads));
  }

  keptGradient(x: Tensor, dy: Tensor, W: Tensor, threshold: Tensor, dW: Tensor): void {
    const w = this.exports();
    const [n, m] = W.shape;
    const R = x.size / n;
    const [pw, pt, pdw] = [ptr(W), ptr(threshold), ptr(dW)];
    const kept = w.countKept(pw, W.size, pt) >>> 0;
    if (kept > W.size * SPARSE_DENSITY) {
      // most entries are kept: the dense product and the mask cost less than one dot product each
      this.matmul(x, dy, dW, { transA: true });
      this.sparsifyBackward(dW, W, threshold, dW);
      return;
    }
    const [xBytes, dBytes] = [w.panelBytes(R, n) >>> 0, w.panelBytes(R, m) >>> 0];
    const s = this.memory.scratch(xBytes + dBytes + 4 * (n + 1) + 4 * kept + 64).ptr;
    const [xp, dp, offsets] = [s, s + xBytes, s + xBytes + dBytes];
    const indices = offsets + 4 * (n + 1);
    this.packPanels(x, R, n, xp);
    this.packPanels(dy, R, m, dp);
    w.keptRows(pw, n, m, pt, offsets, indices);
    const np = Math.ceil(R / PANEL_ROWS);
    this.run(
      'keptGradient',
      ranges(n, pieces(kept * R, SPARSE_GRAIN, this.threads)).map(([i, rows]) => [
        xp,
        dp,
        np,
        n,
        m,
        offsets,
        indices,
        pw,
        pdw,
        i,
        rows,
      ]),
    );
  }

  /** out (+)= a·op(b) over b's nonzeros (the sparseB hint); false, with nothing done, when b is too dense to gain. */
  private sparseProduct(a: Tensor, b: Tensor, out: Tensor, transB: boolean, accumulate: boolean): boolean {
    const w = this.exports();
    const [R, K] = matrixDims(a);
    const N = out.size / R;
    const nnz = w.countNonzeros(ptr(b), b.size) >>> 0;
    if (nnz > b.size * SPARSE_DENSITY) return false;
    const panels = w.panelBytes(R, K) >>> 0;
    const s = this.memory.scratch(panels + 8 * (N + 1) + 8 * nnz + 64).ptr;
    const [offsets, cursor] = [s + panels, s + panels + 4 * (N + 1)];
    const entries = cursor + 4 * N + 4;
    this.packPanels(a, R, K, s);
    w.sparseColumns(ptr(b), K, N, transB ? 1 : 0, offsets, entries, cursor);
    const [po, add] = [ptr(out), accumulate ? 1 : 0];
    this.run(
      'sparseProduct',
      ranges(Math.ceil(R / PANEL_ROWS), pieces(nnz * R, SPARSE_GRAIN, this.threads)).map(([p, count]) => [
        s,
        R,
        K,
        N,
        offsets,
        entries,
        po,
        add,
        p,
        count,
      ]),
    );
    return true;
  }

  /** The 32-row transposed panels of x [R, K] at dst (assembly/sparse_products.ts). */
  private packPanels(x: Tensor, R: number, K: number, dst: number): void {
    const px = ptr(x);
    this.run(
      'packPanels',
      ranges(Math.ceil(R / PANEL_ROWS), pieces(R * K, 2 ** 17, this.threads)).map(([p, count]) => [px, R, K, dst, p, count]),
    );
  }
}
