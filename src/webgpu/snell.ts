// The SNELL kernels of src/backend.ts on the WebGPU kernels (wgsl/merge, merge_backward, mixture,
// select, sparsify): uniform parameters and dispatch sizes for arguments the contract (src/contract)
// has checked. Scratch (the merge backward's partial sums, the mixture backward's row sums) comes from
// the buffer pool and is released right after encoding.

import type { MergeKernel, Tensor } from '../backend.js';
import { f32bits } from './commands.js';
import type { KernelHost } from './host.js';
import { KERNELS, SELECT_DIGITS, WG } from './kernels.js';
import type { GpuTensor } from './pool.js';

export class SnellOps {
  /** `select` is select.wgsl's scratch (state words, histogram bins), reused by every quantileAbs. */
  constructor(
    private readonly host: KernelHost,
    private readonly select: { state: GPUBuffer; hist: GPUBuffer },
  ) {}

  merge(A: Tensor, B: Tensor, kernel: MergeKernel, coeff: readonly number[], W: Tensor): void {
    const [H, n, k] = A.shape;
    const m = B.shape[1];
    this.host.run(
      KERNELS.merge,
      { WG: WG.merge, LINEAR: kernel === 'linear' },
      [H, n, m, k],
      [A, B, this.host.values(coeff), W],
      Math.ceil((n * m) / WG.merge),
    );
  }

  mergeBackward(A: Tensor, B: Tensor, dW: Tensor, kernel: MergeKernel, coeff: readonly number[], dA: Tensor, dB: Tensor): void {
    const [H, n, k] = A.shape;
    const m = B.shape[1];
    const c = this.host.values(coeff);
    const chunk = WG.mergeBackwardChunk;
    for (const [sideB, out, rows, cols] of [
      [false, dA, n, m],
      [true, dB, m, n],
    ] as const) {
      const constants = { WG: WG.mergeBackward, SIDE_B: sideB, LINEAR: kernel === 'linear', K: k };
      const chunks = Math.max(1, Math.ceil(cols / chunk));
      // scratch: the partial sums [chunks, H, rows, k]
      const part = { buffer: this.host.scratch(chunks * H * rows * k * 4) };
      this.host.run(
        KERNELS.mergeBackwardPartials,
        constants,
        [H, n, m, chunk],
        [A, B, dW, c, part],
        chunks * H * Math.ceil(rows / WG.mergeBackward),
      );
      this.host.run(
        KERNELS.mergeBackwardTotals,
        constants,
        [H, n, m, chunk],
        [part, out],
        Math.ceil((H * rows * k) / WG.mergeBackward),
      );
      this.host.release(part.buffer);
    }
  }

  mixture(W0: Tensor, alpha: Tensor, gamma: Tensor, beta: Tensor, W: Tensor, P: Tensor): void {
    const [n, m] = W0.shape;
    this.host.run(KERNELS.mixture, {}, [n, m], [W0, alpha, gamma, beta, W, P], n);
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
    const partial = this.host.scratch(n * 3 * 4); // per-row sums
    this.host.run(KERNELS.mixtureBackwardRows, {}, [n, m], [W0, alpha, gamma, P, dW, dW0, { buffer: partial }], n);
    this.host.run(KERNELS.mixtureBackwardTotal, {}, [n, m], [gamma, { buffer: partial }, dAlpha, dGamma, dBeta], 1);
    this.host.release(partial);
  }

  quantileAbs(W: Tensor, s: number, threshold: Tensor): void {
    const N = W.size;
    const pos = s * (N - 1); // float64, as the reference computes it
    const lo = Math.floor(pos);
    const params = (shift = 0, width = 0) => [N, lo, f32bits(pos - lo), shift, width];
    const buffers = [W, { buffer: this.select.state }, { buffer: this.select.hist }, threshold];
    const groups = Math.ceil(N / WG.selectElements);
    this.host.run(KERNELS.selectInit, {}, params(), buffers, 1);
    for (const [shift, width] of SELECT_DIGITS) {
      this.host.run(KERNELS.selectHistogram, {}, params(shift, width), buffers, groups);
      this.host.run(KERNELS.selectScan, {}, params(shift, width), buffers, 1);
    }
    this.host.run(KERNELS.selectMinAbove, {}, params(), buffers, groups);
    this.host.run(KERNELS.selectFinish, {}, params(), buffers, 1);
  }

  sparsify(W: Tensor, threshold: Tensor, Ws: Tensor, kept: Tensor): void {
    const N = W.size;
    this.host.encoder().clearBuffer((kept as GpuTensor).buffer!, 0, 4);
    this.host.run(KERNELS.sparsify, { WG: WG.sparsify }, [N], [W, threshold, Ws, kept], Math.ceil(N / WG.sparsify));
  }

  sparsifyBackward(G: Tensor, W: Tensor, threshold: Tensor, dW: Tensor): void {
    const N = W.size;
    this.host.run(KERNELS.sparsifyBackward, { WG: WG.sparsify }, [N], [W, threshold, G, dW], Math.ceil(N / WG.sparsify));
  }

  keptGradient(x: Tensor, dy: Tensor, W: Tensor, threshold: Tensor, dW: Tensor): void {
    const [n, m] = W.shape;
    const tile = Math.sqrt(WG.keptGradient);
    const tilesO = Math.ceil(m / tile);
    this.host.run(
      KERNELS.keptGradient,
      { WG: WG.keptGradient },
      [n, m, x.size / n, tilesO],
      [W, threshold, dW, x, dy],
      Math.ceil(n / tile) * tilesO,
    );
  }
}
