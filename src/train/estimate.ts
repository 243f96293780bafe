// Memory a training run will need, before it runs: the engine builds the model and takes one full
// training step on a backend that records shapes but stores and computes nothing, so every pool's
// peak comes from the same allocation sequence a real run makes.

import type { Backend, DType, Tensor } from '../backend.js';
import type { Dataset } from '../core/dataset.js';
import type { TuningPlan, ViTConfig } from '../model/config.js';
import type { MemoryReport } from '../model/memory.js';
import { initViTWeights } from '../model/init.js';
import { ViT } from '../model/vit.js';
import { Trainer } from './trainer.js';

/** A backend of shapes only: allocations succeed, kernels do nothing, reads return zeros. */
function shapeOnlyBackend(): Backend {
  const tensor = (shape: readonly number[], dtype: DType = 'f32'): Tensor => ({
    shape: [...shape],
    size: shape.reduce((a, d) => a * d, 1),
    dtype,
  });
  const base = {
    kind: 'wasm',
    description: 'shape-only (memory estimate)',
    maxElements: 2 ** 32,
    upload: (_: unknown, shape: readonly number[], dtype?: DType) => tensor(shape, dtype),
    zeros: tensor,
    read: async (t: Tensor) => (t.dtype === 'u32' ? new Uint32Array(t.size) : new Float32Array(t.size)),
    flush: async () => {},
  };
  return new Proxy(base, {
    get: (target, key) => (key in target ? target[key as keyof typeof target] : () => {}),
  }) as unknown as Backend;
}

/** Bytes per pool (live after the step, and peak) of one training step at `batch`. */
export async function estimateMemory(config: ViTConfig, plan: TuningPlan | null, batch: number): Promise<MemoryReport> {
  const model = new ViT(shapeOnlyBackend(), config, initViTWeights(config, 0, true), { plan, seed: 0 });
  const sampleShape = config.patchDim === null ? [config.tokens, config.dim] : [config.tokens - 1, config.patchDim];
  const per = sampleShape[0] * sampleShape[1];
  const data: Dataset = {
    size: batch,
    sampleShape,
    get: (idx) => ({ inputs: new Float32Array(idx.length * per), labels: new Uint32Array(idx.length) }),
  };
  await new Trainer(model).fit(data, { epochs: 1, batchSize: batch });
  return model.memory();
}
