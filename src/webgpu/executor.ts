// The WebGPU backend as the contract's Executor: its primitives on WGSL kernels (wgsl/*.wgsl) over
// the runtime (runtime.ts). The SNELL kernels are encoded by snell.ts, the transformer primitives
// by transformer.ts, the decoder primitives by decoder.ts, matmul here with the variant the plan
// (matmul.ts) picks for its size, timed once per adapter by timeMatmul. The contract (src/contract) has checked every argument before a
// call gets here. Pipelines are compiled once per (family, entry, constants) (pipelines.ts).

import { BackendError } from '../backend.js';
import type { AdamWStep, AttentionOptions, MatmulOptions, MergeKernel, PoolMode, Tensor } from '../backend.js';
import type { Executor } from '../contract/checked.js';
import { matrixDims } from '../contract/shapes.js';
import type { WebGpuOptions } from './backend.js';
import { DecoderOps } from './decoder.js';
import { acquireDevice } from './device.js';
import { KERNELS } from './kernels.js';
import { forcedPlan, type MatmulPlan, type MatmulVariant, planFor, variantFor } from './matmul.js';
import { GpuProfiler, type KernelTime } from './profiler.js';
import { gpu, GpuRuntime } from './runtime.js';
import { SnellOps } from './snell.js';
import { TransformerOps } from './transformer.js';

export class WebGpuExecutor extends GpuRuntime implements Executor {
  /** The SNELL kernels (snell.ts), the transformer primitives (transformer.ts) and the decoder ones (decoder.ts). */
  private readonly snell: SnellOps;
  private readonly ops: TransformerOps;
  private readonly decoder: DecoderOps;
  private plan!: MatmulPlan;

  static async create(gpu: GPU, options: WebGpuOptions = {}): Promise<WebGpuExecutor> {
    const { device, owners, description, features, limits } = await acquireDevice(gpu, {
      ...options,
      timestamps: options.profile,
    });
    const backend = new WebGpuExecutor(
      device,
      owners,
      description,
      features,
      limits,
      options.profile ? new GpuProfiler(device) : null,
    );
    try {
      backend.plan =
        options.matmulVariant !== undefined
          ? forcedPlan(options.matmulVariant)
          : await planFor(description, (v, shape, reps) => backend.timeMatmul(v, shape, reps));
    } catch (e) {
      backend.destroy();
      throw e;
    }
    return backend;
  }

  private constructor(
    device: GPUDevice,
    owners: readonly object[],
    description: string,
    features: readonly string[],
    limits: { maxStorageBufferBindingSize: number; maxBufferSize: number; maxComputeWorkgroupsPerDimension: number },
    private readonly profiler: GpuProfiler | null,
  ) {
    super(device, owners, description, features, limits, profiler);
    // select.wgsl's scratch (state words, histogram bins), reused by every quantileAbs
    const select = {
      state: this.storageBuffer(8, 'snell-js select state'),
      hist: this.storageBuffer(2048, 'snell-js select histogram'),
    };
    this.snell = new SnellOps(this.host, select);
    this.ops = new TransformerOps(this.host);
    this.decoder = new DecoderOps(this.host);
  }

  /**
   * GPU milliseconds per kernel over everything submitted since the last reset, largest first (created
   * with `profile: true`; submits pending work first). `reset` starts a new count.
   */
  async profile({ reset = false } = {}): Promise<KernelTime[]> {
    if (!this.profiler) throw new BackendError('profile(): this backend was created without profile: true');
    this.commands.submit();
    return this.profiler.report({ reset });
  }

  /** Which matmul variant each size class runs (matmul.ts), chosen once per adapter or forced. */
  get matmulPlan(): MatmulPlan {
    return this.plan;
  }

  // ---- SNELL kernels (snell.ts) ----

  merge(A: Tensor, B: Tensor, kernel: MergeKernel, coeff: readonly number[], W: Tensor): void {
    this.snell.merge(A, B, kernel, coeff, W);
  }
  mergeBackward(A: Tensor, B: Tensor, dW: Tensor, kernel: MergeKernel, coeff: readonly number[], dA: Tensor, dB: Tensor): void {
    this.snell.mergeBackward(A, B, dW, kernel, coeff, dA, dB);
  }
  mixture(W0: Tensor, alpha: Tensor, gamma: Tensor, beta: Tensor, W: Tensor, P: Tensor): void {
    this.snell.mixture(W0, alpha, gamma, beta, W, P);
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
    this.snell.mixtureBackward(dW, W0, P, alpha, gamma, dW0, dAlpha, dGamma, dBeta);
  }
  quantileAbs(W: Tensor, s: number, threshold: Tensor): void {
    this.snell.quantileAbs(W, s, threshold);
  }
  sparsify(W: Tensor, threshold: Tensor, Ws: Tensor, kept: Tensor): void {
    this.snell.sparsify(W, threshold, Ws, kept);
  }
  sparsifyBackward(G: Tensor, W: Tensor, threshold: Tensor, dW: Tensor): void {
    this.snell.sparsifyBackward(G, W, threshold, dW);
  }
  keptGradient(x: Tensor, dy: Tensor, W: Tensor, threshold: Tensor, dW: Tensor): void {
    this.snell.keptGradient(x, dy, W, threshold, dW);
  }

