// The command stream: every primitive is encoded into one command encoder, submitted on read() or
// flush() and after every SUBMIT_EVERY dispatches, so that the GPU works while the rest of a step is
// being encoded (the queue keeps the order). Each dispatch gets its own 256-byte slot of uniform
// parameters; the slots are written with one writeBuffer per chunk just before submit, which the
// queue orders before the submitted commands and after every earlier submission.

import { BackendError } from '../backend.js';
import type { CachedPipeline } from './pipelines.js';
import type { BufferPool } from './pool.js';
import type { GpuProfiler } from './profiler.js';
import { USAGE } from './pool.js';

const SLOT_BYTES = 256; // minUniformBufferOffsetAlignment is at most 256
const SLOTS_PER_CHUNK = 256;
/** Dispatches after which the encoder is submitted anyway, so the GPU starts while the rest is encoded. */
const SUBMIT_EVERY = 256;

class UniformRing {
  private readonly chunks: Array<{ buffer: GPUBuffer; data: Uint32Array<ArrayBuffer> }> = [];
  private used = 0;

  constructor(private readonly device: GPUDevice) {}

  /** A uniform binding holding `params` (u32 words; f32 values as their bits, see f32bits). */
  alloc(params: readonly number[]): GPUBufferBinding {
    if (params.length > SLOT_BYTES / 4) throw new BackendError(`internal: ${params.length} uniform words exceed one slot`);
    const slot = this.used++;
    const c = Math.floor(slot / SLOTS_PER_CHUNK);
    if (c === this.chunks.length) {
      this.chunks.push({
        buffer: this.device.createBuffer({
          size: SLOT_BYTES * SLOTS_PER_CHUNK,
          usage: USAGE.UNIFORM | USAGE.COPY_DST,
          label: 'snell-js uniforms',
        }),
        data: new Uint32Array((SLOT_BYTES * SLOTS_PER_CHUNK) / 4),
      });
    }
    const { buffer, data } = this.chunks[c];
    const offset = (slot % SLOTS_PER_CHUNK) * SLOT_BYTES;
    data.fill(0, offset / 4, (offset + SLOT_BYTES) / 4);
    params.forEach((v, i) => (data[offset / 4 + i] = v >>> 0));
    return { buffer, offset, size: SLOT_BYTES };
  }

  /** Uploads the slots used since the last submit; call right before submitting. */
  upload(queue: GPUQueue): void {
    for (let c = 0; c * SLOTS_PER_CHUNK < this.used; c++) {
      const slots = Math.min(SLOTS_PER_CHUNK, this.used - c * SLOTS_PER_CHUNK);
      queue.writeBuffer(this.chunks[c].buffer, 0, this.chunks[c].data, 0, (slots * SLOT_BYTES) / 4);
    }
    this.used = 0;
  }

  destroy(): void {
    for (const c of this.chunks) c.buffer.destroy();
    this.chunks.length = 0;
  }
}

export class Commands {
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private readonly uniforms: UniformRing;
  private readonly afterSubmit: Array<() => void> = [];
  /** Submissions so far (for tests and statistics). */
  submissions = 0;
  private dispatches = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly pool: BufferPool,
    private readonly maxPerDimension: number,
    /** When set, each dispatch gets a pass of its own with timestamps (profiler.ts). */
    private readonly profiler: GpuProfiler | null = null,
  ) {
    this.uniforms = new UniformRing(device);
  }

  /** True when commands are waiting to be submitted. */
  get dirty(): boolean {
    return this.encoder !== null;
  }

  /** Encodes one dispatch of `workgroups` workgroups (laid out on a 2-D grid when above the per-dimension limit). */
  dispatch(p: CachedPipeline, params: readonly number[], storage: readonly GPUBindingResource[], workgroups: number): void {
    if (workgroups === 0) return;
    const [x, y] = grid(workgroups, this.maxPerDimension, p.key);
    const bindGroup = this.device.createBindGroup({
      layout: p.layout,
      entries: [
        { binding: 0, resource: this.uniforms.alloc(params) },
        ...storage.map((resource, i) => ({ binding: p.storage[i], resource })),
      ],
    });
    if (this.profiler) {
      this.commands();
      this.pass = this.commandEncoder().beginComputePass({ timestampWrites: this.profiler.passTimestamps(p.key) });
    }
    if (!this.pass) this.pass = this.commandEncoder().beginComputePass();
    this.pass.setPipeline(p.pipeline);
    this.pass.setBindGroup(0, bindGroup);
    this.pass.dispatchWorkgroups(x, y);
    if (++this.dispatches === SUBMIT_EVERY) this.submit();
  }

  /** The encoder, outside any compute pass, for copies and clears. */
  commands(): GPUCommandEncoder {
    this.pass?.end();
    this.pass = null;
    return this.commandEncoder();
  }

  /** Runs `fn` once the commands encoded so far have been submitted (e.g. to destroy a staging buffer). */
  onSubmitted(fn: () => void): void {
    this.afterSubmit.push(fn);
  }

  /** Submits everything encoded so far (nothing when there is nothing to submit). */
  submit(): void {
    if (!this.encoder) return;
    const encoder = this.commands();
    this.encoder = null;
    this.profiler?.resolve(encoder);
    this.uniforms.upload(this.device.queue);
    this.device.queue.submit([encoder.finish()]);
    this.profiler?.submitted();
    this.submissions++;
    this.dispatches = 0;
    this.pool.afterSubmit();
    for (const fn of this.afterSubmit.splice(0)) fn();
  }

  destroy(): void {
    this.pass = null;
    this.encoder = null;
    this.uniforms.destroy();
  }

  private commandEncoder(): GPUCommandEncoder {
    this.encoder ??= this.device.createCommandEncoder({ label: 'snell-js step' });
    return this.encoder;
  }
}

/** A 2-D grid with at least `workgroups` workgroups; kernels compute wid.y·nwg.x + wid.x and bounds-check. */
export function grid(workgroups: number, maxPerDimension: number, what: string): [number, number] {
  const x = Math.min(workgroups, maxPerDimension);
  const y = Math.ceil(workgroups / x);
  if (y > maxPerDimension) {
    throw new BackendError(
      `${what} needs ${workgroups} workgroups, more than this device dispatches (${maxPerDimension}²): use smaller tensors`,
    );
  }
  return [x, y];
}

/** The bits of a float32, for f32 fields of a uniform struct. */
export function f32bits(v: number): number {
  return new Uint32Array(new Float32Array([v]).buffer)[0];
}
