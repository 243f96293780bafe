// snell-js against PyTorch (CPU) on the same measurements, in one run, as one table:
//   matmul GFLOP/s at 1024³ and the ViT-B/16 shapes (through the backend's own `matmul`),
//   the SNELL adapter fwd+bwd at 768×768 and 768×3072 (r = 16, s = 0.9, 1576 rows) and its selection,
//   a ViT-Tiny/16 SNELL-8 training step at batch 8,
// on Wasm, on WebGPU when an adapter exists (few repetitions on a software rasterizer such as lavapipe), and
// with `python3 bench/pytorch.py` (the authors' PyTorch formulation). Prints the table and writes it, with the
// machine's facts, the date and the command, to BENCHMARKS.md (overwritten). Runs against the built package
// (npm run build first).
//
//   npm run bench [-- options]        = node bench/compare.mjs [options]
//     --webgpu-steps N      timed ViT-Tiny steps on WebGPU (default 1 on a software GPU, 3 otherwise; 0 skips)
//     --skip-webgpu         Wasm and PyTorch only
//     --skip-memory         leave out the ViT-B/16 memory table (bench:train's second half)
//     --keep-openblas-env   keep OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE for PyTorch (default: unset for its run,
//                           so OpenBLAS picks its kernel for this CPU)
//     --out FILE            write there instead of BENCHMARKS.md ("-" writes nothing)
//   PYTHON=/path/to/python3 picks the interpreter (default: the first of python3, /usr/bin/python3 that has torch).

