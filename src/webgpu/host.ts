// What the WebGPU primitive groups (snell.ts, transformer.ts) need from the runtime that owns the
// device (runtime.ts): dispatches into its one command encoder, pooled scratch, and small constant buffers.

import type { Tensor } from '../backend.js';
import type { Constants, KernelSpec } from './pipelines.js';

export interface KernelHost {
  run(
    spec: KernelSpec,
    constants: Constants,
    params: readonly number[],
    buffers: ReadonlyArray<Tensor | GPUBufferBinding>,
    workgroups: number,
  ): void;
  /** A pooled scratch buffer of at least `bytes`; hand it back with release() once encoded. */
  scratch(bytes: number): GPUBuffer;
  release(buffer: GPUBuffer): void;
  /** The command encoder outside any compute pass (copies, clears). */
  encoder(): GPUCommandEncoder;
  /** A storage buffer holding `values` as f32 (one 0 when empty), cached by value: merge coefficients, a constant 1. */
  values(values: readonly number[]): GPUBufferBinding;
}
