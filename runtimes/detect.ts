// Which host we run in, and the one backend-selection rule every host shares:
//   prefer 'webgpu' → the WebGPU backend, or a BackendError that says why not and what to do;
//   prefer 'wasm'   → the Wasm backend (no GPU is ever looked for);
//   no preference   → WebGPU when a hardware adapter exists, else Wasm (also when the only adapter is a
//                     CPU rasterizer such as lavapipe or SwiftShader, which the Wasm kernels outrun), with
//                     the reason passed to onFallback (default: one console.warn line), never silently.
// The host files (node/backend.ts, deno/backend.ts, browser/backend.ts, edge/backend.ts) only say how to
// get a `GPU` object; this file decides.

import type { Backend, BackendKind } from '../src/backend.js';
import { BackendError } from '../src/backend.js';
import { createWasmBackend, type WasmBackendOptions } from '../src/wasm/backend.js';
import type { WasmSimd } from '../src/wasm/simd.js';
import type { ThreadHost } from '../src/wasm/threads.js';
import { createWebGpuBackend, type WebGpuOptions } from '../src/webgpu/backend.js';

export type RuntimeName = 'node' | 'deno' | 'bun' | 'browser';

export interface CreateBackendOptions {
  /** Force a backend; without it WebGPU is used when an adapter exists, else Wasm. */
  prefer?: BackendKind;
  /** Told why WebGPU was passed over when falling back to Wasm (default: one console.warn line). */
  onFallback?: (reason: string) => void;
  /** Passed to requestAdapter. */
  powerPreference?: GPUPowerPreference;
  /** WebGPU: run every matmul with this variant (src/webgpu/matmul.ts) instead of the adapter's tuned plan. */
  matmulVariant?: string;
  /** WebGPU: time every kernel with timestamp queries (backend.profile()); needs the 'timestamp-query' feature. */
  profile?: boolean;
  /** Threads of the Wasm backend, the calling one included (default: the runtime's core count). */
  threads?: number;
  /** The Wasm kernels compiled ahead, for hosts that compile none at run time (see WasmBackendOptions.module). */
  wasmModule?: WebAssembly.Module;
  /** Which build of the Wasm kernels: 'auto' (default: relaxed SIMD where the engine has it), 'relaxed' or 'plain'. */
  wasmSimd?: WasmSimd;
}

/** The backend constructors chooseBackend calls; replaceable in tests. */
export interface BackendFactories {
  webgpu: (gpu: GPU, options?: WebGpuOptions) => Promise<Backend>;
  wasm: (options: WasmBackendOptions) => Promise<Backend>;
}

const REAL: BackendFactories = { webgpu: createWebGpuBackend, wasm: createWasmBackend };

interface HostGlobals {
  Deno?: { version?: { deno?: string } };
  process?: { versions?: { node?: string; bun?: string } };
}

/** Deno, then Bun (both also have `process.versions.node`), then Node, else a browser, worker or edge runtime. */
export function detectRuntime(g: object = globalThis): RuntimeName {
  const host = g as HostGlobals;
  if (typeof host.Deno?.version?.deno === 'string') return 'deno';
  if (typeof host.process?.versions?.bun === 'string') return 'bun';
  if (typeof host.process?.versions?.node === 'string') return 'node';
  return 'browser';
}

/** Dawn (Node and Bun) without a usable driver. */
const DAWN_NO_ADAPTER_FIX =
  'Dawn needs a GPU driver: on Linux a Vulkan driver (install libvulkan1 and mesa-vulkan-drivers ≥ 24 for the ' +
  "lavapipe CPU driver, or your GPU vendor's driver), on macOS Metal, on Windows D3D12; " +
  "or use the Wasm backend (prefer: 'wasm', CLI: --backend wasm)";

/** What to do when a runtime has WebGPU but no adapter, by runtime. */
const NO_ADAPTER_FIX: Record<RuntimeName, string> = {
  node: DAWN_NO_ADAPTER_FIX,
  bun: DAWN_NO_ADAPTER_FIX,
  deno:
    "Deno's WebGPU needs a GPU driver: on Linux a Vulkan driver (libvulkan1 and mesa-vulkan-drivers ≥ 24 for the " +
    "lavapipe CPU driver, or your GPU vendor's driver), on macOS Metal, on Windows D3D12; " +
    "or use the Wasm backend (prefer: 'wasm', CLI: --backend wasm)",
  browser:
    'the browser has WebGPU but offered no adapter (GPU blocklisted or disabled): check chrome://gpu, enable ' +
    'hardware acceleration, or start Chromium with --enable-unsafe-webgpu (Linux also --enable-features=Vulkan); ' +
    "or use the Wasm backend (prefer: 'wasm')",
};

