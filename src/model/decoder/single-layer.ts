// One decoder layer on its own, built from weights named as layer 0's (model.layers.0.… or
// transformer.h.0.…, with its branches' tensors): hidden states x [B, T, E] → y, and backward
// dy → dx with every branch's gradient. What the lm_block golden vectors check, through the same
// layers a DecoderLM builds.

import type { Backend, Tensor } from '../../backend.js';
import type { Weights } from '../../core/weights.js';
import { type MemoryLedger, MemoryLedger as Ledger, tracked } from '../memory.js';
import type { Linear } from '../linear.js';
import { ropeTables } from '../rope.js';
import { buildLayer } from './build-layer.js';
import { checkDecoderConfig, checkDecoderPlan, type DecoderConfig, type DecoderPlan } from './config.js';
import type { Sequence } from './layer.js';
import { DecoderParts } from './parts.js';

export interface SingleDecoderLayer {
  readonly backend: Backend;
  readonly ledger: MemoryLedger;
  readonly linears: readonly Linear[];
  /** y [B, T, E]; `lengths` right-pads (default: every token real); with `train`, kept for backward. */
  forward(x: Tensor, lengths: ArrayLike<number> | null, train: boolean): Tensor;
  backward(dy: Tensor): Tensor;
  dispose(): void;
}

export function singleDecoderLayer(
  backend: Backend,
  config: DecoderConfig,
  weights: Weights,
  plan: DecoderPlan,
): SingleDecoderLayer {
  checkDecoderConfig(config);
  checkDecoderPlan(plan, config);
  const ledger = new Ledger();
  const b = tracked(backend, ledger);
  const layer = buildLayer(new DecoderParts(b, ledger, weights, config, plan, () => 0.5), 0);
  const owned: Tensor[] = [];
  const upload = (data: Float32Array | Uint32Array, shape: number[], dtype?: 'u32') => {
    const t = ledger.within('frozen', () => b.upload(data, shape, dtype));
    owned.push(t);
    return t;
  };
  return {
    backend: b,
    ledger,
    linears: layer.linears,
    forward(x, lengths, train) {
      const [B, T] = x.shape as [number, number, number];
      let rope: Sequence['rope'] = null;
      if (config.arch === 'llama') {
        const t = ropeTables(config.headDim, T, config.ropeTheta!);
        rope = { cos: upload(t.cos, t.shape), sin: upload(t.sin, t.shape) };
      }
      let keyMask: Tensor | null = null;
      if (lengths && Array.from(lengths).some((n) => n !== T)) {
        const mask = new Uint32Array(B * T);
        for (let s = 0; s < B; s++) mask.fill(1, s * T, s * T + lengths[s]!);
        keyMask = upload(mask, [B, T], 'u32');
      }
      return layer.forward(x, { B, T, keyMask, rope }, train);
    },
    backward: (dy) => layer.backward(dy),
    dispose() {
      layer.release();
      for (const t of ledger.liveTensors()) b.free(t);
      owned.length = 0;
    },
  };
}
