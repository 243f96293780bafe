// snell-js against PyTorch on the same measurements, in one run, as one table:
//   matmul GFLOP/s at 1024³ and the ViT-B/16 shapes (and 4096³ on a hardware GPU, the card's ceiling),
//   the SNELL adapter fwd+bwd at 768×768 and 768×3072 (r = 16, s = 0.9, 1576 rows) and its selection,
//   ViT-Tiny/16 and ViT-B/16 training steps with SNELL-8, LoRA-8 and full fine-tuning, SNELL-8 and LoRA-8 both with
//   branch noise (dropout and DropPath 0.1) and without,
// on Wasm and on WebGPU when an adapter exists, and with `python3 bench/pytorch.py` (the authors' PyTorch
// formulation) on the CPU or on CUDA. On a software GPU (lavapipe, SwiftShader) WebGPU runs the matmuls, the
// adapter and the ViT-Tiny SNELL-8 step only, with few repetitions: its other steps would take minutes each.
// Wasm matmuls run on both builds of the kernels, relaxed SIMD and plain, in alternation (bench/matmul.mjs); Node 20,
// which has relaxed SIMD behind a flag only, runs the whole bench again with --experimental-wasm-relaxed-simd.
// Under the table, the targets (bench/targets.mjs), each met or missed by this run's measurements.
// Prints the table and writes it, with the machine's facts, the date, the command and the commit, into one
// section of BENCHMARKS.md (replacing that section, keeping its hand-written notes block and the other sections:
// bench/sections.mjs). Runs against the built package (npm run build first).
//
//   npm run bench [-- options]        = node bench/compare.mjs [options]
//     --backends wasm,webgpu  which of ours to measure (default both)
//     --torch-device cpu|cuda PyTorch's device (default cpu); cuda also measures 4096³ matmuls
//     --batch N               training batch (default 8)
//     --models tiny,base      --methods snell,lora,full    which training steps (default all)
//     --steps N               timed training steps per row (default: 3, 1 for ViT-B on a CPU, 1 on a software GPU)
//     --branch-noise on,off   the branches' dropout and DropPath (default both: every row with on, 0.1 each, as the
//                             reference trains; then SNELL-8 and LoRA-8 again with off, both 0, here and in
//                             PyTorch's model; the first listed applies to every method)
//     --matmul-variants       on WebGPU, also time every matmul variant forced in turn (the tuner's candidates)
//     --quick                 few repetitions everywhere (pytorch.py --quick, 3 matmul and adapter runs, 1 timed
//                             training step a row): checks that a run works, its figures are not ones to keep
//     --skip-memory           leave out the ViT-B/16 memory table (bench:train's second half)
//     --keep-openblas-env     keep OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE for PyTorch (default: unset for its run,
//                             so OpenBLAS picks its kernel for this CPU)
//     --section NAME          the section of BENCHMARKS.md to replace (default: "cpu", or "gpu" with cuda)
//     --out FILE              write there instead of BENCHMARKS.md ("-" writes nothing)
//   PYTHON=/path/to/python3 picks the interpreter (default: the first of python3, /usr/bin/python3 that has torch).

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { backendOf, benchAdapter, isSoftwareGpu, median, RANK, ROWS, SPARSITY, uniform } from './adapter.mjs';
import { rerunWithRelaxedSimd, wasmMatmulPaths } from './matmul.mjs';
import { gitCommit, withSection } from './sections.mjs';
import { targets, targetsTable, trainKey } from './targets.mjs';
import { memoryTable, PLANS, stepTime } from './train.mjs';
import { MATMUL_VARIANTS } from '../dist/node.js';

