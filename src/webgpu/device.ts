// Device acquisition: one adapter, its description and features, and a device created with the
// adapter's real limits (the WebGPU defaults cap storage buffers at 128 MiB and workgroup memory at
// 16 KiB, far below what most adapters offer).

import { BackendError } from '../backend.js';

/** The adapter limits requested for the device, each at the adapter's own maximum. */
const LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
  'maxUniformBufferBindingSize',
] as const;

export interface AcquiredDevice {
  device: GPUDevice;
  /** The GPU and adapter objects, to be held as long as the device lives. */
  owners: readonly object[];
  /** "vendor architecture device (description)", from the adapter's info. */
  description: string;
  /** The adapter's features, read before the device was requested. */
  features: readonly string[];
  limits: Record<(typeof LIMITS)[number], number>;
}

export interface DeviceOptions {
  powerPreference?: GPUPowerPreference;
  /** Ask for the 'timestamp-query' feature (profiling); an error names the adapter when it lacks it. */
  timestamps?: boolean;
}

export async function acquireDevice(gpu: GPU, options: DeviceOptions = {}): Promise<AcquiredDevice> {
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference });
  } catch (e) {
    throw new BackendError(`WebGPU requestAdapter failed: ${(e as Error).message}. Use the Wasm backend instead`);
  }
  if (!adapter) {
    throw new BackendError(
      'no WebGPU adapter is available (requestAdapter returned null): install a GPU driver (or Mesa lavapipe for ' +
        'a CPU Vulkan device), enable WebGPU in the browser, or use the Wasm backend',
    );
  }
  const description = describeAdapter(adapter.info);
  const features = [...adapter.features].sort();
  const limits = Object.fromEntries(LIMITS.map((name) => [name, adapter.limits[name]])) as AcquiredDevice['limits'];
  if (options.timestamps && !features.includes('timestamp-query')) {
    throw new BackendError(
      `the WebGPU adapter ${description} has no 'timestamp-query' feature, so it cannot be profiled: leave profiling off`,
    );
  }
  const requiredFeatures: GPUFeatureName[] = options.timestamps ? ['timestamp-query'] : [];
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ label: 'snell-js', requiredLimits: limits, requiredFeatures });
  } catch (e) {
    throw new BackendError(`the WebGPU adapter ${description} refused a device with its own limits: ${(e as Error).message}`);
  }
  return { device, owners: [gpu, adapter], description, features, limits };
}

function describeAdapter(info: GPUAdapterInfo): string {
  const parts = [info.vendor, info.architecture, info.device].filter((s) => s && s.trim() !== '');
  const head = parts.length > 0 ? parts.join(' ') : 'unknown adapter';
  return info.description && info.description.trim() !== '' ? `WebGPU ${head} (${info.description.trim()})` : `WebGPU ${head}`;
}
