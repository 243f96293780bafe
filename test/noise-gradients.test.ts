// The backward pass with the training noise on is the derivative of the forward pass with that same
// noise. For every method, at a fixed noise seed (branch dropout and DropPath, backbone stochastic
// depth, all at rates high enough that every kind of mask drops something), the derivative of the
// loss along a random unit direction of each trainable tensor, by central differences on the float32
// model, against the backward pass's gradient·direction. A mask drawn differently in the two passes
// (per token in one, per sample in the other, say) moves the gradient far outside the tolerance.
// Where a perturbation moves an entry across SNELL's sparsity threshold (a jump, not a slope), the
// step is halved until the kept set stays put. SNELL's kept value W·stopgrad(|W|) (../SNELL.md,
// step 2) is by definition half the slope of W·|W|: under a sparsity, the branch tensors' gradients
// are checked as half the difference quotient.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../src/backend.js';
import { DEFAULT_PLAN, type TuneMethod, type TuningPlan, type ViTConfig } from '../src/model/config.js';
import { initViTWeights } from '../src/model/init.js';
import { ViT } from '../src/model/vit.js';
import { uniform } from '../src/reference/random.js';
import { createWasmBackend } from '../src/wasm/backend.js';

const config: ViTConfig = {
  dim: 16,
  depth: 3,
  heads: 2,
  mlpRatio: 2,
  classes: 3,
  tokens: 5,
  patchDim: 12,
  pooling: 'cls',
  eps: 1e-6,
};
const BATCH = 8;
const SEED = 2024;
const inputs = uniform(BATCH * 4 * 12, 5);
const labels = Uint32Array.from({ length: BATCH }, (_, i) => i % 3);
// timm's initialisation with its matrices 6 times wider (std 0.12): attention that is far from uniform,
// so the q and k branches have gradients well above the float32 rounding of the loss
const backbone = new Map(
  [...initViTWeights(config, 11)].map(([name, w]) => [
    name,
    w.shape.length === 2 && name.endsWith('.weight') ? { shape: w.shape, data: w.data.map((v) => 6 * v) } : w,
  ]),
);