  // ---- matmul ----
  // The sparseB hint is not taken: on a GPU the tiled dense product beats gathering at 10% density.

  matmul(a: Tensor, b: Tensor, out: Tensor, options: MatmulOptions = {}): void {
    const { transA = false, transB = false, accumulate = false } = options;
    const [ar, ac] = matrixDims(a);
    const [br, bc] = matrixDims(b);
    const [M, K] = transA ? [ac, ar] : [ar, ac];
    const N = transB ? br : bc;
    this.encodeMatmul(variantFor(this.plan, M, N), a, b, out, M, K, N, transA, transB, accumulate);
  }

  /** vec4 loads when the contiguous dimensions of a and b are multiples of 4 (matmul.wgsl). */
  private encodeMatmul(
    v: MatmulVariant,
    a: Tensor,
    b: Tensor,
    out: Tensor,
    M: number,
    K: number,
    N: number,
    transA: boolean,
    transB: boolean,
    accumulate: boolean,
  ): void {
    const vec4 = (transA ? M : K) % 4 === 0 && (transB ? K : N) % 4 === 0;
    const tilesN = Math.ceil(N / v.bn);
    const constants = { TRANS_A: transA, TRANS_B: transB, ACCUMULATE: accumulate, ...v.constants };
    // A vec4 binding holds at least one vec4 (the pool rounds buffers up to 16 bytes).
    const whole = (t: Tensor): GPUBufferBinding => {
      const g = gpu(t);
      return { buffer: g.buffer!, size: Math.ceil(g.bytes / 16) * 16 };
    };
    this.run(
      vec4 ? KERNELS.matmulVec4 : KERNELS.matmul,
      constants,
      [M, K, N, tilesN],
      vec4 ? [whole(a), whole(b), out] : [a, b, out],
      Math.ceil(M / v.bm) * tilesN,
    );
  }

  /** Milliseconds for `reps` products [M,K]·[K,N] with variant `v`, submitted together (the tuner's clock). */
  private async timeMatmul(v: MatmulVariant, [M, K, N]: readonly [number, number, number], reps: number): Promise<number> {
    const a = this.upload(new Float32Array(M * K).fill(0.5), [M, K]);
    const b = this.upload(new Float32Array(K * N).fill(0.25), [K, N]);
    const out = this.zeros([M, N]);
    try {
      await this.flush();
      const t0 = performance.now();
      for (let r = 0; r < reps; r++) this.encodeMatmul(v, a, b, out, M, K, N, false, false, false);
      await this.flush();
      return performance.now() - t0;
    } finally {
      for (const t of [a, b, out]) this.free(t);
    }
  }

  // ---- transformer primitives (transformer.ts) ----