rerunWithRelaxedSimd(import.meta.url);

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const args = process.argv.slice(2);
const opt = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const log = (line) => process.stderr.write(`${line}\n`);
const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0)} s`;

const BACKENDS = opt('--backends', 'wasm,webgpu').split(',');
const TORCH_DEVICE = opt('--torch-device', 'cpu');
const BATCH = Number(opt('--batch', 8));
const MODELS = opt('--models', 'tiny,base').split(',');
const METHODS = opt('--methods', 'snell,lora,full').split(',');
const QUICK = args.includes('--quick');
const SECTION = opt('--section', TORCH_DEVICE === 'cpu' ? 'cpu' : 'gpu');
const NOISES = opt('--branch-noise', 'on,off').split(',');
if (NOISES.length === 0 || NOISES.some((n) => !['on', 'off'].includes(n)) || new Set(NOISES).size !== NOISES.length)
  throw new Error(`--branch-noise takes on, off, on,off or off,on, got ${NOISES.join(',')}`);
/** The training rows: every model × method with the first branch noise, the branched methods again with the other. */
const BRANCHED = METHODS.filter((m) => m !== 'full');
const TRAIN_ROWS = MODELS.flatMap((size) =>
  NOISES.flatMap((noise, i) =>
    (i === 0 ? METHODS : BRANCHED).map((method) => ({ size, method, noise, key: trainKey(size, method, noise) })),
  ),
);
const MATMUL_SHAPES = [
  [1024, 1024, 1024],
  [1576, 768, 768],
  [1576, 768, 3072],
];
const CEILING_SHAPE = [4096, 4096, 4096];

/**
 * GFLOP/s of out = a·b ([M,K]·[K,N]) through a WebGPU backend's matmul. On a hardware GPU `reps` calls are queued and
 * flushed once (per-call waits would time the submit round trip), after 200 ms of warming; elsewhere each
 * call is flushed and timed.
 * `matmulVariant` forces one WebGPU matmul variant instead of the tuned plan.
 */
async function benchMatmul(kind, { matmulVariant, quiet = false } = {}) {
  const backend = await backendOf(kind, matmulVariant ? { matmulVariant } : {});
  const software = isSoftwareGpu(backend);
  const gpu = kind === 'webgpu' && !software;
  const reps = software ? 2 : gpu ? 20 : 5;
  const shapes = gpu ? [...MATMUL_SHAPES, CEILING_SHAPE] : MATMUL_SHAPES;
  const result = { kind, description: backend.description, reps, shapes: [], plan: backend.matmulPlan ?? null };
  const time = async (call) => {
    call();
    await backend.flush();
    if (gpu) {
      // an idle GPU runs at a fraction of its clock: keep it busy for 200 ms first
      for (const t0 = performance.now(); performance.now() - t0 < 200; ) {
        for (let r = 0; r < 5; r++) call();
        await backend.flush();
      }
      const t0 = performance.now();
      for (let r = 0; r < reps; r++) call();
      await backend.flush();
      return (performance.now() - t0) / reps;
    }
    const times = [];
    for (let r = 0; r < reps; r++) {
      const t0 = performance.now();
      call();
      await backend.flush();
      times.push(performance.now() - t0);
    }
    return median(times);
  };
  try {
    for (const [m, k, n] of shapes) {
      const a = backend.upload(uniform(m * k, 1, 1), [m, k]);
      const b = backend.upload(uniform(k * n, 2, 1), [k, n]);
      const out = backend.zeros([m, n]);
      const ms = await time(() => backend.matmul(a, b, out));
      const gflops = (2 * m * k * n) / (ms / 1e3) / 1e9;
      result.shapes.push({ m, k, n, ms, gflops });
      if (!quiet) log(`  ${kind} matmul ${m}x${k}x${n}: ${ms.toFixed(2)} ms = ${gflops.toFixed(1)} GFLOP/s (${reps} runs)`);
      for (const t of [a, b, out]) backend.free(t);
    }
  } finally {
    backend.destroy();
  }
  return result;
}

/**
 * The Wasm matmuls on the build the backend picks (relaxed SIMD where the engine has it) and, beside it, the plain
 * build's (`plain`, null where plain is the only one), timed in alternation: benchMatmul's result plus `plain`.
 */
async function benchWasmMatmul() {
  const r = await wasmMatmulPaths({ shapes: MATMUL_SHAPES, reps: QUICK ? 3 : 9 });
  const picked = r.paths.includes('relaxed') ? 'relaxed' : 'plain';
  const shapesOf = (simd) => r.shapes.map((s) => ({ m: s.m, k: s.k, n: s.n, ...s[simd] }));
  for (const s of r.shapes) {
    const cells = r.paths.map((p) => `${p} ${s[p].ms.toFixed(2)} ms = ${s[p].gflops.toFixed(1)} GFLOP/s`);
    log(`  wasm matmul ${s.m}x${s.k}x${s.n}: ${cells.join(', ')} (${r.reps} runs each, in alternation)`);
  }
  return {
    kind: 'wasm',
    description: r.descriptions[picked],
    reps: r.reps,
    shapes: shapesOf(picked),
    plain: picked === 'relaxed' ? shapesOf('plain') : null,
    plan: null,
  };
}

/** Every WebGPU matmul variant forced in turn: [{ variant, shapes }]. */
async function sweepMatmulVariants() {
  const out = [];
  for (const variant of MATMUL_VARIANTS.keys()) {
    const r = await benchMatmul('webgpu', { matmulVariant: variant, quiet: true });
    log(`    variant ${variant}: ${r.shapes.map((s) => `${s.m}x${s.k}x${s.n} ${s.gflops.toFixed(0)}`).join(', ')} GFLOP/s`);
    out.push({ variant, shapes: r.shapes });
  }
  return out;
}

function findPython() {
  const candidates = process.env.PYTHON ? [process.env.PYTHON] : ['python3', '/usr/bin/python3'];
  for (const py of candidates) {
    const r = spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore' });
    if (r.status === 0) return py;
  }
  return null;
}

/** bench/pytorch.py with `extra` arguments after --device and --batch: its JSON output, or { missing }. */
function runPytorch(extra) {
  const py = findPython();
  if (!py) return { missing: 'not installed' };
  const env = { ...process.env };
  if (!args.includes('--keep-openblas-env')) {
    delete env.OPENBLAS_CORETYPE;
    delete env.OPENBLAS_L2_SIZE;
  }
  const pyArgs = [
    join(here, 'pytorch.py'),
    '--device',
    TORCH_DEVICE,
    '--batch',
    String(BATCH),
    ...(QUICK ? ['--quick'] : []),
    ...extra,
  ];
  log(`\npytorch: ${py} ${pyArgs.join(' ')}`);
  const r = spawnSync(py, pyArgs, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 1_800_000 });
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
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('model name'));
    if (line) return line.split(':')[1].trim();
  } catch {}
  return os.cpus()[0]?.model ?? 'unknown';
}

/**
 * PyTorch's side: one run of bench/pytorch.py for everything with the first branch noise, one more of its training
 * steps alone for the branched methods with the other; `train` keyed as TRAIN_ROWS.
 */
function pytorchRuns() {
  const models = ['--models', MODELS.join(',')];
  const first = runPytorch([...models, '--methods', METHODS.join(','), '--branch-noise', NOISES[0]]);
  if (first.missing) return first;
  const train = {};
  for (const { size, method, noise, key } of TRAIN_ROWS) if (noise === NOISES[0]) train[key] = first.train?.[`${size}-${method}`];
  if (NOISES.length > 1 && BRANCHED.length > 0) {
    const more = runPytorch(['train', ...models, '--methods', BRANCHED.join(','), '--branch-noise', NOISES[1]]);
    for (const { size, method, noise, key } of TRAIN_ROWS) {
      if (noise === NOISES[1]) train[key] = more.missing ? { missing: more.missing } : more.train?.[`${size}-${method}`];
    }
  }
  return { ...first, train };
}

/** Training steps on `kind`: every row of TRAIN_ROWS, or what a software GPU can afford. */
async function benchTraining(kind, software) {
  const out = {};
  for (const { size, method, noise, key } of TRAIN_ROWS) {
    if (software && key !== 'tiny-snell') {
      out[key] = { missing: 'skipped (software GPU)' };
      continue;
    }
    const cpuBase = kind === 'wasm' && size === 'base';
    const steps = Number(opt('--steps', QUICK || software || cpuBase ? 1 : 3));
    out[key] = await attempt(`${kind} ViT-${size} ${method}, branch noise ${noise}`, () =>
      stepTime(kind, { size, method, batch: BATCH, steps, branchNoise: noise === 'on', log }),
    );
  }
  return out;
}

// ------------------------------------------------------------------------------------------------ run
const torch = pytorchRuns();
log(`[${elapsed()}] pytorch ${torch.missing ?? 'done'}`);

const ours = {};
for (const kind of BACKENDS) {
  log(`\n${kind}:`);
  const matmul = await attempt(`${kind} matmul`, () => (kind === 'wasm' ? benchWasmMatmul() : benchMatmul(kind)));
  if (kind === 'webgpu' && !matmul.missing && args.includes('--matmul-variants')) {
    matmul.variants = await attempt('matmul variants', sweepMatmulVariants);
  }
  if (matmul.missing) {
    ours[kind] = { matmul, adapter: matmul, train: {}, software: false };
    continue;
  }
  const software = /llvmpipe|lavapipe|swiftshader/i.test(matmul.description);
  const adapter = await attempt(`${kind} adapter`, () => benchAdapter(kind, { log, reps: QUICK ? 3 : undefined }));
  ours[kind] = { matmul, adapter, train: await benchTraining(kind, software), software };
  log(`[${elapsed()}] ${kind} done`);
}
const memory = args.includes('--skip-memory') ? null : await attempt('memory table', () => memoryTable({ log }));
log(`[${elapsed()}] all done`);

// ------------------------------------------------------------------------------------------------ table
const fmt = (v, unit) => {
  if (unit === 'ms') return v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(1) : v.toFixed(2);
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
};
const cell = (source, pick, unit) => {
  if (source?.missing) return { text: source.missing };
  const v = source && pick(source);
  return v == null ? { text: 'n/a' } : { value: v, text: `${fmt(v, unit)} ${unit}` };
};
const ratio = (a, b) => (a.value != null && b.value != null ? `${(a.value / b.value).toFixed(2)}` : '–');
const adapterRow = (source, n, m, key) => source?.shapes?.find((s) => s.n === n && s.m === m)?.[key];
const torchLabel = TORCH_DEVICE === 'cpu' ? 'PyTorch CPU' : `PyTorch ${TORCH_DEVICE.toUpperCase()}`;

const rows = [];
/** One row: `pick(source)` from each of our backends' `which` results, and `pickTorch` of `whichTorch(torch)`. */
const add = (label, unit, which, pick, pickTorch, whichTorch = (t) => t) => {
  const t = cell(torch.missing ? torch : whichTorch(torch), pickTorch, unit);
  const mine = BACKENDS.map((kind) => cell(which(ours[kind]), pick, unit));
  rows.push(`| ${label} | ${mine.map((c) => c.text).join(' | ')} | ${t.text} | ${mine.map((c) => ratio(c, t)).join(' | ')} |`);
};
const matmulShapes = [
  ...MATMUL_SHAPES,
  ...(BACKENDS.some((k) => ours[k].matmul?.shapes?.length > MATMUL_SHAPES.length) ? [CEILING_SHAPE] : []),
];
for (const [m, k, n] of matmulShapes) {
  const key = `${m}x${k}x${n}`;
  add(
    `matmul ${m}×${k}×${n} (M×K×N)`,
    'GFLOP/s',
    (o) => o.matmul,
    (s) => s.shapes?.find((x) => x.m === m && x.k === k && x.n === n)?.gflops,
    (t) => t.matmul?.[key]?.gflops,
  );
}
if (ours.wasm?.matmul?.plain) {
  for (const [m, k, n] of MATMUL_SHAPES) {
    add(
      `matmul ${m}×${k}×${n} (M×K×N), Wasm plain SIMD`,
      'GFLOP/s',
      (o) => (o === ours.wasm ? o.matmul : { missing: '–' }),
      (s) => s.plain.find((x) => x.m === m && x.k === k && x.n === n)?.gflops,
      (t) => t.matmul?.[`${m}x${k}x${n}`]?.gflops,
    );
  }
}
for (const [n, m] of [
  [768, 768],
  [768, 3072],
]) {
  add(
    `adapter fwd+bwd ${n}×${m}, r ${RANK}, s ${SPARSITY}, ${ROWS} rows`,
    'ms',
    (o) => o.adapter,
    (s) => adapterRow(s, n, m, 'ms'),
    (t) => t.adapter?.[`${n}x${m}`]?.ms,
  );
  add(
    `adapter fwd+bwd ${n}×${m}, against PyTorch hand-written`,
    'ms',
    (o) => o.adapter,
    (s) => adapterRow(s, n, m, 'ms'),
    (t) => t.adapter?.[`${n}x${m}`]?.handwritten_ms,
  );
}
for (const [n, m] of [
  [768, 768],
  [768, 3072],
]) {
  const count = n * m >= 1e6 ? `${((n * m) / 1e6).toFixed(2)} M` : `${((n * m) / 1e3).toFixed(0)} k`;
  add(
    `quantile selection, ${count} elements`,
    'ms',
    (o) => o.adapter,
    (s) => adapterRow(s, n, m, 'selMs'),
    (t) => t.adapter?.[`${n}x${m}`]?.quantile_ms,
  );
}
for (const { size, method, noise, key } of TRAIN_ROWS) {
  const quiet = noise === 'off' && method !== 'full' ? ', branch noise off' : '';
  const name = `ViT-${size === 'tiny' ? 'Tiny' : 'B'}/16 ${PLANS[method].label}, batch ${BATCH}${quiet}`;
  add(
    `${name}: step`,
    'ms',
    (o) => o.train[key],
    (s) => s.ms,
    (t) => t.ms,
    (t) => t.train?.[key],
  );
  add(
    `${name}: throughput`,
    'images/s',
    (o) => o.train[key],
    (s) => s.imagesPerSecond,
    (t) => t.images_per_s,
    (t) => t.train?.[key],
  );
}

const table = [
  `| measurement | ${BACKENDS.map((k) => `ours, ${k}`).join(' | ')} | ${torchLabel} | ${BACKENDS.map((k) => `${k} / PyTorch`).join(' | ')} |`,
  `|---|${BACKENDS.map(() => '---:').join('|')}|---:|${BACKENDS.map(() => '---:').join('|')}|`,
  ...rows,
];
const targetLines = targetsTable(targets({ ours, torch, torchDevice: TORCH_DEVICE }));
const variantTable = BACKENDS.flatMap((kind) => {
  const v = ours[kind].matmul?.variants;
  if (!Array.isArray(v) || v.length === 0) return [];
  const shapes = v[0].shapes.map((s) => `${s.m}×${s.k}×${s.n}`);
  return [
    '',
    `Each matmul variant of ${kind} forced in turn (GFLOP/s):`,
    '',
    `| variant | ${shapes.join(' | ')} |`,
    `|---|${shapes.map(() => '---:').join('|')}|`,
    ...v.map((x) => `| ${x.variant} | ${x.shapes.map((s) => fmt(s.gflops, 'GFLOP/s')).join(' | ')} |`),
  ];
});

const ob = torch.facts?.openblas;
const reps = (k) => {
  const mm = ours[k].matmul;
  if (mm?.missing) return mm.missing;
  const steps = Object.values(ours[k].train)
    .map((s) => s.steps)
    .filter((s) => s != null);
  const plan = mm.plan
    ? `; matmul variants (${mm.plan.source}): ${Object.entries(mm.plan.variants)
        .map(([c, v]) => `${c} ${v}`)
        .join(', ')}`
    : '';
  return `matmul ${mm.reps} runs, adapter median of ${ours[k].adapter?.reps}, training medians of ${[...new Set(steps)].join(' or ')} step(s), each after one warm-up${plan}`;
};
const torchFacts = torch.missing
  ? `- PyTorch: ${torch.missing}`
  : TORCH_DEVICE === 'cpu'
    ? `- PyTorch ${torch.facts.torch} (${torch.python}, Python ${torch.facts.python}), CPU, float32, ${torch.facts.threads} threads (torch.set_num_threads(os.cpu_count())), ${torch.facts.parallel}, ${torch.facts.blas_info.replace(/^- Build settings: /, '')}` +
      (ob
        ? `; OpenBLAS: ${ob.config}, kernel ${ob.core}, ${ob.threads} threads`
        : '; no OpenBLAS loaded: the system BLAS (libblas.so.3) is another, perhaps the unoptimised reference one') +
      `; OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE ${args.includes('--keep-openblas-env') ? `kept (${JSON.stringify(torch.facts.env)})` : 'unset for the PyTorch run'}`
    : `- PyTorch ${torch.facts.torch} (${torch.python}, Python ${torch.facts.python}) on ${torch.facts.device}, CUDA ${torch.facts.cuda}, float32 with TF32 ${torch.facts.tf32 ? 'on' : 'off (the default for matmuls)'}; times from torch.cuda.synchronize() around each step`;
const facts = [
  `- CPU: ${cpuModel()}, ${os.cpus().length} logical cores (Node's count), ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ${os.type()} ${os.release()} ${os.arch()}`,
  `- Node ${process.version}${process.execArgv.length ? ` ${process.execArgv.join(' ')}` : ''}; snell-js ${JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version} (dist/node.js)`,
  ...BACKENDS.map(
    (k) => `- ${k === 'wasm' ? 'Wasm backend' : 'WebGPU adapter'}: ${ours[k].matmul?.description ?? 'none'} (${reps(k)})`,
  ),
  torchFacts,
];

