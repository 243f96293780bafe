// The WebGPU backend: the contract of src/backend.ts on WGSL kernels (wgsl/*.wgsl). Primitives are
// encoded into one command encoder and submitted on read() or flush(); tensors are pooled buffers
// whose release waits for the submit (pool.ts); pipelines are compiled once per (family, entry,
// constants) (pipelines.ts).

import { BackendError } from '../backend.js';
import type { AdamWStep, Backend, DType, MatmulOptions, MergeKernel, PoolMode, Tensor } from '../backend.js';
import { Commands, f32bits } from './commands.js';
import { acquireDevice, type DeviceOptions } from './device.js';
import { DeviceHealth } from './health.js';
import { KERNELS, SELECT_DIGITS, WG } from './kernels.js';
import { forcedPlan, type MatmulPlan, type MatmulVariant, planFor, variantFor } from './matmul.js';
import { PipelineCache, type Constants, type KernelSpec } from './pipelines.js';
import { GpuProfiler, type KernelTime } from './profiler.js';
import { BufferPool, GpuTensor, type PoolStats, USAGE } from './pool.js';
import { TransformerOps } from './transformer.js';

export interface WebGpuOptions extends DeviceOptions {
  /** Run every matmul with this variant (a name from MATMUL_VARIANTS) instead of the adapter's plan. */
  matmulVariant?: string;
  /** Time every kernel on the GPU (timestamp queries; each dispatch in a pass of its own): see profile(). */
  profile?: boolean;
}

/** Creates a WebGPU backend on the best adapter of `gpu` (navigator.gpu, or Dawn's GPU in Node). */
export async function createWebGpuBackend(gpu: GPU, options: WebGpuOptions = {}): Promise<Backend> {
  return WebGpuBackend.create(gpu, options);
}

/** Dawn for Node crashes if its GPU object is garbage-collected under a live device: each backend holds it. */
const keepAlive = new WeakMap<WebGpuBackend, readonly object[]>();

export class WebGpuBackend implements Backend {
  readonly kind = 'webgpu' as const;
  readonly description: string;
  readonly maxElements: number;
  /** The adapter's features, as read before the device was requested. */
  readonly features: readonly string[];
  private readonly health: DeviceHealth;
  private readonly pool: BufferPool;
  private readonly pipelines: PipelineCache;
  private readonly commands: Commands;
  private readonly coeffBuffers = new Map<string, GPUBuffer>();
  /** select.wgsl's scratch (state words, histogram bins), reused by every quantileAbs. */
  private readonly selectState: GPUBuffer;
  private readonly selectHist: GPUBuffer;
  /** The transformer primitives (transformer.ts). */
  private readonly ops: TransformerOps;
  private plan!: MatmulPlan;

  static async create(gpu: GPU, options: WebGpuOptions = {}): Promise<WebGpuBackend> {
    const { device, owners, description, features, limits } = await acquireDevice(gpu, { ...options, timestamps: options.profile });
    const backend = new WebGpuBackend(device, owners, description, features, limits, options.profile ? new GpuProfiler(device) : null);
    try {
      backend.plan = options.matmulVariant !== undefined
        ? forcedPlan(options.matmulVariant)
        : await planFor(description, (v, shape, reps) => backend.timeMatmul(v, shape, reps));
    } catch (e) {
      backend.destroy();
      throw e;
    }
    return backend;
  }

