// What a training checkpoint costs: after one SNELL-8 step (batch 1, Wasm), the time to read back and
// write what `snell train` writes every --save-every steps (the adapter and head through saveAdapter,
// AdamW's moments as F32 safetensors), and its bytes, at the embedded model's size and at ViT-B/16.
// Runs against the built package (npm run build first).
//
//   node bench/checkpoint.mjs [--size embedded|base]

import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  createBackend,
  DEFAULT_PLAN,
  initViTWeights,
  nodeFolder,
  saveAdapter,
  Trainer,
  ViT,
  vitConfig,
  writeSafetensors,
} from '../dist/node.js';

const SIZES = {
  embedded: { dim: 96, depth: 4, heads: 3, mlpRatio: 2, classes: 10, tokens: 17, patchDim: 64, pooling: 'cls', eps: 1e-6 },
  base: vitConfig('base', { classes: 10 }),
};
const { values } = parseArgs({ options: { size: { type: 'string' } } });

async function measure(name) {
  const config = SIZES[name];
  const backend = await createBackend({ prefer: 'wasm' });
  const model = new ViT(backend, config, initViTWeights(config, 0), {
    plan: { ...DEFAULT_PLAN, rank: 8, sparsity: 0.5 },
    seed: 0,
  });
  const per = (config.tokens - 1) * config.patchDim;
  const data = {
    size: 1,
    sampleShape: [config.tokens - 1, config.patchDim],
    get: (idx) => ({ inputs: new Float32Array(idx.length * per).fill(0.1), labels: new Uint32Array(idx.length) }),
  };
  const trainer = new Trainer(model);
  await trainer.fit(data, { epochs: 1, batchSize: 1 });
  const dir = mkdtempSync(join(tmpdir(), 'snell-ckpt-'));
  const times = [];
  for (let run = 0; run < 5; run++) {
    const t0 = performance.now();
    const optimizer = await trainer.optimizerSnapshot();
    const folder = nodeFolder(dir);
    await saveAdapter(folder, model, { baseModel: name });
    const tensors = new Map([...optimizer.moments].map(([k, d]) => [k, { shape: [d.length], data: d }]));
    await folder.write('optimizer.safetensors', (sink) =>
      writeSafetensors(sink, tensors, { steps: String(optimizer.steps) }).then(() => undefined),
    );
    times.push(performance.now() - t0);
  }
  const bytes = readdirSync(dir).reduce((a, f) => a + statSync(join(dir, f)).size, 0);
  rmSync(dir, { recursive: true, force: true });
  times.sort((a, b) => a - b);
  console.log(
    `${name}: ${(bytes / 2 ** 20).toFixed(2)} MiB per checkpoint, median ${times[2].toFixed(1)} ms (min ${times[0].toFixed(1)}, max ${times[4].toFixed(1)}) of 5`,
  );
  model.dispose();
  backend.destroy();
}

for (const name of values.size ? [values.size] : ['embedded', 'base']) await measure(name);
