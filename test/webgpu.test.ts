// The WebGPU backend on Dawn (the `webgpu` package; Mesa lavapipe where no GPU exists): the shared case
// table, plus what only this backend has: device loss, the pipeline cache, deferred release.

import { create, globals } from 'webgpu';
import { describe, expect, it } from 'vitest';
import { BackendError } from '../src/backend.js';
import { createWebGpuBackend, type WebGpuBackend } from '../src/webgpu/backend.js';
import { merge64, quantileAbs64 } from '../src/reference/snell64.js';
import { rng } from '../src/core/random.js';
import { uniform } from '../src/reference/random.js';
import { defaultCoeff } from '../src/adapter/config.js';
import { describeBackend } from './support/backend-suite.js';
import { expectClose, TOL } from './support/close.js';

Object.assign(globalThis, globals);
const gpu = create([]);
const webgpu = async () => (await createWebGpuBackend(gpu)) as WebGpuBackend;

describeBackend('webgpu', () => createWebGpuBackend(gpu));

describe('webgpu backend specifics', () => {
  it('describes the adapter and the limits it got', async () => {
    const b = await webgpu();
    try {
      expect(b.kind).toBe('webgpu');
      expect(b.description).toMatch(/^WebGPU \S/);
      expect(b.maxElements).toBe(
        Math.floor(Math.min(b.device.limits.maxStorageBufferBindingSize, b.device.limits.maxBufferSize) / 4),
      );
      const adapter = (await gpu.requestAdapter())!;
      expect(b.device.limits.maxStorageBufferBindingSize).toBe(adapter.limits.maxStorageBufferBindingSize);
      expect(b.device.limits.maxComputeWorkgroupStorageSize).toBe(adapter.limits.maxComputeWorkgroupStorageSize);
    } finally {
      b.destroy();
    }
  });

  it('a lost device turns every later call into a BackendError naming the loss', async () => {
    const b = await webgpu();
    const t = b.upload(new Float32Array([1, 2, 3]), [3]);
    b.device.destroy();
    await b.device.lost;
    const lost = /WebGPU device lost \(destroyed: .*\): the adapter's tensors are gone; create a new backend/;
    expect(() => b.zeros([2])).toThrow(BackendError);
    expect(() => b.zeros([2])).toThrow(lost);
    expect(() => b.merge(t, t, 'linear', [], t)).toThrow(lost);
    await expect(b.read(t)).rejects.toThrow(lost);
    await expect(b.flush()).rejects.toThrow(lost);
    b.destroy();
    expect(() => b.zeros([2])).toThrow(/destroyed/);
  });

  it('a read pending when the device is lost rejects with the loss', async () => {
    const b = await webgpu();
    const t = b.upload(new Float32Array(1024).fill(1), [1024]);
    const W = b.zeros([32, 32]);
    b.merge(b.upload(uniform(64, 1), [2, 32, 1]), b.upload(uniform(64, 2), [2, 32, 1]), 'distance', defaultCoeff(2), W);
    const pending = b.read(t);
    b.device.destroy();
    await expect(pending).rejects.toThrow(BackendError);
    await expect(pending).rejects.toThrow(/WebGPU device lost \(destroyed/);
    b.destroy();
  });

  it('an uncaptured WebGPU error surfaces as a BackendError on the next call', async () => {
    const b = await webgpu();
    try {
      b.device.createBuffer({ size: 4, usage: 0 }); // invalid: a buffer with no usage
      await b.device.queue.onSubmittedWorkDone();
      await expect(b.flush()).rejects.toThrow(/WebGPU reported an error .*please report it/);
      await expect(b.flush()).resolves.toBeUndefined(); // reported once
    } finally {
      b.destroy();
    }
  });

  it('compiles each (family, entry, constants) once and batches a step into one submission', async () => {
    const b = await webgpu();
    try {
      const [H, n, m, k] = [2, 9, 7, 3];
      const A = b.upload(uniform(H * n * k, 1), [H, n, k]);
      const B = b.upload(uniform(H * m * k, 2), [H, m, k]);
      const step = () => {
        const W = b.zeros([n, m]);
        const t = b.zeros([1]);
        const kept = b.zeros([1], 'u32');
        const Ws = b.zeros([n, m]);
        b.merge(A, B, 'distance', defaultCoeff(H), W);
        b.quantileAbs(W, 0.5, t);
        b.sparsify(W, t, Ws, kept);
        return { W, t, kept, Ws };
      };
      const first = step();
      await b.read(first.kept);
      const { pipelines, submissions } = b.stats();
      expect(pipelines).toBe(1 + 5 + 1); // merge, select's five entries, sparsify
      for (let i = 0; i < 3; i++) step();
      const last = step();
      const kept = (await b.read(last.kept))[0];
      expect(b.stats().pipelines).toBe(pipelines);
      expect(b.stats().submissions).toBe(submissions + 1);
      expect(kept).toBe((await b.read(first.kept))[0]);
      b.merge(A, B, 'linear', defaultCoeff(H), b.zeros([n, m]));
      expect(b.stats().pipelines).toBe(pipelines + 1); // a new override constant is a new pipeline
    } finally {
      b.destroy();
    }
  });

  it('defers the release of a freed tensor until its queued work is submitted, then reuses the buffer', async () => {
    const b = await webgpu();
    try {
      const [H, n, m, k] = [2, 40, 30, 4];
      const a = uniform(H * n * k, 3);
      const bb = uniform(H * m * k, 4);
      const A = b.upload(a, [H, n, k]);
      const B = b.upload(bb, [H, m, k]);
      const W = b.zeros([n, m]);
      b.merge(A, B, 'distance', defaultCoeff(H), W);
      const before = b.stats();
      b.free(A);
      b.free(B);
      expect(() => b.free(B)).toThrow(/^free: the tensor \(f32\[2, 30, 4\]\) was already freed/); // twice is an error, as on Wasm
      expect(b.stats().pendingRelease).toBe(2);
      expect(b.stats().liveBuffers).toBe(before.liveBuffers - 2);
      expect(() => b.merge(A, B, 'distance', defaultCoeff(H), W)).toThrow(/already freed/);
      expectClose(await b.read(W), merge64(a, bb, H, n, m, k, 'distance', defaultCoeff(H)), TOL.rel, 'W');
      expect(b.stats().pendingRelease).toBe(0);
      expect(b.stats().pooledBuffers).toBe(2);
      // A pooled buffer comes back for a tensor of the same size, zeroed when asked for zeros.
      const Z = b.zeros([H, n, k]);
      expect(b.stats().pooledBuffers).toBe(1);
      expect([...(await b.read(Z))].every((v) => v === 0)).toBe(true);
    } finally {
      b.destroy();
    }
  });

  it('profile: true counts every dispatch per kernel with its GPU time, and leaves the results alone', async () => {
    const plain = await webgpu();
    await expect(plain.profile()).rejects.toThrow(/without profile: true/);
    plain.destroy();
    const b = (await createWebGpuBackend(gpu, { profile: true })) as WebGpuBackend;
    try {
      const x = b.upload(new Float32Array([1, 2, 3, 4]), [2, 2]);
      const y = b.zeros([2, 2]);
      b.matmul(x, x, y);
      for (let i = 0; i < 3; i++) b.addInto(y, x);
      expect([...(await b.read(y))]).toEqual([10, 16, 24, 34]);
      const rows = await b.profile({ reset: true });
      expect(rows.find((r) => r.kernel.startsWith('elementwise/add_into'))?.dispatches).toBe(3);
      expect(rows.filter((r) => r.kernel.startsWith('matmul/')).reduce((n, r) => n + r.dispatches, 0)).toBe(1);
      expect(rows.every((r) => Number.isFinite(r.ms) && r.ms >= 0)).toBe(true);
      expect(await b.profile()).toEqual([]);
    } finally {
      b.destroy();
    }
  });

  it('a long run of primitives is submitted in pieces as it is encoded, with the same result', async () => {
    const b = await webgpu();
    try {
      const x = b.upload(new Float32Array([1, 2, 3]), [3]);
      const acc = b.zeros([3]);
      await b.flush();
      const before = b.stats().submissions;
      for (let i = 0; i < 600; i++) b.addInto(acc, x); // 600 dispatches
      expect(b.stats().submissions).toBe(before + 2); // after the 256th and the 512th
      expect([...(await b.read(acc))]).toEqual([600, 1200, 1800]);
      expect(b.stats().submissions).toBe(before + 3);
    } finally {
      b.destroy();
    }
  });

  it('zeros() reuses a buffer freed before the submit, after its queued reads; upload() never does', async () => {
    const b = await webgpu();
    try {
      const [H, n, m, k] = [2, 24, 20, 4];
      const [a, bb] = [uniform(H * n * k, 5), uniform(H * m * k, 6)];
      const A = b.upload(a, [H, n, k]);
      const B = b.upload(bb, [H, m, k]);
      const W = b.zeros([n, m]);
      b.merge(A, B, 'distance', defaultCoeff(H), W); // encoded, reads A
      b.free(A);
      const U = b.upload(uniform(H * n * k, 7), [H, n, k]); // a queue write would land before the merge
      expect(b.stats().pendingRelease).toBe(1);
      const Z = b.zeros([H, n, k]); // the clear is encoded after the merge: A's buffer serves
      expect(b.stats().pendingRelease).toBe(0);
      b.merge(Z, B, 'distance', defaultCoeff(H), b.zeros([n, m]));
      expectClose(await b.read(W), merge64(a, bb, H, n, m, k, 'distance', defaultCoeff(H)), TOL.rel, 'W');
      expect([...(await b.read(Z))].every((v) => v === 0)).toBe(true);
      expect((await b.read(U)).length).toBe(H * n * k);
    } finally {
      b.destroy();
    }
  });

  it('write() after queued work keeps the order of operations', async () => {
    const b = await webgpu();
    try {
      const x = b.upload(new Float32Array([1, 2, 3, 4]), [2, 2]);
      const eye = b.upload(new Float32Array([1, 0, 0, 1]), [2, 2]);
      const y = b.zeros([2, 2]);
      b.matmul(x, eye, y); // reads x before the write below
      b.write(x, new Float32Array([10, 20, 30, 40]));
      const z = b.zeros([2, 2]);
      b.matmul(x, eye, z);
      expect([...(await b.read(y))]).toEqual([1, 2, 3, 4]);
      expect([...(await b.read(z))]).toEqual([10, 20, 30, 40]);
      const u = b.upload(new Uint32Array([7, 8]), [2]);
      expect(b.stats().liveBuffers).toBeGreaterThan(0);
      expect(await b.read(u)).toEqual(new Uint32Array([7, 8]));
    } finally {
      b.destroy();
    }
  });

  it('rejects bad shapes and foreign tensors with clear errors', async () => {
    const b = await webgpu();
    try {
      const a = b.zeros([3, 4]);
      expect(() => b.matmul(a, a, b.zeros([3, 4]))).toThrow(/^matmul: the inner dimensions differ/);
      expect(() => b.upload(new Float32Array(3), [2, 2])).toThrow(/^upload: 3 values do not fill shape \[2, 2\]/);
      expect(() => b.upload(new Float32Array(1), [1], 'u32')).toThrow(/^upload: a u32 tensor takes a Uint32Array/);
      expect(() => b.zeros([b.maxElements + 1])).toThrow(/more than this WebGPU device holds/);
      await expect(b.read({ shape: [1], size: 1, dtype: 'f32' })).rejects.toThrow(
        /^read: the tensor was not created by this backend/,
      );
      expect(() => b.quantileAbs(b.zeros([0]), 0.5, b.zeros([1]))).toThrow(
        /^quantileAbs: W is f32\[0\]: the quantile of no values is undefined/,
      );
    } finally {
      b.destroy();
    }
  });

  it('quantile: NaN makes the threshold NaN (torch.quantile) and sparsify keeps nothing; subnormals are exact', async () => {
    const b = await webgpu();
    try {
      const w = Float32Array.from(uniform(1000, 9));
      w[17] = NaN;
      const t = b.zeros([1]);
      const W = b.upload(w, [1000]);
      b.quantileAbs(W, 0.5, t);
      expect((await b.read(t))[0]).toBeNaN();
      const kept = b.zeros([1], 'u32');
      b.sparsify(W, t, b.zeros([1000]), kept);
      expect((await b.read(kept))[0]).toBe(0);

      const sub = Float32Array.from({ length: 301 }, (_, i) => (i % 2 ? -1 : 1) * i * 1e-42); // subnormals
      for (const s of [0, 0.3, 0.5, 0.999]) {
        b.quantileAbs(b.upload(sub, [301]), s, t);
        const thr = (await b.read(t))[0];
        const ref = quantileAbs64(sub, s);
        // exact when the position is an order statistic, else within the f32 rounding of the interpolation
        expect(Math.abs(thr - ref)).toBeLessThanOrEqual(1.5e-45);
      }
      // the 2^24-th neighbourhood of ties: many equal values straddling lo and lo + 1
      const ties = Float32Array.from({ length: 5000 }, (_, i) => (i < 2500 ? 0.5 : i < 2501 ? 0.75 : 1));
      b.quantileAbs(b.upload(ties, [5000]), 0.5, t);
      expect((await b.read(t))[0]).toBe(quantileAbs64(ties, 0.5));
    } finally {
      b.destroy();
    }
  });

  it('quantile: random sizes, positions and tie patterns match torch.quantile exactly', async () => {
    const b = await webgpu();
    try {
      const next = rng(2024);
      const t = b.zeros([1]);
      for (let trial = 0; trial < 40; trial++) {
        const N = 1 + Math.floor(next() ** 3 * 20000);
        const levels = [2, 7, 1000, 0][trial % 4]; // few distinct values … all distinct
        const w = Float32Array.from({ length: N }, () => {
          const v = levels ? Math.floor(next() * levels) / levels - 0.5 : next() * 2 - 1;
          return next() < 0.05 ? -0 : v;
        });
        const s = [0, 1e-7, 0.5, 0.9, 0.999999, next()][trial % 6];
        b.quantileAbs(b.upload(w, [N]), s, t);
        const thr = (await b.read(t))[0];
        const ref = quantileAbs64(w, s);
        expect(Math.abs(thr - ref), `N=${N} s=${s} levels=${levels}`).toBeLessThanOrEqual(Math.abs(ref) * 1e-6);
      }
    } finally {
      b.destroy();
    }
  });
});