import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { backendOf, benchAdapter, isSoftwareGpu, median, RANK, ROWS, SPARSITY, uniform } from './adapter.mjs';
import { BATCH, memoryTable, stepTime } from './train.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const args = process.argv.slice(2);
const opt = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const log = (line) => process.stderr.write(`${line}\n`);
const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0)} s`;

const MATMUL_SHAPES = [[1024, 1024, 1024], [1576, 768, 768], [1576, 768, 3072]];

/** GFLOP/s of out = a·b through backend.matmul ([M,K]·[K,N], each call flushed and waited for). */
async function benchMatmul(kind) {
  const backend = await backendOf(kind);
  const reps = isSoftwareGpu(backend) ? 2 : 5;
  const result = { kind, description: backend.description, reps, shapes: [] };
  try {
    for (const [m, k, n] of MATMUL_SHAPES) {
      const a = backend.upload(uniform(m * k, 1, 1), [m, k]);
      const b = backend.upload(uniform(k * n, 2, 1), [k, n]);
      const out = backend.zeros([m, n]);
      const once = async () => {
        backend.matmul(a, b, out);
        await backend.flush();
      };
      await once();
      const times = [];
      for (let r = 0; r < reps; r++) {
        const t0 = performance.now();
        await once();
        times.push(performance.now() - t0);
      }
      const ms = median(times);
      result.shapes.push({ m, k, n, ms, gflops: (2 * m * k * n) / (ms / 1e3) / 1e9 });
      log(`  ${kind} matmul ${m}x${k}x${n}: median ${ms.toFixed(1)} ms = ${(2 * m * k * n / (ms / 1e3) / 1e9).toFixed(1)} GFLOP/s (${reps} runs)`);
      for (const t of [a, b, out]) backend.free(t);
    }
  } finally {
    backend.destroy();
  }
  return result;
}

function findPython() {
  const candidates = process.env.PYTHON ? [process.env.PYTHON] : ['python3', '/usr/bin/python3'];
  for (const py of candidates) {
    const r = spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore' });
    if (r.status === 0) return py;
  }
  return null;
}

function runPytorch() {
  const py = findPython();
  if (!py) return { missing: 'not installed' };
  const env = { ...process.env };
  if (!args.includes('--keep-openblas-env')) {
    delete env.OPENBLAS_CORETYPE;
    delete env.OPENBLAS_L2_SIZE;
  }
  log(`\npytorch: ${py} bench/pytorch.py`);
  const r = spawnSync(py, [join(here, 'pytorch.py')], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 300_000 });
  if (r.status !== 0) return { missing: `failed (${r.error?.message ?? `exit ${r.status}`})` };
  try {
    return { python: py, ...JSON.parse(r.stdout.trim().split('\n').pop()) };
  } catch (e) {
    return { missing: `unreadable output (${e.message})` };
  }
}

async function attempt(what, body) {
  try {
    return await body();
  } catch (e) {
    log(`  ${what}: not available here (${e.message})`);
    return { missing: 'not available' };
  }
}

function cpuModel() {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8').split('\n').find((l) => l.startsWith('model name'));
    if (line) return line.split(':')[1].trim();
  } catch {}
  return os.cpus()[0]?.model ?? 'unknown';
}

// ------------------------------------------------------------------------------------------------ run
const skipWebgpu = args.includes('--skip-webgpu');
const torch = runPytorch();
log(`[${elapsed()}] pytorch ${torch.missing ?? 'done'}`);

const ours = { wasm: {}, webgpu: {} };
for (const kind of skipWebgpu ? ['wasm'] : ['wasm', 'webgpu']) {
  log(`\n${kind}:`);
  ours[kind].matmul = await attempt(`${kind} matmul`, () => benchMatmul(kind));
  if (ours[kind].matmul.missing) {
    ours[kind].adapter = ours[kind].train = ours[kind].matmul;
    continue;
  }
  ours[kind].adapter = await attempt(`${kind} adapter`, () => benchAdapter(kind, { log }));
  const slow = /llvmpipe|lavapipe|swiftshader/i.test(ours[kind].matmul.description);
  const steps = kind === 'webgpu' ? Number(opt('--webgpu-steps', slow ? 1 : 3)) : undefined;
  ours[kind].train = steps === 0 ? { missing: 'skipped' } : await attempt(`${kind} ViT-Tiny step`, () => stepTime(kind, { steps, log }));
  log(`[${elapsed()}] ${kind} done`);
}
if (skipWebgpu) ours.webgpu = { matmul: { missing: 'skipped' }, adapter: { missing: 'skipped' }, train: { missing: 'skipped' } };
const memory = args.includes('--skip-memory') ? null : await attempt('memory table', () => memoryTable({ log }));
log(`[${elapsed()}] all done`);

// ------------------------------------------------------------------------------------------------ table
const fmt = (v, unit) => {
  if (v == null) return null;
  if (unit === 'ms') return v >= 100 ? v.toFixed(0) : v.toFixed(1);
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
};
const cell = (source, pick, unit) => {
  if (source?.missing) return { text: source.missing };
  const v = pick(source);
  return v == null ? { text: 'n/a' } : { value: v, text: `${fmt(v, unit)} ${unit}` };
};
const ratio = (a, b) => (a.value != null && b.value != null ? `${(a.value / b.value).toFixed(2)}` : '–');
const adapterRow = (source, n, m, key) => source?.shapes?.find((s) => s.n === n && s.m === m)?.[key];
const torchAdapter = (n, m, key) => torch.adapter?.[`${n}x${m}`]?.[key];

const rows = [];
const add = (label, unit, pickWasm, pickGpu, pickTorch, which) => {
  const w = cell(ours.wasm[which], pickWasm, unit);
  const g = cell(ours.webgpu[which], pickGpu, unit);
  const t = cell(torch, pickTorch, unit);
  rows.push(`| ${label} | ${w.text} | ${g.text} | ${t.text} | ${ratio(w, t)} | ${ratio(g, t)} |`);
};
for (const [m, k, n] of MATMUL_SHAPES) {
  const pick = (s) => s.shapes?.find((x) => x.m === m && x.k === k && x.n === n)?.gflops;
  add(`matmul ${m}×${k}×${n} (M×K×N)`, 'GFLOP/s', pick, pick, (t) => t.matmul?.[`${m}x${k}x${n}`]?.gflops, 'matmul');
}
for (const [n, m] of [[768, 768], [768, 3072]]) {
  add(`adapter fwd+bwd ${n}×${m}, r ${RANK}, s ${SPARSITY}, ${ROWS} rows`, 'ms', (s) => adapterRow(s, n, m, 'ms'), (s) => adapterRow(s, n, m, 'ms'), () => torchAdapter(n, m, 'ms'), 'adapter');
}
for (const [n, m] of [[768, 768], [768, 3072]]) {
  const count = n * m >= 1e6 ? `${(n * m / 1e6).toFixed(2)} M` : `${(n * m / 1e3).toFixed(0)} k`;
  add(`quantile selection, ${count} elements`, 'ms', (s) => adapterRow(s, n, m, 'selMs'), (s) => adapterRow(s, n, m, 'selMs'), () => torchAdapter(n, m, 'quantile_ms'), 'adapter');
}
add(`ViT-Tiny/16 SNELL-8 training step, batch ${BATCH}`, 'ms', (s) => s.ms, (s) => s.ms, (t) => t.vit_tiny?.ms, 'train');
add(`ViT-Tiny/16 SNELL-8 training, batch ${BATCH}`, 'images/s', (s) => s.imagesPerSecond, (s) => s.imagesPerSecond, (t) => t.vit_tiny?.images_per_s, 'train');

const table = [
  '| measurement | ours, wasm | ours, webgpu | PyTorch CPU | wasm / PyTorch | webgpu / PyTorch |',
  '|---|---:|---:|---:|---:|---:|',
  ...rows,
];

const gpuDescription = ours.webgpu.matmul?.description ?? ours.webgpu.matmul?.missing ?? 'skipped';
const ob = torch.facts?.openblas;
const reps = (k) => {
  const a = ours[k].adapter?.reps;
  const mm = ours[k].matmul?.reps;
  const st = ours[k].train?.steps;
  return a == null ? 'none' : `matmul median of ${mm}, adapter median of ${a}, training median of ${st ?? 0} step(s), each after one warm-up`;
};
const facts = [
  `- CPU: ${cpuModel()}, ${os.cpus().length} logical cores (Node's count), ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ${os.type()} ${os.release()} ${os.arch()}`,
  `- Node ${process.version}; snell-js ${JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version} (dist/node.js)`,
  `- Wasm backend: ${ours.wasm.matmul?.description ?? ours.wasm.matmul?.missing} (${reps('wasm')})`,
  `- WebGPU adapter: ${gpuDescription} (${reps('webgpu')})`,
  torch.missing
    ? `- PyTorch: ${torch.missing}`
    : `- PyTorch ${torch.facts.torch} (${torch.python}, Python ${torch.facts.python}), CPU, float32, ${torch.facts.threads} threads (torch.set_num_threads(os.cpu_count())), ${torch.facts.parallel}, ${torch.facts.blas_info.replace(/^- Build settings: /, '')}` +
      (ob ? `; OpenBLAS: ${ob.config}, kernel ${ob.core}, ${ob.threads} threads` : '') +
      `; OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE ${args.includes('--keep-openblas-env') ? `kept (${JSON.stringify(torch.facts.env)})` : 'unset for the PyTorch run'}`,
];