const command =
  process.env.npm_lifecycle_event === 'bench'
    ? `npm run bench${args.length ? ` -- ${args.join(' ')}` : ''}`
    : `node bench/compare.mjs${args.length ? ` ${args.join(' ')}` : ''}`;
const date = new Date()
  .toISOString()
  .replace('T', ' ')
  .replace(/\.\d+Z$/, ' UTC');
const notes = [
  'Ratios are of the values shown: for times (ms) above 1 means ours is slower than PyTorch; for GFLOP/s and images/s, below 1 means ours is slower.',
  '',
  `- matmul: out = a·b in float32 through the backend's \`matmul\` and \`torch.matmul\`; 2·M·K·N flops. On Wasm the kernels' build the backend picks (relaxed SIMD, f32x4.relaxed_madd, where the engine has it) and, in the rows marked plain SIMD, the simd128 build, the two timed in alternation (bench/matmul.mjs).${TORCH_DEVICE === 'cpu' ? '' : " 4096³ gives the card's float32 ceiling as cuBLAS reaches it."}`,
  `- adapter: one forward + backward of one SNELL adapter (H = 2 kernel heads, r = ${RANK}, s = ${SPARSITY}, x [${ROWS}, n], dy given), outputs dx, dA, dB. Ours: \`SnellAdapterOp\` (bench/adapter.mjs). PyTorch: the authors' module (ssfgunner/SNELL): W = Σ_h c_h·torch.cdist(A, B)[h], t = torch.quantile(|W|, s), Ws = W·F.threshold(|W|.detach(), t, 0), y = F.linear(x, Wsᵀ), y.backward(dy) through autograd, no checkpointing (it is commented out there).`,
  '- adapter against PyTorch hand-written: the same math with its backward written out (W formed once and kept for backward, t from torch.kthvalue, dA and dB from K = c·dW/D by two batched products), handwritten_step in bench/pytorch.py.',
  '- quantile selection: the threshold alone (ours: `quantileAbs`, exact selection; PyTorch: `torch.quantile` on the flattened |W|, which sorts).',
  `- training steps: batch ${BATCH} of 224² images as 196 patches + cls; ViT-Tiny/16 (D 192, 3 heads, MLP 768) and ViT-B/16 (D 768, 12 heads, MLP 3072), 12 pre-LN blocks (eps 1e-6), exact GELU, cross-entropy over 100 classes, random inputs, AdamW. SNELL-8 (s = 0.9, H = 2) and LoRA-8 branches on q, k, v, proj, fc1, fc2 with dropout 0.1 on branch inputs (not proj) and DropPath 0.1 on branch outputs, except in the rows marked branch noise off (both 0, here and in PyTorch's model), frozen base, adapters + head + cls token trained; full fine-tuning trains every parameter. Ours: \`Trainer.fit\` (bench/train.mjs); PyTorch: bench/pytorch.py's own compact model (no timm), LoRA as (x·A)·B.`,
];

const section = [
  `## ${SECTION === 'cpu' ? 'CPU' : SECTION === 'gpu' ? 'GPU' : SECTION}: ${BACKENDS.join(' and ')} against ${torchLabel}`,
  '',
  `Produced ${date}, at commit ${gitCommit(root)}, by \`${command}\` (bench/compare.mjs, after \`npm run build\`).`,
  '',
  ...facts,
  '',
  ...table,
  '',
  `### Targets (from this run's measurements above)`,
  '',
  ...targetLines,
  ...variantTable,
  '',
  ...notes,
  ...(memory && !memory.missing ? ['', `### Memory (ours, ViT-B/16, batch 8)`, '', memory[0], '', ...memory.slice(1)] : []),
  '',
  `Whole run: ${elapsed()}.`,
].join('\n');

console.log(['', ...facts, '', ...table, '', ...targetLines, ...variantTable, ''].join('\n'));
const out = opt('--out', join(root, 'BENCHMARKS.md'));
if (out !== '-') {
  writeFileSync(out, withSection(existsSync(out) ? readFileSync(out, 'utf8') : '', SECTION, section));
  log(`wrote section "${SECTION}" of ${out}`);
}
process.exit(0);