  private constructor(
    readonly device: GPUDevice,
    owners: readonly object[],
    description: string,
    features: readonly string[],
    limits: { maxStorageBufferBindingSize: number; maxBufferSize: number; maxComputeWorkgroupsPerDimension: number },
    private readonly profiler: GpuProfiler | null,
  ) {
    keepAlive.set(this, owners);
    this.description = description;
    this.features = features;
    this.maxElements = Math.floor(Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize) / 4);
    this.health = new DeviceHealth(device);
    this.pool = new BufferPool(device);
    this.pipelines = new PipelineCache(device);
    this.commands = new Commands(device, this.pool, limits.maxComputeWorkgroupsPerDimension, profiler);
    const scratch = (words: number, label: string) =>
      device.createBuffer({ size: words * 4, usage: USAGE.STORAGE | USAGE.COPY_DST, label });
    this.selectState = scratch(8, 'snell-js select state');
    this.selectHist = scratch(2048, 'snell-js select histogram');
    this.ops = new TransformerOps({
      tensor: (t, op) => this.tensor(t, op),
      run: (spec, constants, params, buffers, workgroups) => this.run(spec, constants, params, buffers, workgroups),
      scratch: (bytes) => this.pool.acquire(bytes, { encodedWritesOnly: true }).buffer,
      release: (buffer) => this.pool.release(buffer),
      encoder: () => this.commands.commands(),
      one: () => this.coeffBuffer([1]),
    });
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

  // ---- tensors ----

  upload(data: Float32Array | Uint32Array, shape: readonly number[], dtype?: DType): Tensor {
    this.health.check();
    const type = dtype ?? (data instanceof Uint32Array ? 'u32' : 'f32');
    checkData(data, type, 'upload');
    const size = shape.reduce((a, b) => a * b, 1);
    if (data.length !== size) throw new BackendError(`upload: ${data.length} values do not fill shape [${shape.join(', ')}] (${size} elements)`);
    const { tensor } = this.allocate(shape, type, false);
    if (size > 0) this.device.queue.writeBuffer(tensor.buffer!, 0, source(data)); // a new or pooled buffer: no queued work uses it
    return tensor;
  }

  zeros(shape: readonly number[], dtype: DType = 'f32'): Tensor {
    this.health.check();
    const { tensor, fresh } = this.allocate(shape, dtype, true);
    if (!fresh) this.commands.commands().clearBuffer(tensor.buffer!); // in order after its earlier uses; new buffers are zero-filled already
    return tensor;
  }

  write(t: Tensor, data: Float32Array | Uint32Array): void {
    this.health.check();
    const g = this.tensor(t, 'write');
    checkData(data, g.dtype, 'write');
    if (data.length !== g.size) throw new BackendError(`write: ${data.length} values for a tensor of ${g.size} elements`);
    if (g.size === 0) return;
    if (!this.commands.dirty) {
      this.device.queue.writeBuffer(g.buffer!, 0, source(data));
      return;
    }
    // Queued work may still read the old contents: copy from a staging buffer, in order.
    const staging = this.device.createBuffer({ size: g.size * 4, usage: USAGE.COPY_SRC, mappedAtCreation: true, label: 'snell-js write' });
    new (data.constructor as typeof Float32Array)(staging.getMappedRange()).set(data as Float32Array);
    staging.unmap();
    this.commands.commands().copyBufferToBuffer(staging, 0, g.buffer!, 0, g.size * 4);
    this.commands.onSubmitted(() => staging.destroy());
  }

  async read(t: Tensor): Promise<Float32Array | Uint32Array> {
    this.health.check();
    const g = this.tensor(t, 'read');
    const out = g.dtype === 'u32' ? new Uint32Array(g.size) : new Float32Array(g.size);
    const staging = this.device.createBuffer({ size: g.bytes, usage: USAGE.MAP_READ | USAGE.COPY_DST, label: 'snell-js read' });
    this.commands.commands().copyBufferToBuffer(g.buffer!, 0, staging, 0, g.bytes);
    this.commands.submit();
    try {
      await staging.mapAsync(0x1 /* GPUMapMode.READ */);
      new Uint8Array(out.buffer).set(new Uint8Array(staging.getMappedRange(), 0, out.byteLength));
      staging.unmap();
    } catch (e) {
      await new Promise((resolve) => setTimeout(resolve, 0)); // let a pending device.lost land first
      this.health.check(); // a lost device explains the failure better than mapAsync's message
      throw new BackendError(`reading a tensor of shape [${g.shape.join(', ')}] failed: ${(e as Error).message}`);
    } finally {
      staging.destroy();
    }
    this.health.check();
    return out;
  }

