// The WebGPU backend: the contract of src/backend.ts (checked in src/contract) executed by
// WebGpuExecutor (executor.ts) on the WGSL kernels of wgsl/.

import type { Backend } from '../backend.js';
import { CheckedBackend } from '../contract/checked.js';
import type { DeviceOptions } from './device.js';
import { WebGpuExecutor } from './executor.js';
import type { MatmulPlan } from './matmul.js';
import type { PoolStats } from './pool.js';
import type { KernelTime } from './profiler.js';

export interface WebGpuOptions extends DeviceOptions {
  /** Run every matmul with this variant (a name from MATMUL_VARIANTS) instead of the adapter's plan. */
  matmulVariant?: string;
  /** Time every kernel on the GPU (timestamp queries; each dispatch in a pass of its own): see profile(). */
  profile?: boolean;
}

/** Creates a WebGPU backend on the best adapter of `gpu` (navigator.gpu, or Dawn's GPU in Node). */
export async function createWebGpuBackend(gpu: GPU, options: WebGpuOptions = {}): Promise<Backend> {
  return new WebGpuBackend(await WebGpuExecutor.create(gpu, options));
}

/** The checked WebGPU backend, plus what only it has: its device, matmul plan, statistics and profile. */
export class WebGpuBackend extends CheckedBackend<WebGpuExecutor> {
  get device(): GPUDevice {
    return this.executor.device;
  }

  /** The adapter's features, as read before the device was requested. */
  get features(): readonly string[] {
    return this.executor.features;
  }

  /** Which matmul variant each size class runs (matmul.ts), chosen once per adapter or forced. */
  get matmulPlan(): MatmulPlan {
    return this.executor.matmulPlan;
  }

  /** Buffer pool statistics (bytes in use, pooled, waiting for submit). */
  stats(): PoolStats & { pipelines: number; submissions: number } {
    return this.executor.stats();
  }

  /**
   * GPU milliseconds per kernel over everything submitted since the last reset, largest first (created
   * with `profile: true`; submits pending work first). `reset` starts a new count.
   */
  profile(options: { reset?: boolean } = {}): Promise<KernelTime[]> {
    return this.executor.profile(options);
  }
}
