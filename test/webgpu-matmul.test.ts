// Every matmul variant of the WebGPU backend (src/webgpu/matmul.ts), forced one at a time, against the
// float64 reference: awkward sizes, both load widths (vec4 when the contiguous dimensions allow it),
// each transposition, accumulate, K = 0 and NaN; outputs are poisoned so unwritten elements fail.

import { create, globals } from 'webgpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tensor } from '../src/backend.js';
import { BackendError } from '../src/backend.js';
import { createWebGpuBackend, type WebGpuBackend } from '../src/webgpu/backend.js';
import { MATMUL_VARIANTS, sizeClass } from '../src/webgpu/matmul.js';
import { matmul64 } from '../src/reference/snell64.js';
import { uniform } from '../src/reference/random.js';
import { expectClose, TOL } from './support/close.js';

Object.assign(globalThis, globals);
const gpu = create([]);

// [M, K, N]: 1×1, tile remainders with scalar loads (K or M odd), with vec4 loads, thin, K = 0.
const SHAPES: Array<[number, number, number]> = [
  [1, 1, 1],
  [3, 7, 5],
  [67, 33, 131],
  [68, 36, 132],
  [130, 20, 9],
  [200, 16, 40],
  [9, 0, 12],
  [300, 768, 16],
];

for (const name of MATMUL_VARIANTS.keys()) {
  describe(`webgpu matmul variant ${name}`, () => {
    let b: WebGpuBackend;
    beforeAll(async () => {
      b = (await createWebGpuBackend(gpu, { matmulVariant: name })) as WebGpuBackend;
    });
    afterAll(() => b?.destroy());
    const f32 = async (t: Tensor) => (await b.read(t)) as Float32Array;

    for (const [ta, tb] of [
      [false, false],
      [true, false],
      [false, true],
      [true, true],
    ]) {
      it(`transA=${ta} transB=${tb}: every shape, plain and accumulating`, async () => {
        expect(b.matmulPlan).toMatchObject({ source: 'forced', variants: { large: name, medium: name, small: name } });
        for (const [M, K, N] of SHAPES) {
          const what = `${M}x${K}x${N}`;
          const a = uniform(M * K, M * 7 + K);
          const bb = uniform(K * N, K * 5 + N + 1);
          const A = b.upload(a, ta ? [K, M] : [M, K]);
          const B = b.upload(bb, tb ? [N, K] : [K, N]);
          const out = b.upload(new Float32Array(M * N).fill(NaN), [M, N]);
          b.matmul(A, B, out, { transA: ta, transB: tb });
          const ref = matmul64(a, bb, M, K, N, ta, tb);
          expectClose(await f32(out), ref, TOL.matmul, `C ${what}`);
          const bias = uniform(M * N, 3);
          const acc = b.upload(bias, [M, N]);
          b.matmul(A, B, acc, { transA: ta, transB: tb, accumulate: true });
          expectClose(
            await f32(acc),
            ref.map((v, i) => v + bias[i]),
            TOL.matmul,
            `C + bias ${what}`,
          );
          for (const t of [A, B, out, acc]) b.free(t);
        }
      });
    }

    it('NaN in a row of a reaches that row of C only', async () => {
      for (const [M, K, N] of [
        [70, 36, 68],
        [70, 35, 67],
      ]) {
        const a = uniform(M * K, 1);
        a[5 * K + 3] = NaN;
        const out = b.zeros([M, N]);
        b.matmul(b.upload(a, [M, K]), b.upload(uniform(K * N, 2), [K, N]), out);
        const c = await f32(out);
        for (let i = 0; i < M; i++) {
          for (let j = 0; j < N; j++) expect(Number.isNaN(c[i * N + j])).toBe(i === 5);
        }
      }
    });
  });
}

describe('webgpu matmul plan', () => {
  it('is chosen once per adapter and says which variant each size class runs', async () => {
    const [x, y] = [await createWebGpuBackend(gpu), await createWebGpuBackend(gpu)] as WebGpuBackend[];
    try {
      expect(y.matmulPlan).toBe(x.matmulPlan);
      for (const cls of ['large', 'medium', 'small'] as const) expect(MATMUL_VARIANTS.has(x.matmulPlan.variants[cls])).toBe(true);
      if (/llvmpipe|lavapipe|swiftshader/i.test(x.description)) expect(x.matmulPlan.source).toBe('preset');
    } finally {
      x.destroy();
      y.destroy();
    }
  });

  it('classes shapes by output size', () => {
    expect([sizeClass(1576, 3072), sizeClass(1576, 768), sizeClass(1576, 16), sizeClass(2048, 2048)]).toEqual([
      'large',
      'medium',
      'small',
      'large',
    ]);
  });

  it('rejects an unknown variant by naming the known ones', async () => {
    await expect(createWebGpuBackend(gpu, { matmulVariant: '3x3' })).rejects.toThrow(BackendError);
    await expect(createWebGpuBackend(gpu, { matmulVariant: '3x3' })).rejects.toThrow(
      /unknown matmul variant "3x3": use one of 128x128-k8-8x8/,
    );
  });
});