  free(t: Tensor): void {
    if (!this.health.isLost) this.health.check(); // a lost device's buffers are gone: freeing them is harmless
    const g = this.tensor(t, 'free', true);
    if (!g.buffer) return; // freeing twice is harmless
    this.pool.release(g.buffer);
    g.buffer = null;
  }

  async flush(): Promise<void> {
    this.health.check();
    this.commands.submit();
    await this.device.queue.onSubmittedWorkDone();
    this.health.check();
  }

  destroy(): void {
    if (this.health.isDestroyed) return;
    this.health.markDestroyed();
    this.commands.destroy();
    this.pool.destroyAll();
    for (const b of this.coeffBuffers.values()) b.destroy();
    this.coeffBuffers.clear();
    this.selectState.destroy();
    this.selectHist.destroy();
    this.device.destroy();
  }

  /** Buffer pool statistics (bytes in use, pooled, waiting for submit). */
  stats(): PoolStats & { pipelines: number; submissions: number } {
    return { ...this.pool.stats(), pipelines: this.pipelines.size, submissions: this.commands.submissions };
  }

  // ---- SNELL kernels ----

  merge(A: Tensor, B: Tensor, kernel: MergeKernel, coeff: readonly number[], W: Tensor): void {
    this.health.check();
    const { H, n, m, k } = this.mergeShapes('merge', A, B, kernel, coeff);
    this.expectSize('merge', 'W', W, n * m);
    this.run(KERNELS.merge, { WG: WG.merge, LINEAR: kernel === 'linear' }, [H, n, m, k],
      [A, B, this.coeffBuffer(coeff), W], Math.ceil((n * m) / WG.merge));
  }

  mergeBackward(A: Tensor, B: Tensor, dW: Tensor, kernel: MergeKernel, coeff: readonly number[], dA: Tensor, dB: Tensor): void {
    this.health.check();
    const { H, n, m, k } = this.mergeShapes('mergeBackward', A, B, kernel, coeff);
    this.expectSize('mergeBackward', 'dW', dW, n * m);
    this.expectSize('mergeBackward', 'dA', dA, H * n * k);
    this.expectSize('mergeBackward', 'dB', dB, H * m * k);
    const c = this.coeffBuffer(coeff);
    const chunk = WG.mergeBackwardChunk;
    for (const [sideB, out, rows, cols] of [[false, dA, n, m], [true, dB, m, n]] as const) {
      const constants = { WG: WG.mergeBackward, SIDE_B: sideB, LINEAR: kernel === 'linear', K: k };
      const chunks = Math.max(1, Math.ceil(cols / chunk));
      // scratch: the partial sums [chunks, H, rows, k]
      const part = { buffer: this.pool.acquire(chunks * H * rows * k * 4, { encodedWritesOnly: true }).buffer };
      this.run(KERNELS.mergeBackwardPartials, constants, [H, n, m, chunk], [A, B, dW, c, part],
        chunks * H * Math.ceil(rows / WG.mergeBackward));
      this.run(KERNELS.mergeBackwardTotals, constants, [H, n, m, chunk], [part, out], Math.ceil((H * rows * k) / WG.mergeBackward));
      this.pool.release(part.buffer);
    }
  }

  mixture(W0: Tensor, alpha: Tensor, gamma: Tensor, beta: Tensor, W: Tensor, P: Tensor): void {
    this.health.check();
    const [n, m] = this.matrix('mixture', 'W0', W0);
    this.scalars('mixture', { alpha, gamma, beta });
    this.expectSize('mixture', 'W', W, n * m);
    this.expectSize('mixture', 'P', P, n * m);
    this.run(KERNELS.mixture, {}, [n, m], [W0, alpha, gamma, beta, W, P], n);
  }