const NO_GPU_FIX: Record<RuntimeName, string> = {
  node: 'WebGPU in Node comes from the `webgpu` package (Dawn), an optional peer dependency: npm install webgpu',
  bun: 'WebGPU in Bun comes from the `webgpu` package (Dawn), an optional peer dependency: bun add webgpu',
  deno: "this Deno has no navigator.gpu: use Deno ≥ 2 (older ones need --unstable-webgpu), or the Wasm backend (prefer: 'wasm')",
  browser:
    'this page has no navigator.gpu: WebGPU needs a secure context (https:// or http://localhost) and a browser ' +
    'that ships it (Chrome/Edge ≥ 113, Safari ≥ 26, Firefox ≥ 141 on Windows; Chromium on Linux: ' +
    "--enable-unsafe-webgpu); or use the Wasm backend (prefer: 'wasm')",
};

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** The name of a CPU-emulated adapter (fallback adapter, llvmpipe/lavapipe, SwiftShader), or null. */
export function softwareAdapter(adapter: GPUAdapter): string | null {
  const info = (adapter as { info?: Partial<GPUAdapterInfo> & { isFallbackAdapter?: boolean } }).info ?? {};
  const text = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ');
  const match = /llvmpipe|lavapipe|swiftshader|software rasterizer/i.exec(text);
  if (match) return match[0].toLowerCase();
  return info.isFallbackAdapter || (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter ? 'fallback adapter' : null;
}

/**
 * Pick and create a backend. `getGpu` returns the host's GPU entry point, undefined when the host has
 * none, or throws (preferably a BackendError naming the cause and the fix) when it failed to load.
 */
export async function chooseBackend(
  getGpu: () => Promise<GPU | undefined>,
  options: CreateBackendOptions & { runtime?: RuntimeName; threadHost?: ThreadHost | null } = {},
  factories: BackendFactories = REAL,
): Promise<Backend> {
  const { prefer, powerPreference, matmulVariant, profile } = options;
  if (prefer !== undefined && prefer !== 'webgpu' && prefer !== 'wasm') {
    throw new BackendError(`unknown backend "${String(prefer)}": use 'webgpu' or 'wasm'`);
  }
  const wasm = () =>
    factories.wasm({
      threads: options.threads,
      host: options.threadHost ?? undefined,
      module: options.wasmModule,
      simd: options.wasmSimd,
    });
  if (prefer === 'wasm') return wasm();

  const runtime = options.runtime ?? detectRuntime();
  let gpu: GPU | undefined;
  let reason: string | undefined;
  try {
    gpu = await getGpu();
    if (!gpu) reason = `WebGPU is not available in ${runtime}: ${NO_GPU_FIX[runtime]}`;
  } catch (e) {
    reason = e instanceof BackendError ? e.message : `WebGPU failed to start in ${runtime}: ${message(e)}`;
  }

  if (gpu) {
    // Probe for an adapter first so "no adapter" reads the same on every host and names the fix.
    let adapter: GPUAdapter | null = null;
    try {
      adapter = await gpu.requestAdapter(powerPreference ? { powerPreference } : undefined);
    } catch (e) {
      reason = `requesting a WebGPU adapter failed in ${runtime}: ${message(e)}. Fix: ${NO_ADAPTER_FIX[runtime]}`;
    }
    if (adapter) {
      if (prefer === 'webgpu') return factories.webgpu(gpu, { powerPreference, matmulVariant, profile });
      const software = softwareAdapter(adapter);
      if (software) {
        reason = `the only WebGPU adapter in ${runtime} is a software rasterizer (${software}), slower than the Wasm backend on the same CPU; prefer 'webgpu' (CLI: --backend webgpu) uses it anyway`;
      } else {
        try {
          return await factories.webgpu(gpu, { powerPreference, matmulVariant, profile });
        } catch (e) {
          reason = `the WebGPU backend failed to start in ${runtime}: ${message(e)}`;
        }
      }
    } else {
      reason ??= `no WebGPU adapter in ${runtime} (requestAdapter returned null). Fix: ${NO_ADAPTER_FIX[runtime]}`;
    }
  }

  if (prefer === 'webgpu') throw new BackendError(`the webgpu backend was asked for, but ${reason}`);
  const onFallback = options.onFallback ?? ((r: string) => console.warn(`snell: using the wasm backend: ${r}`));
  onFallback(reason!);
  return wasm();
}
