// SNELLA's allocator on each backend against the authors' (alloc_* vectors): the averages updated on
// the device from the vectors' parameters and gradients every iteration, the split read once an
// epoch; sparsities, kept counts and the final averages to the vectors README's criteria.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend, Tensor } from '../src/backend.js';
import { relL2 } from '../src/conformance/compare.js';
import { SafetensorsFile } from '../src/io/safetensors.js';
import { SparsityAllocator } from '../src/train/allocator/allocator.js';
import { BACKENDS } from './support/backends.js';

interface Layer {
  name: string;
  in: number;
  out: number;
  N: number;
}

describe.each(BACKENDS)('SNELLA allocator on %s', (_, create) => {
  let b: Backend;
  beforeAll(async () => {
    b = await create();
  });
  afterAll(() => b?.destroy());

  it.each(['alloc_warmup_t0.5', 'alloc_vtab_t0.8'])('%s', async (name) => {
    const st = SafetensorsFile.parse(readFileSync(`test/vectors/${name}.safetensors`), name);
    const meta = (k: string) => JSON.parse(st.metadata[k]!);
    const layers: Layer[] = meta('layers');
    const t = (k: string) => st.tensor(k);
    const first = (l: Layer, p: string) => t(`iter0.${l.name}.${p}`);
    const factors = layers.map((l) => ({
      A: b.upload(first(l, 'In_Qs').data, first(l, 'In_Qs').shape),
      B: b.upload(first(l, 'Out_Qs').data, first(l, 'Out_Qs').shape),
      dA: b.zeros(first(l, 'In_Qs').shape),
      dB: b.zeros(first(l, 'Out_Qs').shape),
    }));
    const allocator = new SparsityAllocator(
      b,
      layers.map((l, i) => ({ name: l.name, dIn: l.in, dOut: l.out, A: factors[i]!.A, B: factors[i]!.B })),
      {
        initSparsity: meta('init_thres'),
        targetSparsity: meta('target_ratio'),
        initWarmup: meta('init_warmup'),
        finalWarmup: meta('final_warmup'),
        interval: meta('mask_interval'),
        totalSteps: meta('total_step'),
        beta1: meta('beta1'),
        beta2: meta('beta2'),
      },
    );
    const L = layers.length;
    const stored = { sparsity: t('sparsity').data, kept: t('alloc').data };
    const iters: number = meta('iters_per_epoch');
    for (let e = 0; e < meta('epochs'); e++) {
      const epoch = await allocator.startEpoch(e);
      expect(epoch.remask).toBe(meta('remask')[e]);
      if (epoch.remask) expect(epoch.kept).toEqual(Array.from(stored.kept.subarray(e * L, (e + 1) * L)));
      const want = stored.sparsity.subarray(e * L, (e + 1) * L);
      epoch.sparsity.forEach((s, l) => expect(Math.abs(Math.fround(s) - want[l]!)).toBeLessThanOrEqual(1 / layers[l]!.N));
      for (let i = 0; i < iters; i++) {
        const it = e * iters + i;
        layers.forEach((l, k) => {
          const f = factors[k]!;
          const put = (dst: Tensor, key: string) => b.write(dst, t(`iter${it}.${l.name}.${key}`).data);
          put(f.A, 'In_Qs');
          put(f.B, 'Out_Qs');
          put(f.dA, 'In_Qs.grad');
          put(f.dB, 'Out_Qs.grad');
        });
        allocator.track(factors);
      }
    }
    const { tensors } = allocator.state();
    for (const l of layers) {
      for (const p of ['In_Qs', 'Out_Qs']) {
        for (const avg of ['ipt', 'unc']) {
          const got = (await b.read(tensors.get(`${l.name}.${p}.${avg}`)!)) as Float32Array;
          const ref = t(`final.${avg}.${l.name}.${p}`).data;
          if (ref.every((v) => v === 0)) expect(got.every((v) => v === 0)).toBe(true);
          else expect(relL2(got, ref), `${avg} ${l.name}.${p}`).toBeLessThanOrEqual(1e-4);
        }
      }
    }
    allocator.free();
    for (const f of factors) for (const x of [f.A, f.B, f.dA, f.dB]) b.free(x);
  });
});