  mixtureBackward(dW: Tensor, W0: Tensor, P: Tensor, alpha: Tensor, gamma: Tensor, dW0: Tensor, dAlpha: Tensor, dGamma: Tensor, dBeta: Tensor): void {
    this.health.check();
    const [n, m] = this.matrix('mixtureBackward', 'W0', W0);
    for (const [name, t] of [['dW', dW], ['P', P], ['dW0', dW0]] as const) this.expectSize('mixtureBackward', name, t, n * m);
    this.scalars('mixtureBackward', { alpha, gamma, dAlpha, dGamma, dBeta });
    const partial = this.pool.acquire(n * 3 * 4, { encodedWritesOnly: true }).buffer; // per-row sums
    this.run(KERNELS.mixtureBackwardRows, {}, [n, m], [W0, alpha, gamma, P, dW, dW0, { buffer: partial }], n);
    this.run(KERNELS.mixtureBackwardTotal, {}, [n, m], [gamma, { buffer: partial }, dAlpha, dGamma, dBeta], 1);
    this.pool.release(partial);
  }

  quantileAbs(W: Tensor, s: number, threshold: Tensor): void {
    this.health.check();
    const w = this.tensor(W, 'quantileAbs');
    this.scalars('quantileAbs', { threshold });
    const N = w.size;
    if (N === 0) throw new BackendError('quantileAbs: W is empty; the quantile of no values is undefined');
    if (!(s >= 0 && s <= 1)) throw new BackendError(`quantileAbs: s must be in [0, 1], got ${s}`);
    const pos = s * (N - 1); // float64, as the reference computes it
    const lo = Math.floor(pos);
    const params = (shift = 0, width = 0) => [N, lo, f32bits(pos - lo), shift, width];
    const buffers = [W, { buffer: this.selectState }, { buffer: this.selectHist }, threshold];
    const groups = Math.ceil(N / WG.selectElements);
    this.run(KERNELS.selectInit, {}, params(), buffers, 1);
    for (const [shift, width] of SELECT_DIGITS) {
      this.run(KERNELS.selectHistogram, {}, params(shift, width), buffers, groups);
      this.run(KERNELS.selectScan, {}, params(shift, width), buffers, 1);
    }
    this.run(KERNELS.selectMinAbove, {}, params(), buffers, groups);
    this.run(KERNELS.selectFinish, {}, params(), buffers, 1);
  }

  sparsify(W: Tensor, threshold: Tensor, Ws: Tensor, kept: Tensor): void {
    this.health.check();
    const N = this.tensor(W, 'sparsify').size;
    this.expectSize('sparsify', 'Ws', Ws, N);
    this.scalars('sparsify', { threshold });
    const k = this.tensor(kept, 'sparsify');
    if (k.size !== 1 || k.dtype !== 'u32') throw new BackendError(`sparsify: kept must be a 1-element u32 tensor, got ${k.dtype} [${k.shape.join(', ')}]`);
    this.commands.commands().clearBuffer(k.buffer!, 0, 4);
    this.run(KERNELS.sparsify, { WG: WG.sparsify }, [N], [W, threshold, Ws, kept], Math.ceil(N / WG.sparsify));
  }

  sparsifyBackward(G: Tensor, W: Tensor, threshold: Tensor, dW: Tensor): void {
    this.health.check();
    const N = this.tensor(W, 'sparsifyBackward').size;
    this.expectSize('sparsifyBackward', 'G', G, N);
    this.expectSize('sparsifyBackward', 'dW', dW, N);
    this.scalars('sparsifyBackward', { threshold });
    this.run(KERNELS.sparsifyBackward, { WG: WG.sparsify }, [N], [W, threshold, G, dW], Math.ceil(N / WG.sparsify));
  }

