// The edge entry's createBackend (runtimes/edge/backend.ts) started from precompiled WebAssembly.Modules, as
// edge runtimes hand them over, for each build of the kernels (plain and relaxed SIMD): the merge gives bit
// for bit the values of the same build compiled from bytes (and of the float64 reference), the description
// names the build and says one thread at the edge, and ImagePrep from a precompiled prep module resizes as
// the one from bytes does.

import { describe, expect, it } from 'vitest';
import prepBytes from '../build/prep.wasm';
import relaxedBytes from '../build/snell-relaxed.wasm';
import wasmBytes from '../build/snell.wasm';
import { createBackend } from '../runtimes/edge/backend.js';
import type { Backend, MergeKernel } from '../src/backend.js';
import { ImagePrep } from '../src/data/prep.js';
import { uniform } from '../src/reference/random.js';
import { merge64 } from '../src/reference/snell64.js';
import { createWasmBackend } from '../src/wasm/backend.js';
import type { SimdPath } from '../src/wasm/simd.js';
import { SIMD_PATHS } from './support/simd.js';

const compile = (bytes: Uint8Array) => new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);

const [H, n, m, k] = [4, 37, 53, 6];
const A = uniform(H * n * k, 1);
const B = uniform(H * m * k, 2);
const coeff = [0.7, -1.3, 0.25, 2];

async function merged(backend: Backend, kernel: MergeKernel): Promise<Float32Array> {
  const [a, b, w] = [backend.upload(A, [H, n, k]), backend.upload(B, [H, m, k]), backend.zeros([n, m])];
  backend.merge(a, b, kernel, coeff, w);
  return (await backend.read(w)) as Float32Array;
}

const BYTES: Record<SimdPath, Uint8Array> = { plain: wasmBytes, relaxed: relaxedBytes };
const BUILD: Record<SimdPath, string> = { plain: 'simd128', relaxed: 'simd128+relaxed-fma' };

describe('edge entry from precompiled modules', () => {
  it.each(SIMD_PATHS)('merges to the same values as the backend compiled from bytes (%s SIMD)', async (simd) => {
    const edge = await createBackend({ prefer: 'wasm', wasmModule: compile(BYTES[simd]) });
    const bytes = await createWasmBackend({ threads: 1, simd });
    try {
      expect(edge.description).toBe(`wasm32 SIMD (AssemblyScript, ${BUILD[simd]}), 1 thread (edge runtime: no workers)`);
      for (const kernel of ['distance', 'linear'] as const) {
        const W = await merged(edge, kernel);
        expect(W).toEqual(await merged(bytes, kernel));
        const ref = merge64(A, B, H, n, m, k, kernel, coeff);
        let [err, norm] = [0, 0];
        for (let i = 0; i < ref.length; i++) [err, norm] = [err + (W[i] - ref[i]) ** 2, norm + ref[i] ** 2];
        expect(norm).toBeGreaterThan(1);
        expect(Math.sqrt(err / norm)).toBeLessThan(1e-6);
      }
    } finally {
      edge.destroy();
      bytes.destroy();
    }
  });

  it('without a module, picks the build at load (relaxed SIMD where it validates) and forces one when asked', async () => {
    for (const simd of SIMD_PATHS) {
      const edge = await createBackend({ prefer: 'wasm', wasmSimd: simd });
      expect(edge.description).toBe(`wasm32 SIMD (AssemblyScript, ${BUILD[simd]}), 1 thread (edge runtime: no workers)`);
      edge.destroy();
    }
    const auto = await createBackend({ prefer: 'wasm' });
    expect(auto.description).toContain(BUILD[SIMD_PATHS.at(-1)!]);
    auto.destroy();
  });

  it('refuses more than one thread on a precompiled module, naming the fix', async () => {
    await expect(createBackend({ prefer: 'wasm', wasmModule: compile(wasmBytes), threads: 2 })).rejects.toThrow(
      /a precompiled module runs on one thread, 2 were asked for: leave threads unset/,
    );
  });

  it('resizes with a precompiled prep module as with the bytes', async () => {
    const pixels = Uint8Array.from({ length: 3 * 9 * 11 }, (_, i) => (i * 37) % 256);
    const fromModule = (await ImagePrep.create(compile(prepBytes))).resize(pixels, 3, 9, 11, 16, 5);
    const fromBytes = (await ImagePrep.create()).resize(pixels, 3, 9, 11, 16, 5);
    expect(fromModule.length).toBe(3 * 16 * 5);
    expect(fromModule.some((v) => v > 0)).toBe(true);
    expect(fromModule).toEqual(fromBytes);
  });
});
