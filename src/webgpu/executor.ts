// The WebGPU backend's primitives on WGSL kernels (wgsl/*.wgsl); the contract (src/contract) has
// checked every argument before a call gets here. Primitives are encoded into one command encoder
// and submitted on read() or flush(); tensors are pooled buffers whose release waits for the submit
// (pool.ts); pipelines are compiled once per (family, entry, constants) (pipelines.ts).

import { BackendError } from '../backend.js';
import type { AdamWStep, DType, MatmulOptions, MergeKernel, PoolMode, Tensor } from '../backend.js';
import type { Executor } from '../contract/checked.js';
import type { TensorState } from '../contract/checks.js';
import { matrixDims, sizeOf } from '../contract/shapes.js';
import type { WebGpuOptions } from './backend.js';
import { Commands } from './commands.js';
import { acquireDevice } from './device.js';
import { DeviceHealth } from './health.js';
import type { KernelHost } from './host.js';
import { KERNELS } from './kernels.js';
import { forcedPlan, type MatmulPlan, type MatmulVariant, planFor, variantFor } from './matmul.js';
import { PipelineCache, type Constants, type KernelSpec } from './pipelines.js';
import { GpuProfiler, type KernelTime } from './profiler.js';
import { BufferPool, GpuTensor, type PoolStats, USAGE } from './pool.js';
import { SnellOps } from './snell.js';
import { TransformerOps } from './transformer.js';

/** Dawn for Node crashes if its GPU object is garbage-collected under a live device: each backend holds it. */
const keepAlive = new WeakMap<WebGpuExecutor, readonly object[]>();

const gpu = (t: Tensor): GpuTensor => t as GpuTensor;

export class WebGpuExecutor implements Executor {
  readonly kind = 'webgpu' as const;
  readonly description: string;
  readonly maxElements: number;
  /** The adapter's features, as read before the device was requested. */
  readonly features: readonly string[];
  private readonly health: DeviceHealth;
  private readonly pool: BufferPool;
  private readonly pipelines: PipelineCache;
  private readonly commands: Commands;
  private readonly valueBuffers = new Map<string, GPUBuffer>();
  /** select.wgsl's scratch (state words, histogram bins), reused by every quantileAbs. */
  private readonly select: { state: GPUBuffer; hist: GPUBuffer };
  /** The SNELL kernels (snell.ts) and the transformer primitives (transformer.ts). */
  private readonly snell: SnellOps;
  private readonly ops: TransformerOps;
  private plan!: MatmulPlan;