  matmul(a: Tensor, b: Tensor, out: Tensor, options: MatmulOptions = {}): void {
    this.health.check();
    const { transA = false, transB = false, accumulate = false } = options;
    const [ar, ac] = this.matrix('matmul', 'a', a);
    const [br, bc] = this.matrix('matmul', 'b', b);
    const [M, K] = transA ? [ac, ar] : [ar, ac];
    const [K2, N] = transB ? [bc, br] : [br, bc];
    if (K !== K2) {
      throw new BackendError(`matmul: op(a) is ${M}×${K} but op(b) is ${K2}×${N} (transA=${transA}, transB=${transB}): the inner dimensions must match`);
    }
    const [or, oc] = this.matrix('matmul', 'out', out);
    if (or !== M || oc !== N) throw new BackendError(`matmul: out is ${or}×${oc}, expected ${M}×${N}`);
    this.encodeMatmul(variantFor(this.plan, M, N), a, b, out, M, K, N, transA, transB, accumulate);
  }

  /** vec4 loads when the contiguous dimensions of a and b are multiples of 4 (matmul.wgsl). */
  private encodeMatmul(v: MatmulVariant, a: Tensor, b: Tensor, out: Tensor, M: number, K: number, N: number,
    transA: boolean, transB: boolean, accumulate: boolean): void {
    const vec4 = (transA ? M : K) % 4 === 0 && (transB ? K : N) % 4 === 0;
    const tilesN = Math.ceil(N / v.bn);
    const constants = { TRANS_A: transA, TRANS_B: transB, ACCUMULATE: accumulate, ...v.constants };
    // A vec4 binding holds at least one vec4 (the pool rounds buffers up to 16 bytes).
    const whole = (t: Tensor): GPUBufferBinding => {
      const g = this.tensor(t, 'matmul');
      return { buffer: g.buffer!, size: Math.ceil(g.bytes / 16) * 16 };
    };
    this.run(vec4 ? KERNELS.matmulVec4 : KERNELS.matmul, constants, [M, K, N, tilesN],
      vec4 ? [whole(a), whole(b), out] : [a, b, out], Math.ceil(M / v.bm) * tilesN);
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
    this.health.check();
    this.ops.add(a, b, out);
  }
  addInto(out: Tensor, a: Tensor): void {
    this.health.check();
    this.ops.addInto(out, a);
  }
  addBias(out: Tensor, bias: Tensor): void {
    this.health.check();
    this.ops.addBias(out, bias);
  }
  sumRows(x: Tensor, out: Tensor, accumulate?: boolean): void {
    this.health.check();
    this.ops.sumRows(x, out, accumulate);
  }
  copy(src: Tensor, out: Tensor): void {
    this.health.check();
    this.ops.copy(src, out);
  }
  layerNorm(x: Tensor, w: Tensor, b: Tensor, eps: number, out: Tensor, mean: Tensor, rstd: Tensor): void {
    this.health.check();
    this.ops.layerNorm(x, w, b, eps, out, mean, rstd);
  }
  layerNormBackward(dy: Tensor, x: Tensor, w: Tensor, mean: Tensor, rstd: Tensor, dx: Tensor, dw: Tensor | null, db: Tensor | null): void {
    this.health.check();
    this.ops.layerNormBackward(dy, x, w, mean, rstd, dx, dw, db);
  }
  gelu(x: Tensor, out: Tensor): void {
    this.health.check();
    this.ops.gelu(x, out);
  }
  geluBackward(dy: Tensor, x: Tensor, dx: Tensor): void {
    this.health.check();
    this.ops.geluBackward(dy, x, dx);
  }
  attention(q: Tensor, k: Tensor, v: Tensor, heads: number, out: Tensor, probs: Tensor): void {
    this.health.check();
    this.ops.attention(q, k, v, heads, out, probs);
  }
  attentionBackward(dOut: Tensor, q: Tensor, k: Tensor, v: Tensor, probs: Tensor, heads: number, dq: Tensor, dk: Tensor, dv: Tensor): void {
    this.health.check();
    this.ops.attentionBackward(dOut, q, k, v, probs, heads, dq, dk, dv);
  }
  embedTokens(patches: Tensor, cls: Tensor, pos: Tensor, out: Tensor): void {
    this.health.check();
    this.ops.embedTokens(patches, cls, pos, out);
  }
  embedTokensBackward(dOut: Tensor, dPatches: Tensor | null, dCls: Tensor | null, dPos: Tensor | null): void {
    this.health.check();
    this.ops.embedTokensBackward(dOut, dPatches, dCls, dPos);
  }
  poolTokens(x: Tensor, mode: PoolMode, out: Tensor): void {
    this.health.check();
    this.ops.poolTokens(x, mode, out);
  }
  poolTokensBackward(dOut: Tensor, mode: PoolMode, dx: Tensor): void {
    this.health.check();
    this.ops.poolTokensBackward(dOut, mode, dx);
  }
  softmaxCrossEntropy(logits: Tensor, labels: Tensor, loss: Tensor, dLogits: Tensor, correct: Tensor): void {
    this.health.check();
    this.ops.softmaxCrossEntropy(logits, labels, loss, dLogits, correct);
  }
  sumSquares(x: Tensor, out: Tensor, accumulate?: boolean): void {
    this.health.check();
    this.ops.sumSquares(x, out, accumulate);
  }
  clipFactor(sumSq: Tensor, maxNorm: number, factor: Tensor): void {
    this.health.check();
    this.ops.clipFactor(sumSq, maxNorm, factor);
  }
  adamw(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, gradScale: Tensor | null, hp: AdamWStep): void {
    this.health.check();
    this.ops.adamw(param, grad, m, v, gradScale, hp);
  }
  dropout(x: Tensor, p: number, seed: number, out: Tensor): void {
    this.health.check();
    this.ops.dropout(x, p, seed, out);
  }
  dropPath(x: Tensor, p: number, seed: number, out: Tensor): void {
    this.health.check();
    this.ops.dropPath(x, p, seed, out);
  }
  maskScale(x: Tensor, mask: Tensor, scale: number, out: Tensor): void {
    this.health.check();
    this.ops.maskScale(x, mask, scale, out);
  }

