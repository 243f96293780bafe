// Soak: 1000 SNELL-8 training steps of a small ViT (the embedded model's shape, 32² one-channel images,
// batch 16) on each backend, printing every 100 steps the backend's live buffers (or tensors) and their
// bytes, the engine's live bytes per pool, and the process's resident and heap memory. All of them must
// stay flat after the first step: a leak shows as a column that grows. Not a timed test. Runs against the
// built package (npm run build first).
//
//   npm run soak [-- --backend wasm|webgpu] [-- --steps 1000]

import { parseArgs } from 'node:util';
import { createBackend, DEFAULT_PLAN, initViTWeights, POOLS, Trainer, ViT } from '../dist/node.js';

const { values } = parseArgs({ options: { backend: { type: 'string' }, steps: { type: 'string', default: '1000' } } });
const STEPS = Number(values.steps);
const BATCH = 16;
const EVERY = 100;
const CONFIG = { dim: 96, depth: 4, heads: 3, mlpRatio: 2, classes: 10, tokens: 17, patchDim: 64, pooling: 'cls', eps: 1e-6 };

/** 64 random samples of 16 patches × 64 values, labels by index. */
function randomData() {
  const size = 64;
  const per = (CONFIG.tokens - 1) * CONFIG.patchDim;
  const pixels = new Float32Array(size * per);
  let s = 7;
  for (let i = 0; i < pixels.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    pixels[i] = s / 2 ** 31 - 1;
  }
  return {
    size,
    sampleShape: [CONFIG.tokens - 1, CONFIG.patchDim],
    get: (idx) => {
      const inputs = new Float32Array(idx.length * per);
      idx.forEach((k, j) => inputs.set(pixels.subarray(k * per, (k + 1) * per), j * per));
      return { inputs, labels: Uint32Array.from(idx, (k) => k % CONFIG.classes) };
    },
  };
}

/** The backend's own count of what it holds: GPU buffers (WebGPU) or tensors in linear memory (Wasm). */
function held(backend) {
  if (backend.kind === 'webgpu') {
    const s = backend.stats();
    return { buffers: s.liveBuffers + s.pooledBuffers, bytes: s.liveBytes + s.pooledBytes };
  }
  const s = backend.memoryStats();
  return { buffers: s.tensors, bytes: s.memoryBytes };
}

const mib = (bytes) => (bytes / 2 ** 20).toFixed(2);

async function soak(kind) {
  const backend = await createBackend({ prefer: kind });
  console.log(`\n## ${kind}: ${backend.description}, ${STEPS} steps at batch ${BATCH}`);
  const model = new ViT(backend, CONFIG, initViTWeights(CONFIG, 0), {
    plan: { ...DEFAULT_PLAN, rank: 8, sparsity: 0.5 },
    seed: 0,
  });
  const data = randomData();
  const header = ['step', 'loss', 'buffers', 'held MiB', ...POOLS.map((p) => `${p} MiB`), 'rss MiB', 'heap MiB'];
  console.log(`| ${header.join(' | ')} |\n|${header.map(() => '---:|').join('')}`);
  const started = performance.now();
  await new Trainer(model).fit(data, {
    epochs: Math.ceil((STEPS * BATCH) / data.size),
    batchSize: BATCH,
    lr: 1e-3,
    logEvery: EVERY,
    onStep: (e) => {
      if (e.step % EVERY !== 0 && e.step !== STEPS - 1) return;
      const h = held(backend);
      const m = process.memoryUsage();
      const pools = POOLS.map((p) => mib(e.memory.live[p]));
      console.log(
        `| ${[e.step + 1, e.loss.toFixed(4), h.buffers, mib(h.bytes), ...pools, mib(m.rss), mib(m.heapUsed)].join(' | ')} |`,
      );
    },
  });
  console.log(`${kind}: ${((performance.now() - started) / 1000).toFixed(1)} s`);
  model.dispose();
  backend.destroy();
}

for (const kind of values.backend ? [values.backend] : ['wasm', 'webgpu']) await soak(kind);