  static async create(gpu: GPU, options: WebGpuOptions = {}): Promise<WebGpuExecutor> {
    const { device, owners, description, features, limits } = await acquireDevice(gpu, { ...options, timestamps: options.profile });
    const backend = new WebGpuExecutor(device, owners, description, features, limits, options.profile ? new GpuProfiler(device) : null);
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
    this.select = { state: scratch(8, 'snell-js select state'), hist: scratch(2048, 'snell-js select histogram') };
    const host: KernelHost = {
      run: (spec, constants, params, buffers, workgroups) => this.run(spec, constants, params, buffers, workgroups),
      scratch: (bytes) => this.pool.acquire(bytes, { encodedWritesOnly: true }).buffer,
      release: (buffer) => this.pool.release(buffer),
      encoder: () => this.commands.commands(),
      values: (values) => this.valuesBuffer(values),
    };
    this.snell = new SnellOps(host, this.select);
    this.ops = new TransformerOps(host);
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

  ensureUsable(): void {
    this.health.check();
  }

  get lost(): boolean {
    return this.health.isLost;
  }

  holds(t: Tensor): TensorState {
    if (!(t instanceof GpuTensor) || t.owner !== this) return 'foreign';
    return t.buffer ? 'live' : 'freed';
  }

  // ---- tensors ----

  upload(data: Float32Array | Uint32Array, shape: readonly number[], dtype: DType = 'f32'): Tensor {
    const { tensor } = this.allocate(shape, dtype, false);
    if (tensor.size > 0) this.device.queue.writeBuffer(tensor.buffer!, 0, source(data)); // a new or pooled buffer: no queued work uses it
    return tensor;
  }

  zeros(shape: readonly number[], dtype: DType = 'f32'): Tensor {
    const { tensor, fresh } = this.allocate(shape, dtype, true);
    if (!fresh) this.commands.commands().clearBuffer(tensor.buffer!); // in order after its earlier uses; new buffers are zero-filled already
    return tensor;
  }

  write(t: Tensor, data: Float32Array | Uint32Array): void {
    const g = gpu(t);
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
    const g = gpu(t);
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
    const g = gpu(t);
    if (!g.buffer) return; // freed already: reached only on a lost device, where the contract lets free() through unchecked
    this.pool.release(g.buffer);
    g.buffer = null;
  }

  async flush(): Promise<void> {
    this.commands.submit();
    await this.device.queue.onSubmittedWorkDone();
    this.health.check();
  }

  destroy(): void {
    if (this.health.isDestroyed) return;
    this.health.markDestroyed();
    this.commands.destroy();
    this.pool.destroyAll();
    for (const b of this.valueBuffers.values()) b.destroy();
    this.valueBuffers.clear();
    this.select.state.destroy();
    this.select.hist.destroy();
    this.device.destroy();
  }

  /** Buffer pool statistics (bytes in use, pooled, waiting for submit). */
  stats(): PoolStats & { pipelines: number; submissions: number } {
    return { ...this.pool.stats(), pipelines: this.pipelines.size, submissions: this.commands.submissions };
  }

  // ---- SNELL kernels (snell.ts) ----

  merge(A: Tensor, B: Tensor, kernel: MergeKernel, coeff: readonly number[], W: Tensor): void { this.snell.merge(A, B, kernel, coeff, W); }
  mergeBackward(A: Tensor, B: Tensor, dW: Tensor, kernel: MergeKernel, coeff: readonly number[], dA: Tensor, dB: Tensor): void {
    this.snell.mergeBackward(A, B, dW, kernel, coeff, dA, dB);
  }
  mixture(W0: Tensor, alpha: Tensor, gamma: Tensor, beta: Tensor, W: Tensor, P: Tensor): void { this.snell.mixture(W0, alpha, gamma, beta, W, P); }
  mixtureBackward(dW: Tensor, W0: Tensor, P: Tensor, alpha: Tensor, gamma: Tensor, dW0: Tensor, dAlpha: Tensor, dGamma: Tensor, dBeta: Tensor): void {
    this.snell.mixtureBackward(dW, W0, P, alpha, gamma, dW0, dAlpha, dGamma, dBeta);
  }
  quantileAbs(W: Tensor, s: number, threshold: Tensor): void { this.snell.quantileAbs(W, s, threshold); }
  sparsify(W: Tensor, threshold: Tensor, Ws: Tensor, kept: Tensor): void { this.snell.sparsify(W, threshold, Ws, kept); }
  sparsifyBackward(G: Tensor, W: Tensor, threshold: Tensor, dW: Tensor): void { this.snell.sparsifyBackward(G, W, threshold, dW); }

  // ---- matmul ----

  matmul(a: Tensor, b: Tensor, out: Tensor, options: MatmulOptions = {}): void {
    const { transA = false, transB = false, accumulate = false } = options;
    const [ar, ac] = matrixDims(a);
    const [br, bc] = matrixDims(b);
    const [M, K] = transA ? [ac, ar] : [ar, ac];
    const N = transB ? br : bc;
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
      const g = gpu(t);
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

  add(a: Tensor, b: Tensor, out: Tensor): void { this.ops.add(a, b, out); }
  addInto(out: Tensor, a: Tensor): void { this.ops.addInto(out, a); }
  addBias(out: Tensor, bias: Tensor): void { this.ops.addBias(out, bias); }
  sumRows(x: Tensor, out: Tensor, accumulate?: boolean): void { this.ops.sumRows(x, out, accumulate); }
  copy(src: Tensor, out: Tensor): void { this.ops.copy(src, out); }
  layerNorm(x: Tensor, w: Tensor, b: Tensor, eps: number, out: Tensor, mean: Tensor, rstd: Tensor): void {
    this.ops.layerNorm(x, w, b, eps, out, mean, rstd);
  }
  layerNormBackward(dy: Tensor, x: Tensor, w: Tensor, mean: Tensor, rstd: Tensor, dx: Tensor, dw: Tensor | null, db: Tensor | null): void {
    this.ops.layerNormBackward(dy, x, w, mean, rstd, dx, dw, db);
  }
  gelu(x: Tensor, out: Tensor): void { this.ops.gelu(x, out); }
  geluBackward(dy: Tensor, x: Tensor, dx: Tensor): void { this.ops.geluBackward(dy, x, dx); }
  attention(q: Tensor, k: Tensor, v: Tensor, heads: number, out: Tensor, probs: Tensor): void { this.ops.attention(q, k, v, heads, out, probs); }
  attentionBackward(dOut: Tensor, q: Tensor, k: Tensor, v: Tensor, probs: Tensor, heads: number, dq: Tensor, dk: Tensor, dv: Tensor): void {
    this.ops.attentionBackward(dOut, q, k, v, probs, heads, dq, dk, dv);
  }
  embedTokens(patches: Tensor, cls: Tensor, pos: Tensor, out: Tensor): void { this.ops.embedTokens(patches, cls, pos, out); }
  embedTokensBackward(dOut: Tensor, dPatches: Tensor | null, dCls: Tensor | null, dPos: Tensor | null): void {
    this.ops.embedTokensBackward(dOut, dPatches, dCls, dPos);
  }
  poolTokens(x: Tensor, mode: PoolMode, out: Tensor): void { this.ops.poolTokens(x, mode, out); }
  poolTokensBackward(dOut: Tensor, mode: PoolMode, dx: Tensor): void { this.ops.poolTokensBackward(dOut, mode, dx); }
  softmaxCrossEntropy(logits: Tensor, labels: Tensor, loss: Tensor, dLogits: Tensor, correct: Tensor): void {
    this.ops.softmaxCrossEntropy(logits, labels, loss, dLogits, correct);
  }
  sumSquares(x: Tensor, out: Tensor, accumulate?: boolean): void { this.ops.sumSquares(x, out, accumulate); }
  clipFactor(sumSq: Tensor, maxNorm: number, factor: Tensor): void { this.ops.clipFactor(sumSq, maxNorm, factor); }
  adamw(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, gradScale: Tensor | null, hp: AdamWStep): void {
    this.ops.adamw(param, grad, m, v, gradScale, hp);
  }
  dropout(x: Tensor, p: number, seed: number, out: Tensor): void { this.ops.dropout(x, p, seed, out); }
  dropPath(x: Tensor, p: number, seed: number, out: Tensor): void { this.ops.dropPath(x, p, seed, out); }
  maskScale(x: Tensor, mask: Tensor, scale: number, out: Tensor): void { this.ops.maskScale(x, mask, scale, out); }

  // ---- helpers ----

  /** A tensor's buffer; `encodedWritesOnly` as in BufferPool.acquire (false for queue writes). */
  private allocate(shape: readonly number[], dtype: DType, encodedWritesOnly: boolean): { tensor: GpuTensor; fresh: boolean } {
    const size = sizeOf(shape);
    if (size > this.maxElements) {
      throw new BackendError(`a tensor of shape [${shape.join(', ')}] has ${size} elements, more than this WebGPU device holds in one buffer (${this.maxElements}): use smaller layers`);
    }
    const { buffer, fresh } = this.pool.acquire(size * 4, { encodedWritesOnly });
    return { tensor: new GpuTensor([...shape], dtype, buffer, this), fresh };
  }

  /** KernelHost.values: a small storage buffer per distinct set of values. */
  private valuesBuffer(numbers: readonly number[]): GPUBufferBinding {
    const values = numbers.length > 0 ? Float32Array.from(numbers) : new Float32Array(1);
    const key = Array.from(values).join(',');
    let buffer = this.valueBuffers.get(key);
    if (!buffer) {
      if (this.valueBuffers.size >= 64) {
        // Rarely more than a few distinct sets exist; drop the oldest once its queued uses are submitted.
        const [oldKey, old] = this.valueBuffers.entries().next().value!;
        this.valueBuffers.delete(oldKey);
        this.commands.onSubmitted(() => old.destroy());
      }
      buffer = this.device.createBuffer({ size: values.byteLength, usage: USAGE.STORAGE | USAGE.COPY_DST, label: 'snell-js values' });
      this.device.queue.writeBuffer(buffer, 0, values);
      this.valueBuffers.set(key, buffer);
    }
    return { buffer };
  }

  private run(spec: KernelSpec, constants: Constants, params: readonly number[], buffers: ReadonlyArray<Tensor | GPUBufferBinding>, workgroups: number): void {
    const resources = buffers.map((t) => {
      if ('buffer' in t && !(t instanceof GpuTensor)) return t;
      const g = gpu(t as Tensor);
      return { buffer: g.buffer!, offset: 0, size: g.bytes };
    });
    this.commands.dispatch(this.pipelines.get(spec, constants), params, resources, workgroups);
  }
}

function source(data: Float32Array | Uint32Array): GPUAllowSharedBufferSource {
  return data as unknown as GPUAllowSharedBufferSource;
}
