// Data preparation on build/prep.wasm: resize against hand-computed values and the float64 reference
// (src/reference/resize64.ts), u8 rounding, whole batches against PatchDataset (images.ts), torchvision's
// float32 normalisation steps and a composition of references, the seeded shuffle against
// `shuffled`, and option errors.

import { beforeAll, describe, expect, it } from 'vitest';
import { type ImageSet, PatchDataset } from '../src/data/images.js';
import { IMAGENET_MEAN, IMAGENET_STD, ImagePrep, PrepError, resolvePrep } from '../src/data/prep.js';
import { rng } from '../src/core/random.js';
import { resize64 } from '../src/reference/resize64.js';
import { shuffled } from '../src/core/dataset.js';
import { mnist } from './support/mnist.js';

let prep: ImagePrep;
beforeAll(async () => {
  prep = await ImagePrep.create();
});

/** Max |a − b|, naming the worst index on failure. */
function expectNear(ours: ArrayLike<number>, ref: ArrayLike<number>, tol: number, what: string): void {
  expect(ours.length, `${what}: length`).toBe(ref.length);
  let worst = 0;
  for (let i = 0; i < ref.length; i++) if (!(Math.abs(ours[i] - ref[i]) <= Math.abs(ours[worst] - ref[worst]))) worst = i;
  const err = Math.abs(ours[worst] - ref[worst]);
  if (!(err <= tol)) throw new Error(`${what}: |Δ| ${err} > ${tol} at [${worst}]: ours ${ours[worst]}, ref ${ref[worst]}`);
}

const randomBytes = (n: number, seed: number) => {
  const next = rng(seed);
  return Uint8Array.from({ length: n }, () => Math.floor(next() * 256));
};

describe('resize', () => {
  it('matches hand-computed values', () => {
    const row = new Uint8Array([0, 10, 20, 30]);
    // antialiased 4 → 2: weights (3, 3, 1)/7 and (1, 3, 3)/7
    expectNear(prep.resize(row, 1, 1, 4, 1, 2), [50 / 7, 160 / 7], 1e-5, 'aa 4→2');
    // plain bilinear 4 → 2: sources 0.5 and 2.5
    expectNear(prep.resize(row, 1, 1, 4, 1, 2, false), [5, 25], 1e-5, 'bilinear 4→2');
    // 6 → 2 (support 3): weights (2/3, 1, 2/3, 1/3)/(8/3) from the border, then (1/3, 2/3, 1, 2/3)/(8/3)
    expectNear(prep.resize(new Uint8Array([0, 1, 2, 3, 4, 5]), 1, 1, 6, 1, 2), [1.25, 3.75], 1e-6, 'aa 6→2');
    // upscaling 2 → 4: sources −0.25 (clamped), 0.25, 0.75, 1.25 (clamped)
    expectNear(prep.resize(new Uint8Array([0, 10]), 1, 1, 2, 1, 4), [0, 2.5, 7.5, 10], 1e-6, 'up 2→4');
    // 2-D, 4×4 → 2×2 of v = 10y + x: both axes (3, 3, 1)/7 and (1, 3, 3)/7
    const grid = Uint8Array.from({ length: 16 }, (_, i) => 10 * Math.floor(i / 4) + (i % 4));
    expectNear(prep.resize(grid, 1, 4, 4, 2, 2), [55 / 7, 66 / 7, 165 / 7, 176 / 7], 1e-5, 'aa 4×4→2×2');
    // the same size is a copy
    expectNear(prep.resize(grid, 1, 4, 4, 4, 4), grid, 0, 'identity');
  });

  const cases: [string, number, number, number, number, number, boolean][] = [
    ['down, awkward sizes', 3, 37, 53, 16, 20, true],
    ['down ×7 (MNIST 28 → 4)', 1, 28, 28, 4, 4, true],
    ['down, antialias off', 3, 37, 53, 16, 20, false],
    ['up', 3, 7, 9, 20, 31, true],
    ['up ×8 (MNIST 28 → 224)', 1, 28, 28, 224, 224, true],
    ['mixed: height down, width up', 2, 40, 10, 13, 25, true],
    ['width only', 3, 17, 30, 17, 11, true],
    ['height only', 3, 30, 17, 11, 17, true],
    ['non-integer scale', 3, 50, 50, 33, 33, true],
  ];
  for (const [name, C, H, W, oh, ow, aa] of cases) {
    it(`matches the float64 reference: ${name} [${C},${H},${W}] → ${oh}×${ow}`, () => {
      const src = randomBytes(C * H * W, H * 1000 + W);
      expectNear(prep.resize(src, C, H, W, oh, ow, aa), resize64(src, C, H, W, oh, ow, aa), 2e-4, name);
    });
  }

  it('takes float input and rounds to u8 half to even', () => {
    const f = Float32Array.from({ length: 12 }, (_, i) => i * 17.3);
    expectNear(prep.resize(f, 1, 3, 4, 5, 2), resize64(f, 1, 3, 4, 5, 2), 2e-4, 'float input');
    // 2 → 4 upscale gives 2.5 and 7.5: half to even → 2 and 8
    expect(Array.from(prep.resizeBytes(new Uint8Array([0, 10]), 1, 1, 2, 1, 4))).toEqual([0, 2, 8, 10]);
    const src = randomBytes(3 * 31 * 29, 5);
    const ref = resize64(src, 3, 31, 29, 12, 15);
    const got = prep.resizeBytes(src, 3, 31, 29, 12, 15);
    got.forEach((v, i) => expect(Math.abs(v - ref[i]), `[${i}]`).toBeLessThanOrEqual(0.5 + 1e-3));
  });
});