  add(a: Tensor, b: Tensor, out: Tensor): void {
    this.ops.add(a, b, out);
  }
  addTransposed(a: Tensor, b: Tensor, out: Tensor): void {
    this.ops.addTransposed(a, b, out);
  }
  addInto(out: Tensor, a: Tensor): void {
    this.ops.addInto(out, a);
  }
  addBias(out: Tensor, bias: Tensor): void {
    this.ops.addBias(out, bias);
  }
  sumRows(x: Tensor, out: Tensor, accumulate?: boolean): void {
    this.ops.sumRows(x, out, accumulate);
  }
  copy(src: Tensor, out: Tensor): void {
    this.ops.copy(src, out);
  }
  layerNorm(x: Tensor, w: Tensor, b: Tensor, eps: number, out: Tensor, mean: Tensor, rstd: Tensor): void {
    this.ops.layerNorm(x, w, b, eps, out, mean, rstd);
  }
  layerNormBackward(
    dy: Tensor,
    x: Tensor,
    w: Tensor,
    mean: Tensor,
    rstd: Tensor,
    dx: Tensor,
    dw: Tensor | null,
    db: Tensor | null,
  ): void {
    this.ops.layerNormBackward(dy, x, w, mean, rstd, dx, dw, db);
  }
  gelu(x: Tensor, out: Tensor): void {
    this.ops.gelu(x, out);
  }
  geluBackward(dy: Tensor, x: Tensor, dx: Tensor): void {
    this.ops.geluBackward(dy, x, dx);
  }
  attention(q: Tensor, k: Tensor, v: Tensor, heads: number, out: Tensor, probs: Tensor, options?: AttentionOptions): void {
    this.ops.attention(q, k, v, heads, out, probs, options);
  }
  attentionBackward(
    dOut: Tensor,
    q: Tensor,
    k: Tensor,
    v: Tensor,
    probs: Tensor,
    heads: number,
    dq: Tensor,
    dk: Tensor,
    dv: Tensor,
    options?: AttentionOptions,
  ): void {
    this.ops.attentionBackward(dOut, q, k, v, probs, heads, dq, dk, dv, options);
  }
  embed(ids: Tensor, table: Tensor, out: Tensor): void {
    this.ops.embed(ids, table, out);
  }
  embedBackward(dOut: Tensor, ids: Tensor, dTable: Tensor): void {
    this.ops.embedBackward(dOut, ids, dTable);
  }
  gatherRows(x: Tensor, index: Tensor, out: Tensor): void {
    this.ops.gatherRows(x, index, out);
  }
  gatherRowsBackward(dOut: Tensor, index: Tensor, dx: Tensor): void {
    this.ops.gatherRowsBackward(dOut, index, dx);
  }
  embedTokens(patches: Tensor, cls: Tensor, pos: Tensor, out: Tensor): void {
    this.ops.embedTokens(patches, cls, pos, out);
  }
  embedTokensBackward(dOut: Tensor, dPatches: Tensor | null, dCls: Tensor | null, dPos: Tensor | null): void {
    this.ops.embedTokensBackward(dOut, dPatches, dCls, dPos);
  }
  poolTokens(x: Tensor, mode: PoolMode, out: Tensor): void {
    this.ops.poolTokens(x, mode, out);
  }
  poolTokensBackward(dOut: Tensor, mode: PoolMode, dx: Tensor): void {
    this.ops.poolTokensBackward(dOut, mode, dx);
  }
  softmaxCrossEntropy(logits: Tensor, labels: Tensor, loss: Tensor, dLogits: Tensor, correct: Tensor): void {
    this.ops.softmaxCrossEntropy(logits, labels, loss, dLogits, correct);
  }
  tokenCrossEntropy(logits: Tensor, labels: Tensor, loss: Tensor, dLogits: Tensor, correct: Tensor): void {
    this.ops.tokenCrossEntropy(logits, labels, loss, dLogits, correct);
  }
  sumSquares(x: Tensor, out: Tensor, accumulate?: boolean): void {
    this.ops.sumSquares(x, out, accumulate);
  }
  clipFactor(sumSq: Tensor, maxNorm: number, factor: Tensor): void {
    this.ops.clipFactor(sumSq, maxNorm, factor);
  }
  adamw(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, gradScale: Tensor | null, hp: AdamWStep): void {
    this.ops.adamw(param, grad, m, v, gradScale, hp);
  }
  dropout(x: Tensor, p: number, seed: number, out: Tensor): void {
    this.ops.dropout(x, p, seed, out);
  }
  dropPath(x: Tensor, p: number, seed: number, out: Tensor): void {
    this.ops.dropPath(x, p, seed, out);
  }
  maskScale(x: Tensor, mask: Tensor, scale: number, out: Tensor): void {
    this.ops.maskScale(x, mask, scale, out);
  }
  importance(theta: Tensor, grad: Tensor, ipt: Tensor, unc: Tensor, beta1: number, beta2: number, skipped: Tensor): void {
    this.ops.importance(theta, grad, ipt, unc, beta1, beta2, skipped);
  }
  rmsNorm(x: Tensor, w: Tensor, eps: number, out: Tensor, rstd: Tensor): void {
    this.decoder.rmsNorm(x, w, eps, out, rstd);
  }
  rmsNormBackward(dy: Tensor, x: Tensor, w: Tensor, rstd: Tensor, dx: Tensor, dw: Tensor | null): void {
    this.decoder.rmsNormBackward(dy, x, w, rstd, dx, dw);
  }
  rope(x: Tensor, cos: Tensor, sin: Tensor, heads: number, offset: number, out: Tensor): void {
    this.decoder.rope(x, cos, sin, heads, offset, out);
  }
  ropeBackward(dy: Tensor, cos: Tensor, sin: Tensor, heads: number, offset: number, dx: Tensor): void {
    this.decoder.ropeBackward(dy, cos, sin, heads, offset, dx);
  }
  siluMul(gate: Tensor, up: Tensor, out: Tensor): void {
    this.decoder.siluMul(gate, up, out);
  }
  siluMulBackward(dy: Tensor, gate: Tensor, up: Tensor, dGate: Tensor, dUp: Tensor): void {
    this.decoder.siluMulBackward(dy, gate, up, dGate, dUp);
  }
  geluTanh(x: Tensor, out: Tensor): void {
    this.decoder.geluTanh(x, out);
  }
  geluTanhBackward(dy: Tensor, x: Tensor, dx: Tensor): void {
    this.decoder.geluTanhBackward(dy, x, dx);
  }
  sliceColumns(x: Tensor, start: number, out: Tensor): void {
    this.decoder.sliceColumns(x, start, out);
  }
  addColumns(dx: Tensor, start: number, d: Tensor): void {
    this.decoder.addColumns(dx, start, d);
  }
}
