// Runtime detection and the shared backend-selection rule (runtimes/detect.ts), with fake GPU providers
// and fake backend factories: no device needed.

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Backend, BackendKind } from '../src/backend.js';
import { BackendError } from '../src/backend.js';
import { type BackendFactories, chooseBackend, detectRuntime } from '../runtimes/detect.js';
import { createBackend as autoBackend } from '../runtimes/auto.js';
import { createBackend as nodeBackend, nodeGpu } from '../runtimes/node/backend.js';

const fakeBackend = (kind: BackendKind) => ({ kind, description: `fake ${kind}`, destroy() {} }) as unknown as Backend;

/** Factories that record their calls; `webgpuFails` makes the WebGPU one throw. */
function factories(webgpuFails?: Error) {
  const calls = { webgpu: [] as GPU[], wasm: 0 };
  const f: BackendFactories = {
    webgpu: async (gpu) => {
      calls.webgpu.push(gpu);
      if (webgpuFails) throw webgpuFails;
      return fakeBackend('webgpu');
    },
    wasm: async () => {
      calls.wasm++;
      return fakeBackend('wasm');
    },
  };
  return { f, calls };
}

/** A GPU whose requestAdapter answers `adapter` (null: no adapter). */
const fakeGpu = (adapter: object | null) => ({ requestAdapter: async () => adapter }) as unknown as GPU;
const withAdapter = fakeGpu({ info: {} });
const noAdapter = fakeGpu(null);

describe('detectRuntime', () => {
  it('is node under vitest', () => {
    expect(detectRuntime()).toBe('node');
  });
  it('checks Deno before Node (Deno 2 also has process.versions.node)', () => {
    expect(detectRuntime({ Deno: { version: { deno: '2.9.6' } }, process: { versions: { node: '22.0.0' } } })).toBe('deno');
    expect(detectRuntime({ process: { versions: { node: '20.0.0' } } })).toBe('node');
  });
  it('tells Bun from Node (Bun also has process.versions.node)', () => {
    expect(detectRuntime({ process: { versions: { node: '24.3.0', bun: '1.4.5' } } })).toBe('bun');
  });
  it('is browser without Deno or Node (pages, workers, edge runtimes)', () => {
    expect(detectRuntime({})).toBe('browser');
    expect(detectRuntime({ navigator: {}, process: {} })).toBe('browser');
  });
});