describe('batches', () => {
  /** PatchDataset's patches with torchvision's float32 steps: x.float()/255, − mean, ÷ std (each rounded). */
  const torchvisionF32 = (set: ImageSet, p: number, idx: number[], mean: readonly number[], std: readonly number[]) => {
    const f = Math.fround;
    // with mean 0 and std 1 PatchDataset gives x/255 rounded once to f32, the float32 division
    const zeros = new Array<number>(set.channels).fill(0);
    const scaled = new PatchDataset(
      set,
      p,
      zeros,
      zeros.map(() => 1),
    ).get(idx).inputs;
    return scaled.map((v, i) => {
      const c = Math.floor((i % (set.channels * p * p)) / (p * p));
      return f(f(v - f(mean[c])) / f(std[c]));
    });
  };

  it("without resizing, equal PatchDataset (MNIST, p = 7), and torchvision's float32 steps bit for bit", () => {
    const set = mnist('t10k');
    const idx = [3, 0, 9999, 17, 42];
    const ref = new PatchDataset(set, 7, [0.1307], [0.3081]).get(idx);
    const ours = prep.batch(set, idx, resolvePrep(set, { patch: 7, mean: [0.1307], std: [0.3081] }));
    expectNear(ours, ref.inputs, 1e-6, 'vs PatchDataset (float64 arithmetic)');
    expect(ours).toEqual(torchvisionF32(set, 7, idx, [0.1307], [0.3081]));
  });

  it('without resizing, equal PatchDataset (RGB 12×20, p = 4, ImageNet statistics), and float32 steps bit for bit', () => {
    const set: ImageSet = {
      count: 4,
      channels: 3,
      height: 12,
      width: 20,
      pixels: randomBytes(4 * 3 * 12 * 20, 9),
      labels: new Uint8Array([0, 1, 2, 3]),
    };
    const ref = new PatchDataset(set, 4, IMAGENET_MEAN, IMAGENET_STD).get([2, 1, 3]);
    const ours = prep.batch(set, [2, 1, 3], resolvePrep(set, { patch: 4 }));
    expectNear(ours, ref.inputs, 1e-6, 'vs PatchDataset (float64 arithmetic)');
    expect(ours).toEqual(torchvisionF32(set, 4, [2, 1, 3], IMAGENET_MEAN, IMAGENET_STD));
  });

  it('resize + gray → 3 + normalise + patchify equal the composed references', () => {
    const set: ImageSet = {
      count: 3,
      channels: 1,
      height: 28,
      width: 28,
      pixels: randomBytes(3 * 784, 11),
      labels: new Uint8Array(3),
    };
    const p = resolvePrep(set, { patch: 8, size: [32, 48], channels: 3 });
    expect(p.mean).toEqual(IMAGENET_MEAN);
    const ours = prep.batch(set, [2, 0], p);
    // reference: resize64, replicate, normalise, then PatchDataset's patch order on the normalised planes
    const planes = [2, 0].map((k) => resize64(set.pixels.subarray(k * 784, (k + 1) * 784), 1, 28, 28, 32, 48));
    const ref: number[] = [];
    for (const r of planes) {
      for (let gy = 0; gy < 4; gy++)
        for (let gx = 0; gx < 6; gx++)
          for (let c = 0; c < 3; c++) {
            for (let ky = 0; ky < 8; ky++)
              for (let kx = 0; kx < 8; kx++)
                ref.push((r[(gy * 8 + ky) * 48 + gx * 8 + kx] / 255 - IMAGENET_MEAN[c]) / IMAGENET_STD[c]);
          }
    }
    expectNear(ours, ref, 1e-5, 'batch');
  });

  it('grows its memory for large batches (64 MNIST digits at 224×224×3, p = 16)', () => {
    const set = mnist('t10k');
    const p = resolvePrep(set, { patch: 16, size: 224, channels: 3 });
    const out = prep.batch(
      set,
      Array.from({ length: 64 }, (_, i) => i),
      p,
    );
    expect(out.length).toBe(64 * 196 * 768);
    expect(out.every(Number.isFinite)).toBe(true);
    // the last image equals a batch of one, also written into a given array
    const one = new Float32Array(196 * 768).fill(NaN);
    expect(prep.batch(set, [63], p, one)).toBe(one);
    expect(out.subarray(63 * 196 * 768)).toEqual(one);
    expect(() => prep.batch(set, [1, 2], p, one)).toThrow(/holds 150528 values, the batch needs 301056/);
  });
});

describe('seeded shuffle', () => {
  it('is the permutation of `shuffled` (trainer.ts)', () => {
    for (const [n, seed] of [
      [1, 0],
      [2, 1],
      [10, 7],
      [1000, 42],
      [60000, 3 * 1000003 + 2],
      [17, 2 ** 32 + 5],
    ]) {
      expect(Array.from(prep.permutation(n, seed)), `n ${n}, seed ${seed}`).toEqual(shuffled(n, seed));
    }
  });
});

describe('options', () => {
  const gray = { channels: 1, height: 28, width: 28 };
  it('are checked with actionable messages', () => {
    expect(() => resolvePrep(gray, { patch: 5 })).toThrow(/28×28 image does not split into 5×5 patches/);
    expect(() => resolvePrep({ ...gray, channels: 3 }, { patch: 7, channels: 1 })).toThrow(PrepError);
    expect(() => resolvePrep(gray, { patch: 7, mean: [0.1, 0.2] })).toThrow(/mean and std need 1 values/);
    expect(() => resolvePrep(gray, { patch: 7, std: [0] })).toThrow(/must be positive/);
    expect(resolvePrep(gray, { patch: 7 })).toMatchObject({
      height: 28,
      width: 28,
      channels: 1,
      mean: [0.5],
      std: [0.5],
      antialias: true,
    });
  });
});
