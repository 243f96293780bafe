// Training benchmark: a ViT-Tiny/16 SNELL-8 training step at batch 8 (224² images) on every backend
// available (median time and images/s; other sizes and methods through stepTime's options), and the memory table at ViT-B/16 size, batch 8, for full
// fine-tuning, dense sparse tuning, LoRA-8 and SNELL-8, each from the engine's own allocations after one
// full training step. Runs against the built package (npm run build first).
//
//   npm run bench:train [-- --backend wasm|webgpu] [-- --skip-memory]
//
// bench/compare.mjs imports stepTime() and memoryTable() (the same measurements, returned as numbers).

import { pathToFileURL } from 'node:url';
import { backendOf } from './adapter.mjs';
import { createBackend, DEFAULT_PLAN, initViTWeights, POOLS, Trainer, ViT, vitConfig } from '../dist/node.js';

export const BATCH = 8;

/**
 * A dataset of `n` random 224² RGB images already cut into 196 patches of 768 values. Every batch holds the
 * same pixels (made once), so making the data costs nothing inside a timed step, as in bench/pytorch.py.
 */
function randomImages(config, n) {
  const sampleShape = [config.tokens - 1, config.patchDim];
  const per = sampleShape[0] * sampleShape[1];
  let pixels = new Float32Array(0);
  return {
    size: n,
    sampleShape,
    get(indices) {
      if (pixels.length !== indices.length * per) {
        pixels = new Float32Array(indices.length * per);
        let s = 12345;
        for (let i = 0; i < pixels.length; i++) {
          s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
          pixels[i] = s / 2 ** 31 - 1;
        }
      }
      return { inputs: pixels, labels: Uint32Array.from(indices, (k) => k % config.classes) };
    },
  };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mib = (bytes) => (bytes / 2 ** 20).toFixed(0);

/** The tuning plans the benchmarks compare (the memory table adds dense sparse tuning). */
export const PLANS = {
  snell: { label: 'SNELL-8', plan: { ...DEFAULT_PLAN, method: 'snell', rank: 8 } },
  lora: { label: 'LoRA-8', plan: { ...DEFAULT_PLAN, method: 'lora', rank: 8, kernelHeads: 1, sparsity: 0 } },
  full: { label: 'full fine-tuning', plan: { ...DEFAULT_PLAN, method: 'full' } },
};

/**
 * Median training step of a ViT-`size`/16 (tiny or base) with `method` (a key of PLANS) on backend `kind`, at
 * `batch` images; the first step, which compiles and allocates, is not counted. `branchNoise` false sets the
 * branches' dropout and DropPath to 0 (the plans' default is 0.1 each). Returns
 * { kind, description, size, method, batch, branchNoise, ms, imagesPerSecond, steps }.
 */
export async function stepTime(
  kind,
  { size = 'tiny', method = 'snell', batch = BATCH, steps: stepsWanted, branchNoise = true, log = console.log } = {},
) {
  const backend = await backendOf(kind);
  const config = vitConfig(size, { classes: 100 });
  const plan = branchNoise ? PLANS[method].plan : { ...PLANS[method].plan, branchDropout: 0, branchDropPath: 0 };
  const model = new ViT(backend, config, initViTWeights(config, 1), { plan, seed: 1 });
  const trainer = new Trainer(model);
  const slow = kind === 'webgpu' && /llvmpipe|lavapipe|swiftshader/i.test(backend.description);
  const steps = stepsWanted ?? (slow ? 3 : 6);
  const times = [];
  await trainer.fit(randomImages(config, batch * (steps + 1)), {
    epochs: 1,
    batchSize: batch,
    lr: 1e-3,
    seed: 1,
    onStep: (e) => e.step > 0 && times.push(batch / e.imagesPerSecond),
  });
  model.dispose();
  backend.destroy();
  const t = median(times);
  log(
    `ViT-${size}/16 ${PLANS[method].label} training step, batch ${batch}${branchNoise ? '' : ', branch noise off'}, ${kind} (${backend.description}): median ${(t * 1000).toFixed(0)} ms, ${(batch / t).toFixed(2)} images/s (${times.length} steps)`,
  );
  return {
    kind,
    description: backend.description,
    size,
    method,
    batch,
    branchNoise,
    ms: t * 1000,
    imagesPerSecond: batch / t,
    steps: times.length,
  };
}

/** The memory table (printed as Markdown); returns its lines. */
export async function memoryTable({ log = console.log } = {}) {
  const lines = [];
  const out = (line) => {
    lines.push(line);
    log(line);
  };
  const backend = await createBackend({ prefer: 'wasm' });
  const config = vitConfig('base', { classes: 100 });
  const weights = initViTWeights(config, 1);
  const methods = [
    [PLANS.full.label, PLANS.full.plan],
    ['dense sparse tuning (ΔW)', { ...DEFAULT_PLAN, method: 'dense', branchDropout: 0, branchDropPath: 0 }],
    [PLANS.lora.label, PLANS.lora.plan],
    [PLANS.snell.label, PLANS.snell.plan],
  ];
  log('');
  out(`Memory at ViT-B/16, batch ${BATCH}, one full training step (MiB, peak per pool from the engine's allocations):`);
  out(`| method | ${POOLS.join(' | ')} | peak total |`);
  out(`|---|${POOLS.map(() => '---:').join('|')}|---:|`);
  for (const [name, plan] of methods) {
    const model = new ViT(backend, config, weights, { plan, seed: 1 });
    await new Trainer(model).fit(randomImages(config, BATCH), { epochs: 1, batchSize: BATCH, lr: 1e-3, seed: 1 });
    const m = model.memory();
    out(`| ${name} | ${POOLS.map((p) => mib(m.peak[p])).join(' | ')} | ${mib(m.peakTotal)} |`);
    model.dispose();
  }
  backend.destroy();
  return lines;
}

async function main() {
  const args = process.argv.slice(2);
  const only = args.includes('--backend') ? [args[args.indexOf('--backend') + 1]] : ['wasm', 'webgpu'];
  for (const kind of only) {
    try {
      await stepTime(kind);
    } catch (e) {
      console.log(`${kind}: not available here (${e.message})`);
    }
  }
  if (!args.includes('--skip-memory')) await memoryTable();
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) await main();