  // ---- helpers ----

  /** A tensor's buffer; `encodedWritesOnly` as in BufferPool.acquire (false for queue writes). */
  private allocate(shape: readonly number[], dtype: DType, encodedWritesOnly: boolean): { tensor: GpuTensor; fresh: boolean } {
    if (dtype !== 'f32' && dtype !== 'u32') throw new BackendError(`unknown dtype "${dtype}": use 'f32' or 'u32'`);
    if (!shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new BackendError(`shape [${shape.join(', ')}] must hold non-negative integers`);
    }
    const size = shape.reduce((a, b) => a * b, 1);
    if (size > this.maxElements) {
      throw new BackendError(`a tensor of shape [${shape.join(', ')}] has ${size} elements, more than this WebGPU device holds in one buffer (${this.maxElements}): use smaller layers`);
    }
    const { buffer, fresh } = this.pool.acquire(size * 4, { encodedWritesOnly });
    return { tensor: new GpuTensor([...shape], dtype, buffer, this), fresh };
  }

  private tensor(t: Tensor, op: string, allowFreed = false): GpuTensor {
    if (!(t instanceof GpuTensor) || t.owner !== this) {
      throw new BackendError(`${op}: the tensor was not created by this WebGPU backend`);
    }
    if (!t.buffer && !allowFreed) throw new BackendError(`${op}: the tensor of shape [${t.shape.join(', ')}] was already freed`);
    return t;
  }

  private expectSize(op: string, name: string, t: Tensor, size: number): void {
    const g = this.tensor(t, op);
    if (g.size !== size) throw new BackendError(`${op}: ${name} has shape [${g.shape.join(', ')}] (${g.size} elements), expected ${size} elements`);
  }

