// Where a training step's time goes: per backend primitive (Wasm: wall time of each synchronous call) or
// per WGSL kernel (WebGPU: GPU time from timestamp queries, each dispatch in a pass of its own), summed
// over the timed steps and divided by their number. Runs against the built package (npm run build first).
//
//   npm run bench:profile -- [--backend wasm|webgpu] [--size tiny|base] [--method snell|lora|full]
//                            [--batch N] [--steps N]

import { initViTWeights, Trainer, ViT, vitConfig } from '../dist/node.js';
import { backendOf } from './adapter.mjs';
import { PLANS } from './train.mjs';

const args = process.argv.slice(2);
const opt = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const kind = opt('--backend', 'wasm');
const size = opt('--size', 'tiny');
const method = opt('--method', 'snell');
const batch = Number(opt('--batch', 8));
const steps = Number(opt('--steps', 3));

/** Wraps every primitive of a synchronous backend so that its wall time is summed under its name. */
function timeCalls(backend) {
  const totals = new Map();
  const skip = new Set(['read', 'flush', 'destroy', 'constructor']);
  for (let proto = Object.getPrototypeOf(backend); proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      if (skip.has(name) || typeof backend[name] !== 'function' || Object.hasOwn(backend, name)) continue;
      const inner = backend[name].bind(backend);
      backend[name] = (...a) => {
        const t0 = performance.now();
        try {
          return inner(...a);
        } finally {
          const t = totals.get(name) ?? { dispatches: 0, ms: 0 };
          t.dispatches++;
          t.ms += performance.now() - t0;
          totals.set(name, t);
        }
      };
    }
  }
  return {
    report: ({ reset }) => {
      const out = [...totals].map(([kernel, t]) => ({ kernel, ...t }));
      if (reset) totals.clear();
      return out.sort((a, b) => b.ms - a.ms);
    },
  };
}

if (!PLANS[method]) throw new Error(`--method ${method}: use one of ${Object.keys(PLANS).join(', ')}`);
const backend = await backendOf(kind, { profile: kind === 'webgpu' });
const profiler = kind === 'webgpu' ? { report: (o) => backend.profile(o) } : timeCalls(backend);
const config = vitConfig(size, { classes: 100 });
const model = new ViT(backend, config, initViTWeights(config, 1), { plan: PLANS[method].plan, seed: 1 });
const sampleShape = [config.tokens - 1, config.patchDim];
const pixels = Float32Array.from({ length: batch * sampleShape[0] * sampleShape[1] }, (_, i) => Math.sin(i) * 0.5);
const data = { sampleShape, get: (idx) => ({ inputs: pixels, labels: Uint32Array.from(idx, (k) => k % config.classes) }) };

const trainer = new Trainer(model);
const trainOn = (n) => trainer.fit({ ...data, size: n }, { epochs: 1, batchSize: batch, lr: 1e-3, seed: 1 });
await trainOn(batch); // the first step compiles and allocates: not counted
await backend.flush();
await profiler.report({ reset: true });
const t0 = performance.now();
await trainOn(batch * steps);
await backend.flush();
const perStep = (performance.now() - t0) / steps;
const rows = await profiler.report({ reset: false });
model.dispose();
backend.destroy();

const total = rows.reduce((a, r) => a + r.ms, 0) / steps;
console.log(
  `ViT-${size}/16 ${PLANS[method].label}, batch ${batch}, ${backend.description}: ${perStep.toFixed(1)} ms per step (wall, mean of ${steps}); profiled ${total.toFixed(1)} ms per step`,
);
console.log('| kernel | calls per step | ms per step | share |');
console.log('|---|---:|---:|---:|');
for (const r of rows) {
  const ms = r.ms / steps;
  if (ms < total * 0.002) continue;
  console.log(`| ${r.kernel} | ${(r.dispatches / steps).toFixed(0)} | ${ms.toFixed(2)} | ${((ms / total) * 100).toFixed(1)}% |`);
}
process.exit(0);
