// The variants of wgsl/matmul.wgsl (workgroup tile shapes, set through override constants) and the
// choice among them per adapter: timed once per adapter and process on one representative shape per
// size class, or a preset where timing would be slow (CPU adapters), or one variant forced by name.
//
// Size classes by output elements M·N: 'large' ≥ 2^21 (1576×3072), 'medium' ≥ 2^18 (1576×768),
// 'small' below (thin products such as 1576×16). A class's best tile trades work per thread
// against how many workgroups the output splits into.

import { BackendError } from '../backend.js';

export interface MatmulVariant {
  /** `${BM}x${BN}-k${BK}-${TM}x${TN}`: workgroup tile, K step, outputs per thread. */
  name: string;
  /** Override constants of matmul.wgsl. */
  constants: { WG_X: number; WG_Y: number; TM4: number; TN4: number; BK: number };
  /** Rows and columns of C per workgroup. */
  bm: number;
  bn: number;
}

function variant(wgX: number, wgY: number, tm: number, tn: number, bk: number): MatmulVariant {
  const [bm, bn] = [wgY * tm, wgX * tn];
  return {
    name: `${bm}x${bn}-k${bk}-${tm}x${tn}`,
    constants: { WG_X: wgX, WG_Y: wgY, TM4: tm / 4, TN4: tn / 4, BK: bk },
    bm,
    bn,
  };
}

/**
 * Every variant a backend may run, by name. Workgroup memory 4·BK·(BM + BN) bytes stays within
 * 16 KiB, the least every WebGPU adapter offers.
 */
export const MATMUL_VARIANTS: ReadonlyMap<string, MatmulVariant> = new Map(
  [
    variant(16, 16, 8, 8, 8), // 128×128: the classic large-GPU SGEMM tile
    variant(16, 16, 8, 8, 16), // fewer barriers per product (the best on lavapipe)
    variant(16, 16, 8, 4, 8), // 128×64
    variant(16, 16, 4, 8, 8), // 64×128
    variant(8, 8, 8, 8, 8), // 64×64 from 64 threads
    variant(16, 16, 4, 4, 16), // 64×64 from 256 threads
    variant(8, 8, 4, 4, 8), // 32×32: many workgroups for small outputs
  ].map((v) => [v.name, v]),
);

export type SizeClass = 'large' | 'medium' | 'small';
const CLASSES: readonly SizeClass[] = ['large', 'medium', 'small'];

/** The shape each class is timed on, [M, K, N]: ViT-B products over a batch of 8 (1576 tokens). */
const REPRESENTATIVE: Record<SizeClass, readonly [number, number, number]> = {
  large: [1576, 768, 3072],
  medium: [1576, 768, 768],
  small: [1576, 768, 32],
};

export function sizeClass(M: number, N: number): SizeClass {
  const outputs = M * N;
  return outputs >= 2 ** 21 ? 'large' : outputs >= 2 ** 18 ? 'medium' : 'small';
}

/** Which variant each size class uses, and how that was decided. */
export interface MatmulPlan {
  variants: Readonly<Record<SizeClass, string>>;
  source: 'measured' | 'preset' | 'forced';
  /** Milliseconds per product of each variant on each class's shape, when measured. */
  timings?: Readonly<Record<SizeClass, Readonly<Record<string, number>>>>;
}

/** CPU adapters (lavapipe/llvmpipe, SwiftShader): timed once on lavapipe, 2 cores. */
const SOFTWARE_PRESET: MatmulPlan = {
  variants: { large: '128x128-k16-8x8', medium: '128x128-k16-8x8', small: '64x64-k8-8x8' },
  source: 'preset',
};
const SOFTWARE = /llvmpipe|lavapipe|swiftshader|software rasterizer/i;

export function variantFor(plan: MatmulPlan, M: number, N: number): MatmulVariant {
  return MATMUL_VARIANTS.get(plan.variants[sizeClass(M, N)])!;
}

export function forcedPlan(name: string): MatmulPlan {
  if (!MATMUL_VARIANTS.has(name)) {
    throw new BackendError(`unknown matmul variant "${name}": use one of ${[...MATMUL_VARIANTS.keys()].join(', ')}`);
  }
  return { variants: { large: name, medium: name, small: name }, source: 'forced' };
}

/** Times `reps` products of shape [M, K, N] with a variant, in milliseconds (all of them together). */
export type TimeMatmul = (variant: MatmulVariant, shape: readonly [number, number, number], reps: number) => Promise<number>;

/** Plans already made in this process, by adapter description. */
const plans = new Map<string, Promise<MatmulPlan>>();

/** The plan for an adapter: cached, else the software preset, else measured with `time`. */
export function planFor(adapter: string, time: TimeMatmul): Promise<MatmulPlan> {
  let plan = plans.get(adapter);
  if (!plan) {
    plan = SOFTWARE.test(adapter) ? Promise.resolve(SOFTWARE_PRESET) : measure(time);
    plans.set(adapter, plan);
    plan.catch(() => plans.delete(adapter)); // a failed tuning is retried by the next backend
  }
  return plan;
}

/** Milliseconds of back-to-back products before any timing: an idle GPU runs at a fraction of its clock. */
const CLOCK_RAMP_MS = 300;

/**
 * Each variant on each class's shape, after the GPU has been kept busy for CLOCK_RAMP_MS: one warm-up
 * product, then enough for about 10 ms, best of two.
 */
async function measure(time: TimeMatmul): Promise<MatmulPlan> {
  const first = MATMUL_VARIANTS.values().next().value!;
  for (let busy = 0, rounds = 0; busy < CLOCK_RAMP_MS && rounds < 100; rounds++)
    busy += await time(first, REPRESENTATIVE.large, 10);
  const variants = {} as Record<SizeClass, string>;
  const timings = {} as Record<SizeClass, Record<string, number>>;
  for (const cls of CLASSES) {
    const shape = REPRESENTATIVE[cls];
    timings[cls] = {};
    for (const v of MATMUL_VARIANTS.values()) {
      const once = await time(v, shape, 1);
      const reps = Math.max(1, Math.min(50, Math.ceil(10 / Math.max(once, 0.01))));
      const ms = Math.min(await time(v, shape, reps), await time(v, shape, reps)) / reps;
      timings[cls][v.name] = ms;
      if (!variants[cls] || ms < timings[cls][variants[cls]]) variants[cls] = v.name;
    }
  }
  return { variants, source: 'measured', timings };
}
