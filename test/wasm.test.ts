// The shared backend table on the wasm backend (each build of the kernels: plain and relaxed SIMD), plus what only the wasm backend has: its allocator
// over linear memory, memory growth, and use after destroy.

import { describe, expect, it } from 'vitest';
import { BackendError } from '../src/backend.js';
import { createWasmBackend, type WasmBackend } from '../src/wasm/backend.js';
import { describeBackend } from './support/backend-suite.js';
import { SIMD_PATHS } from './support/simd.js';
import { uniform } from '../src/reference/random.js';

for (const simd of SIMD_PATHS) describeBackend(`wasm, ${simd} SIMD`, () => createWasmBackend({ simd }));

describe('wasm backend specifics', () => {
  it('describes itself and bounds tensors by the 4 GiB wasm32 memory', async () => {
    const b = await createWasmBackend();
    expect(b.kind).toBe('wasm');
    expect(b.description).toMatch(/wasm32 SIMD/);
    expect(b.maxElements).toBeGreaterThan(2 ** 29);
    expect(b.maxElements).toBeLessThan(2 ** 30);
    expect(() => b.zeros([b.maxElements + 1])).toThrow(/cannot allocate .*4 GiB.*free tensors/);
    b.destroy();
  });

  it('reuses freed blocks and coalesces neighbours', async () => {
    const b = (await createWasmBackend()) as WasmBackend;
    const x = b.zeros([1000]);
    const y = b.zeros([1000]);
    const z = b.zeros([1000]);
    const grown = b.memoryStats().memoryBytes;
    const px = (x as unknown as { ptr: number }).ptr;
    b.free(x);
    b.free(y); // x and y merge into one free block
    const big = b.zeros([1900]); // fits only in the merged block
    expect((big as unknown as { ptr: number }).ptr).toBe(px);
    expect(b.memoryStats().memoryBytes).toBe(grown);
    expect(b.memoryStats().tensors).toBe(2);
    b.free(b.upload(uniform(5000, 0), [5000]));
    const settled = b.memoryStats().memoryBytes;
    for (let i = 1; i < 200; i++) b.free(b.upload(uniform(5000, i), [5000])); // freed blocks are reused: no growth
    expect(b.memoryStats().memoryBytes).toBe(settled);
    const used = b.memoryStats().tensorBytes;
    b.free(big);
    b.free(z);
    expect(b.memoryStats().tensorBytes).toBeLessThan(used);
    expect(b.memoryStats().tensors).toBe(0);
    b.destroy();
  });

  it('keeps existing tensors intact when the memory grows', async () => {
    const b = (await createWasmBackend()) as WasmBackend;
    const data = uniform(4096, 1);
    const t = b.upload(data, [64, 64]);
    const kept = b.upload(new Uint32Array([7, 8, 9]), [3], 'u32');
    const before = b.memoryStats().memoryBytes;
    const big = b.zeros([16 * 2 ** 20]); // 64 MiB: forces memory.grow
    expect(b.memoryStats().memoryBytes).toBeGreaterThan(before);
    expect(await b.read(t)).toEqual(data);
    expect(Array.from(await b.read(kept))).toEqual([7, 8, 9]);
    // kernels still see the old tensors through the new buffer
    const out = b.zeros([64, 64]);
    b.matmul(
      t,
      b.upload(
        Float32Array.from({ length: 4096 }, (_, i) => (i % 65 === 0 ? 1 : 0)),
        [64, 64],
      ),
      out,
    );
    expect(await b.read(out)).toEqual(data);
    expect((await b.read(big)).every((v) => v === 0)).toBe(true);
    b.destroy();
  });

  it('u32 tensors read back as Uint32Array, f32 as Float32Array; bad data is refused', async () => {
    const b = await createWasmBackend();
    expect(await b.read(b.upload(new Uint32Array([1, 2]), [2], 'u32'))).toBeInstanceOf(Uint32Array);
    expect(await b.read(b.zeros([2]))).toBeInstanceOf(Float32Array);
    expect(() => b.upload(new Float32Array(3), [2])).toThrow(BackendError);
    expect(() => b.upload(new Float32Array(2), [2], 'u32')).toThrow(/takes a Uint32Array/);
    expect(await b.read(b.upload(new Uint32Array([3]), [1]))).toEqual(new Uint32Array([3])); // the dtype follows the data
    b.destroy();
  });

  it('shape mismatches and freed tensors are clear errors', async () => {
    const b = await createWasmBackend();
    const a = b.zeros([3, 4]);
    const c = b.zeros([4, 5]);
    expect(() => b.matmul(a, a, b.zeros([3, 4]))).toThrow(/^matmul: the inner dimensions differ/);
    expect(() => b.matmul(a, c, b.zeros([3, 4]))).toThrow(/^matmul: out is f32\[3, 4\] \(3×4\), expected 3×5$/);
    const sq = b.zeros([4, 4]);
    expect(() => b.matmul(sq, sq, sq)).toThrow(/^matmul: out and a are the same tensor/);
    b.free(c);
    await expect(b.read(c)).rejects.toThrow(/^read: the tensor \(f32\[4, 5\]\) was already freed/);
    expect(() => b.free(c)).toThrow(/^free: the tensor \(f32\[4, 5\]\) was already freed/);
    b.destroy();
  });

  it('throws BackendError on any use after destroy', async () => {
    const b = await createWasmBackend();
    const t = b.zeros([4]);
    b.destroy();
    expect(() => b.zeros([1])).toThrow(BackendError);
    await expect(b.read(t)).rejects.toThrow(/after destroy/);
    expect(() => b.write(t, new Float32Array(4))).toThrow(BackendError);
    expect(() => b.free(t)).toThrow(BackendError);
    await expect(b.flush()).rejects.toThrow(BackendError);
    expect(() => b.matmul(t, t, t)).toThrow(BackendError);
    b.destroy(); // idempotent
  });

  it('two backends do not share tensors', async () => {
    const [b1, b2] = [await createWasmBackend(), await createWasmBackend()];
    const t = b1.zeros([2]);
    await expect(b2.read(t)).rejects.toThrow(/^read: the tensor was not created by this backend: upload it here first$/);
    expect(() => b2.add(t, t, b2.zeros([2]))).toThrow(/^add: a was not created by this backend/);
    b1.destroy();
    b2.destroy();
  });
});