describe('chooseBackend', () => {
  afterEach(() => vi.restoreAllMocks());

  it('passes over a software rasterizer for Wasm unless WebGPU is asked for', async () => {
    for (const info of [
      { vendor: 'mesa', architecture: 'llvmpipe' },
      { description: 'Google SwiftShader' },
      { isFallbackAdapter: true },
    ]) {
      const soft = fakeGpu({ info });
      const { f, calls } = factories();
      const onFallback = vi.fn();
      expect((await chooseBackend(async () => soft, { onFallback, runtime: 'node' }, f)).kind).toBe('wasm');
      expect(onFallback).toHaveBeenCalledWith(
        expect.stringMatching(/software rasterizer \((llvmpipe|swiftshader|fallback adapter)\), slower than the Wasm backend/),
      );
      expect((await chooseBackend(async () => soft, { prefer: 'webgpu', runtime: 'node' }, f)).kind).toBe('webgpu');
      expect(calls.wasm).toBe(1);
    }
  });

  it('uses WebGPU when an adapter exists', async () => {
    const { f, calls } = factories();
    const onFallback = vi.fn();
    const b = await chooseBackend(async () => withAdapter, { onFallback, runtime: 'node' }, f);
    expect(b.kind).toBe('webgpu');
    expect(calls.webgpu).toEqual([withAdapter]);
    expect(calls.wasm).toBe(0);
    expect(onFallback).not.toHaveBeenCalled();
  });

  it('falls back to wasm without an adapter and says why, with the fix', async () => {
    const { f, calls } = factories();
    const onFallback = vi.fn();
    const b = await chooseBackend(async () => noAdapter, { onFallback, runtime: 'node' }, f);
    expect(b.kind).toBe('wasm');
    expect(calls.webgpu).toEqual([]);
    expect(onFallback).toHaveBeenCalledTimes(1);
    const reason = onFallback.mock.calls[0][0] as string;
    expect(reason).toMatch(/no WebGPU adapter in node/);
    expect(reason).toMatch(/Vulkan/);
  });

  it('falls back to wasm without navigator.gpu and names secure contexts (browser)', async () => {
    const { f } = factories();
    const onFallback = vi.fn();
    const b = await chooseBackend(async () => undefined, { onFallback, runtime: 'browser' }, f);
    expect(b.kind).toBe('wasm');
    expect(onFallback.mock.calls[0][0]).toMatch(/navigator\.gpu.*secure context/);
  });

  it("passes on the loader's own BackendError as the reason (the webgpu package failed to load)", async () => {
    const { f } = factories();
    const onFallback = vi.fn();
    const loadError = new BackendError('the `webgpu` package (Dawn for Node) failed to load: nope. Fix: npm install webgpu');
    const b = await chooseBackend(
      async () => {
        throw loadError;
      },
      { onFallback, runtime: 'node' },
      f,
    );
    expect(b.kind).toBe('wasm');
    expect(onFallback).toHaveBeenCalledWith(loadError.message);
  });

  it('falls back when the WebGPU backend itself fails to start, and says so', async () => {
    const { f, calls } = factories(new Error('device creation failed'));
    const onFallback = vi.fn();
    const b = await chooseBackend(async () => withAdapter, { onFallback, runtime: 'deno' }, f);
    expect(b.kind).toBe('wasm');
    expect(calls.webgpu).toHaveLength(1);
    expect(onFallback.mock.calls[0][0]).toMatch(/WebGPU backend failed to start in deno: device creation failed/);
  });

  it('warns on the console by default when falling back (one line)', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const { f } = factories();
    await chooseBackend(async () => noAdapter, { runtime: 'node' }, f);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0][0]).toMatch(/^snell: using the wasm backend: no WebGPU adapter/);
  });

  it('prefer webgpu without an adapter is a BackendError naming the cause and the fix', async () => {
    const { f, calls } = factories();
    const onFallback = vi.fn();
    const p = chooseBackend(async () => noAdapter, { prefer: 'webgpu', onFallback, runtime: 'node' }, f);
    await expect(p).rejects.toBeInstanceOf(BackendError);
    await expect(p).rejects.toThrow(/webgpu backend was asked for, but no WebGPU adapter in node.*Fix:/);
    expect(calls.wasm).toBe(0);
    expect(onFallback).not.toHaveBeenCalled();
  });

  it('prefer webgpu without navigator.gpu is a BackendError', async () => {
    const { f } = factories();
    await expect(chooseBackend(async () => undefined, { prefer: 'webgpu', runtime: 'deno' }, f)).rejects.toThrow(
      /asked for, but WebGPU is not available in deno/,
    );
  });

  it("prefer webgpu passes on the backend's own error", async () => {
    const { f } = factories(new BackendError('adapter limits too small'));
    await expect(chooseBackend(async () => withAdapter, { prefer: 'webgpu', runtime: 'node' }, f)).rejects.toThrow(
      'adapter limits too small',
    );
  });

  it('prefer wasm never looks for a GPU', async () => {
    const { f, calls } = factories();
    const getGpu = vi.fn(async () => withAdapter);
    const b = await chooseBackend(getGpu, { prefer: 'wasm' }, f);
    expect(b.kind).toBe('wasm');
    expect(getGpu).not.toHaveBeenCalled();
    expect(calls.webgpu).toEqual([]);
  });

  it('rejects an unknown backend name', async () => {
    const { f } = factories();
    await expect(chooseBackend(async () => withAdapter, { prefer: 'cuda' as BackendKind }, f)).rejects.toThrow(
      /unknown backend "cuda"/,
    );
  });

  it('falls back to the real wasm backend', async () => {
    const b = await chooseBackend(async () => noAdapter, { onFallback: () => {}, runtime: 'browser' });
    try {
      expect(b.kind).toBe('wasm');
    } finally {
      b.destroy();
    }
  });
});

describe('host entry points in Node', () => {
  it('node and auto createBackend give wasm when asked', async () => {
    for (const create of [nodeBackend, autoBackend]) {
      const b = await create({ prefer: 'wasm' });
      expect(b.kind).toBe('wasm');
      b.destroy();
    }
  });

  // Dawn aborts or segfaults when the GPU object is collected before its device (runtimes/node/backend.ts, Lifetime):
  // what createBackend returns must keep it alive. Fails by crashing this worker.
  it('a WebGPU backend survives garbage collection of everything but itself', async (ctx) => {
    if (!(await (await nodeGpu()).requestAdapter())) ctx.skip();
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const b = await nodeBackend({ prefer: 'webgpu' });
    try {
      for (let i = 0; i < 3; i++) {
        gc();
        await new Promise((r) => setTimeout(r, 20));
      }
      expect([...(await b.read(b.upload(new Float32Array([1, 2, 3]), [3])))]).toEqual([1, 2, 3]);
    } finally {
      b.destroy();
    }
    gc();
  });

  it('nodeGpu loads Dawn from the webgpu package', async () => {
    const gpu = await nodeGpu();
    expect(typeof gpu.requestAdapter).toBe('function');
    expect((globalThis as { GPUBufferUsage?: { STORAGE: number } }).GPUBufferUsage?.STORAGE).toBe(0x80);
  });
});
