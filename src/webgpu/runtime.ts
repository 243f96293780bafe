// The WebGPU backend's runtime: the device and its health, the buffer pool (pool.ts), the one
// command encoder (commands.ts) and the pipeline cache (pipelines.ts); the tensor lifetime (upload,
// zeros, write, read, free, flush, destroy, the lost state) and the dispatch the primitives go
// through (KernelHost). Work is encoded into the one encoder and submitted on read() or flush();
// a tensor's buffer goes back to the pool once the work using it is submitted.

import { BackendError } from '../backend.js';
import type { DType, Tensor } from '../backend.js';
import type { TensorState } from '../contract/checks.js';
import { sizeOf } from '../contract/shapes.js';
import { Commands } from './commands.js';
import { DeviceHealth } from './health.js';
import type { KernelHost } from './host.js';
import { PipelineCache, type Constants, type KernelSpec } from './pipelines.js';
import type { GpuProfiler } from './profiler.js';
import { BufferPool, GpuTensor, type PoolStats, USAGE } from './pool.js';

/** Dawn for Node crashes if its GPU object is garbage-collected under a live device: each backend holds it. */
const keepAlive = new WeakMap<GpuRuntime, readonly object[]>();

export const gpu = (t: Tensor): GpuTensor => t as GpuTensor;

/** The device, its buffers and its queue; WebGpuExecutor adds the primitives. */
export abstract class GpuRuntime {
  readonly kind = 'webgpu' as const;
  readonly description: string;
  readonly maxElements: number;
  /** The adapter's features, as read before the device was requested. */
  readonly features: readonly string[];
  private readonly health: DeviceHealth;
  private readonly pool: BufferPool;
  private readonly pipelines: PipelineCache;
  protected readonly commands: Commands;
  private readonly valueBuffers = new Map<string, GPUBuffer>();
  /** Buffers made by storageBuffer(), destroyed with the device. */
  private readonly ownBuffers: GPUBuffer[] = [];
  /** What the primitive groups (snell.ts, transformer.ts) dispatch through. */
  protected readonly host: KernelHost;

  protected constructor(
    readonly device: GPUDevice,
    owners: readonly object[],
    description: string,
    features: readonly string[],
    limits: { maxStorageBufferBindingSize: number; maxBufferSize: number; maxComputeWorkgroupsPerDimension: number },
    profiler: GpuProfiler | null,
  ) {
    keepAlive.set(this, owners);
    this.description = description;
    this.features = features;
    this.maxElements = Math.floor(Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize) / 4);
    this.health = new DeviceHealth(device);
    this.pool = new BufferPool(device);
    this.pipelines = new PipelineCache(device);
    this.commands = new Commands(device, this.pool, limits.maxComputeWorkgroupsPerDimension, profiler);
    this.host = {
      run: (spec, constants, params, buffers, workgroups) => this.run(spec, constants, params, buffers, workgroups),
      scratch: (bytes) => this.pool.acquire(bytes, { encodedWritesOnly: true }).buffer,
      release: (buffer) => this.pool.release(buffer),
      encoder: () => this.commands.commands(),
      values: (values) => this.valuesBuffer(values),
    };
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
    const staging = this.device.createBuffer({
      size: g.size * 4,
      usage: USAGE.COPY_SRC,
      mappedAtCreation: true,
      label: 'snell-js write',
    });
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
    for (const b of this.ownBuffers) b.destroy();
    this.device.destroy();
  }

  /** Buffer pool statistics (bytes in use, pooled, waiting for submit). */
  stats(): PoolStats & { pipelines: number; submissions: number } {
    return { ...this.pool.stats(), pipelines: this.pipelines.size, submissions: this.commands.submissions };
  }

  // ---- buffers and dispatch ----

  /** A storage buffer of `words` 32-bit words that lives as long as the device. */
  protected storageBuffer(words: number, label: string): GPUBuffer {
    const buffer = this.device.createBuffer({ size: words * 4, usage: USAGE.STORAGE | USAGE.COPY_DST, label });
    this.ownBuffers.push(buffer);
    return buffer;
  }

  /** A tensor's buffer; `encodedWritesOnly` as in BufferPool.acquire (false for queue writes). */
  private allocate(shape: readonly number[], dtype: DType, encodedWritesOnly: boolean): { tensor: GpuTensor; fresh: boolean } {
    const size = sizeOf(shape);
    if (size > this.maxElements) {
      throw new BackendError(
        `a tensor of shape [${shape.join(', ')}] has ${size} elements, more than this WebGPU device holds in one buffer (${this.maxElements}): use smaller layers`,
      );
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
      buffer = this.device.createBuffer({
        size: values.byteLength,
        usage: USAGE.STORAGE | USAGE.COPY_DST,
        label: 'snell-js values',
      });
      this.device.queue.writeBuffer(buffer, 0, values);
      this.valueBuffers.set(key, buffer);
    }
    return { buffer };
  }

  protected run(
    spec: KernelSpec,
    constants: Constants,
    params: readonly number[],
    buffers: ReadonlyArray<Tensor | GPUBufferBinding>,
    workgroups: number,
  ): void {
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