  /** A tensor seen as a matrix: [rows, last dimension]. */
  private matrix(op: string, name: string, t: Tensor): [number, number] {
    const g = this.tensor(t, `${op} (${name})`);
    if (g.shape.length === 0) return [1, 1];
    return [g.shape.slice(0, -1).reduce((x, y) => x * y, 1), g.shape[g.shape.length - 1]];
  }

  private scalars(op: string, named: Record<string, Tensor>): void {
    for (const [name, t] of Object.entries(named)) {
      const g = this.tensor(t, `${op} (${name})`);
      if (g.size !== 1 || g.dtype !== 'f32') throw new BackendError(`${op}: ${name} must be a 1-element f32 tensor, got ${g.dtype} [${g.shape.join(', ')}]`);
    }
  }

  private mergeShapes(op: string, A: Tensor, B: Tensor, kernel: MergeKernel, coeff: readonly number[]) {
    const a = this.tensor(A, op);
    const b = this.tensor(B, op);
    if (kernel !== 'distance' && kernel !== 'linear') throw new BackendError(`${op}: unknown kernel "${kernel}": use 'distance' or 'linear'`);
    if (a.shape.length !== 3 || b.shape.length !== 3 || a.shape[0] !== b.shape[0] || a.shape[2] !== b.shape[2]) {
      throw new BackendError(`${op}: A [${a.shape.join(', ')}] and B [${b.shape.join(', ')}] must be [H, n, k] and [H, m, k]`);
    }
    const [H, n, k] = a.shape;
    if (kernel === 'distance' && coeff.length !== H) throw new BackendError(`${op}: coeff has ${coeff.length} values, one per head (H = ${H}) expected`);
    return { H, n, m: b.shape[1], k };
  }

  /** The coefficients as a small storage buffer, cached by value (H numbers; linear uses none). */
  private coeffBuffer(coeff: readonly number[]): GPUBufferBinding {
    const values = coeff.length > 0 ? Float32Array.from(coeff) : new Float32Array(1);
    const key = Array.from(values).join(',');
    let buffer = this.coeffBuffers.get(key);
    if (!buffer) {
      if (this.coeffBuffers.size >= 64) {
        // Rarely more than a few distinct sets exist; drop the oldest once its queued uses are submitted.
        const [oldKey, old] = this.coeffBuffers.entries().next().value!;
        this.coeffBuffers.delete(oldKey);
        this.commands.onSubmitted(() => old.destroy());
      }
      buffer = this.device.createBuffer({ size: values.byteLength, usage: USAGE.STORAGE | USAGE.COPY_DST, label: 'snell-js coeff' });
      this.device.queue.writeBuffer(buffer, 0, values);
      this.coeffBuffers.set(key, buffer);
    }
    return { buffer };
  }

  private run(spec: KernelSpec, constants: Constants, params: readonly number[], buffers: ReadonlyArray<Tensor | GPUBufferBinding>, workgroups: number): void {
    const resources = buffers.map((t) => {
      if ('buffer' in t && !(t instanceof GpuTensor)) return t;
      const g = this.tensor(t as Tensor, spec.entry);
      return { buffer: g.buffer!, offset: 0, size: g.bytes };
    });
    this.commands.dispatch(this.pipelines.get(spec, constants), params, resources, workgroups);
  }
}

function source(data: Float32Array | Uint32Array): GPUAllowSharedBufferSource {
  return data as unknown as GPUAllowSharedBufferSource;
}

function checkData(data: Float32Array | Uint32Array, dtype: DType, op: string): void {
  const ok = dtype === 'u32' ? data instanceof Uint32Array : data instanceof Float32Array;
  if (!ok) throw new BackendError(`${op}: a ${dtype} tensor takes a ${dtype === 'u32' ? 'Uint32Array' : 'Float32Array'}, got ${data.constructor.name}`);
}