describe('gradients with the training noise on match finite differences', () => {
  let b: Backend;
  beforeAll(async () => {
    b = await createWasmBackend({ threads: 1 });
  });
  afterAll(() => b.destroy());

  /** The loss at noise seed `seed`, and (with `grads`) every trainable tensor's gradient, by name. */
  const evaluate = async (model: ViT, seed: number, grads: boolean) => {
    const b = model.backend;
    const x = b.upload(inputs, [BATCH, 4, 12]);
    const y = b.upload(labels, [BATCH], 'u32');
    const logits = model.forward(x, true, seed);
    const [loss, dLogits, correct] = [b.zeros([1]), b.zeros(logits.shape), b.zeros([1], 'u32')];
    b.softmaxCrossEntropy(logits, y, loss, dLogits, correct);
    model.backward(dLogits);
    const value = ((await b.read(loss)) as Float32Array)[0];
    const out = new Map<string, Float32Array>();
    for (const p of model.params()) {
      if (grads && p.grad) out.set(p.name, (await b.read(p.grad)) as Float32Array);
      if (p.grad) b.free(p.grad);
      p.grad = null;
    }
    for (const t of [x, y, logits, loss, dLogits, correct]) b.free(t);
    return { loss: value, grads: out };
  };

  /** Which entries of each branch's update are kept (SNELL's sparsity), as one string to compare. */
  const keptSet = async (model: ViT) => {
    let s = '';
    for (const linear of model.blocks.flatMap((block) => block.linears)) {
      const w = await linear.branchUpdate();
      if (w) s += Array.from(w, (v) => (v === 0 ? '0' : '1')).join('');
    }
    return s;
  };

  const methods: Array<TuneMethod | 'linear'> = ['snell', 'snella', 'klora', 'lora', 'dense', 'full', 'linear'];
  for (const method of methods) {
    it(method, async () => {
      const plan: TuningPlan | null =
        method === 'linear'
          ? null
          : {
              ...DEFAULT_PLAN,
              method,
              rank: 4,
              kernelHeads: method === 'lora' ? 1 : 2,
              sparsity: method === 'klora' || method === 'lora' ? 0 : 0.5,
              branchDropout: 0.3,
              branchDropPath: 0.4,
            };
      const model = new ViT(b, config, backbone, { plan, seed: 3, dropPath: 0.6 });
      try {
        // away from the initialisation's zeros (LoRA's Out_Qs, a dense ΔW), so every gradient is alive
        model.params().forEach((p, i) => {
          const spread = p.name.includes('.learnable.') ? 1 : 0.3;
          const v = uniform(p.tensor.size, 100 + i, -spread, spread);
          if (p.tensor.size === 1) v[0] = 1 + v[0];
          b.write(p.tensor, v);
        });
        const base = await evaluate(model, SEED, true);
        // the noise is on: another seed draws other masks and gives another loss
        expect(Math.abs((await evaluate(model, SEED + 1, false)).loss - base.loss)).toBeGreaterThan(1e-4);
        const kept = await keptSet(model);
        let [checked, precise] = [0, 0];
        for (const [i, p] of model.params().entries()) {
          const g = base.grads.get(p.name);
          expect(g, `${p.name} has a gradient`).toBeDefined();
          const original = (await b.read(p.tensor)) as Float32Array;
          // a branch factor [H, rows, k] moves along one row only, so one row (or column) of the update
          // changes and fewer entries can cross the threshold
          const raw = uniform(p.tensor.size, 500 + i);
          if (p.tensor.shape.length === 3 && p.name.includes('.learnable.')) {
            const k = p.tensor.shape[2];
            const row = (i * 7) % (p.tensor.size / k);
            raw.forEach((_, j) => {
              if (Math.floor(j / k) !== row) raw[j] = 0;
            });
          }
          const norm = Math.hypot(...raw);
          const dir = raw.map((v) => v / norm);
          const stopgrad =
            plan !== null &&
            plan.sparsity > 0 &&
            (plan.method === 'snell' || plan.method === 'snella') &&
            p.name.includes('.learnable.');
          const analytic = (stopgrad ? 2 : 1) * g!.reduce((a, v, j) => a + v * dir[j], 0);
          const at = async (eps: number) => {
            b.write(
              p.tensor,
              original.map((v, j) => v + eps * dir[j]),
            );
            const still = (await keptSet(model)) === kept;
            const { loss } = await evaluate(model, SEED, false);
            return { loss, still };
          };
          let eps = 1e-2;
          let numeric = NaN;
          for (let tries = 0; tries < 8; tries++, eps /= 2) {
            const points = [await at(eps), await at(-eps), await at(eps / 2), await at(-eps / 2)];
            if (points.some((q) => !q.still)) continue;
            // Richardson's extrapolation of two central differences: the ε² term cancels
            const [wide, narrow] = [(points[0].loss - points[1].loss) / (2 * eps), (points[2].loss - points[3].loss) / eps];
            numeric = (4 * narrow - wide) / 3;
            break;
          }
          b.write(p.tensor, original);
          expect(Number.isFinite(numeric), `${p.name}: the kept set moved at every step size`).toBe(true);
          // the float32 loss's rounding (2 ulps) through the extrapolation (3× that of one difference over 2ε)
          const rounding = (3 * 2 * 2 ** -23 * Math.abs(base.loss)) / (2 * eps);
          expect(
            Math.abs(numeric - analytic),
            `${p.name}: ${numeric} by differences at ε ${eps}, ${analytic} by backward`,
          ).toBeLessThan(0.02 * Math.abs(analytic) + rounding + 1e-5);
          checked++;
          if (rounding < Math.abs(analytic)) precise++;
        }
        expect(checked).toBe(model.params().length);
        // most tensors are checked at a step where the rounding allowance is small beside the slope
        expect(precise).toBeGreaterThanOrEqual(0.75 * checked);
      } finally {
        model.dispose();
      }
    }, 120_000);
  }
});