const command = process.env.npm_lifecycle_event === 'bench' ? `npm run bench${args.length ? ` -- ${args.join(' ')}` : ''}` : `node bench/compare.mjs${args.length ? ` ${args.join(' ')}` : ''}`;
const date = new Date().toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
const notes = [
  'Ratios are of the values shown: for times (ms) above 1 means ours is slower than PyTorch; for GFLOP/s and images/s, below 1 means ours is slower.',
  '',
  '- matmul: out = a·b in float32 through the backend\'s `matmul` (ours, each call flushed) and `torch.matmul` (PyTorch); 2·M·K·N flops.',
  `- adapter: one forward + backward of one SNELL adapter (H = 2 kernel heads, r = ${RANK}, s = ${SPARSITY}, x [${ROWS}, n], dy given), outputs dx, dA, dB. Ours: \`SnellAdapterOp\` (bench/adapter.mjs). PyTorch: the authors' module (ssfgunner/SNELL): W = Σ_h c_h·torch.cdist(A, B)[h], t = torch.quantile(|W|, s), Ws = W·F.threshold(|W|.detach(), t, 0), y = F.linear(x, Wsᵀ), y.backward(dy) through autograd, no checkpointing (it is commented out there).`,
  '- quantile selection: the threshold alone (ours: `quantileAbs`, exact selection; PyTorch: `torch.quantile` on the flattened |W|, which sorts).',
  `- ViT-Tiny/16 step: batch ${BATCH} of 224² images as 196 patches + cls, D 192, 12 blocks, 3 heads, MLP 768, pre-LN (eps 1e-6), exact GELU, SNELL-8 (s = 0.9, H = 2) on q, k, v, proj, fc1, fc2, dropout 0.1 on branch inputs (not proj), DropPath 0.1 on branch outputs, frozen base, AdamW on adapters + head + cls token; cross-entropy over 100 classes, random inputs. Ours: \`Trainer.fit\` (bench/train.mjs), PyTorch: bench/pytorch.py's own compact model (no timm).`,
];

const md = [
  '# Benchmarks: snell-js against PyTorch (CPU)',
  '',
  `Produced ${date} by \`${command}\` (bench/compare.mjs, after \`npm run build\`). Overwritten by each run.`,
  '',
  '## Machine',
  '',
  ...facts,
  '',
  '## Results',
  '',
  ...table,
  '',
  ...notes,
  ...(memory && !memory.missing ? ['', '## Memory (ours)', '', memory[0], '', ...memory.slice(1)] : []),
  '',
  `Whole run: ${elapsed()}.`,
  '',
];

console.log(['', ...facts, '', ...table, ''].join('\n'));
const out = opt('--out', join(root, 'BENCHMARKS.md'));
if (out !== '-') {
  writeFileSync(out, md.join('\n'));
  log(`wrote ${out}`);
}
process.exit(0);
