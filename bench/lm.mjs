// Decoder language-model benchmark at SmolLM2-135M's shape (LLaMA family: hidden 576, 30 layers, 9 query
// heads and 3 key/value heads of 64, SwiGLU MLP 1536, vocabulary 49152, tied head, RoPE θ 1e5, RMSNorm
// ε 1e-5; random weights, seeded), sequence 256, batch 4:
//   a SNELL-8 and a LoRA-8 training step (branches on q, k, v, o, gate, up, down; forward, next-token
//   cross-entropy over the batch through the backend's tokenCrossEntropy, backward, AdamW) on Wasm and
//   on WebGPU, median of N timed steps after one warm-up, against `python3 bench/pytorch_lm.py` (the same
//   model written by hand in PyTorch, its SNELL module bench/pytorch.py's) in the same run;
//   the memory table of full fine-tuning, LoRA-8 and SNELL-8: peak bytes per pool of the model's ledger
//   (model.memory()) after a warm-up and the timed steps (one step for full fine-tuning).
// Prints the table; with --out FILE also writes it, with the machine's facts, the date, the command and
// the commit, into section "lm-cpu" of that file (bench/sections.mjs: the other sections and the
// section's notes block stay). Runs against the built package (npm run build first).
//
//   npm run bench:lm [-- options]          = node bench/lm.mjs [options]
//     --backends wasm,webgpu  which of ours to measure (default both)
//     --steps N               timed steps per row (default 3); a software GPU (lavapipe, SwiftShader) times
//                             SNELL-8 only and only with --steps given (a full-shape step takes many minutes there)
//     --seq N  --batch N      sequence length (default 256) and batch (default 4)
//     --layers N              decoder layers (default 30; fewer for a quick check of the script)
//     --methods snell,lora,full  which rows (default all; full fine-tuning has a memory row only)
//     --skip-torch            leave out PyTorch
//     --out FILE              write section "lm-cpu" there (default: print only)
//   PYTHON=/path/to/python3 picks the interpreter (default: the first of python3, /usr/bin/python3 that has torch).

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { backendOf, isSoftwareGpu, median, uniform } from './adapter.mjs';
import { gitCommit, withSection } from './sections.mjs';
import { AdamW, DecoderLM, IGNORE_LABEL, lmWeightShapes, parseLmConfig, POOLS, targetNames } from '../dist/node.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const args = process.argv.slice(2);
const opt = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const positive = (name, fallback) => {
  const v = Number(opt(name, fallback));
  if (!(Number.isInteger(v) && v >= 1)) throw new Error(`${name} takes a positive integer, got ${opt(name, fallback)}`);
  return v;
};
const log = (line) => process.stderr.write(`${line}\n`);
const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0)} s`;

const BACKENDS = opt('--backends', 'wasm,webgpu').split(',');
const SEQ = positive('--seq', 256);
const BATCH = positive('--batch', 4);
const LAYERS = positive('--layers', 30);
const STEPS = args.includes('--steps') ? positive('--steps', 3) : null;
const METHODS = opt('--methods', 'snell,lora,full').split(',');
const unknown = METHODS.filter((m) => !['snell', 'lora', 'full'].includes(m));
if (unknown.length) throw new Error(`--methods takes snell, lora, full; got ${unknown.join(', ')}`);
const TIMED = ['snell', 'lora'].filter((m) => METHODS.includes(m));
const SECTION = 'lm-cpu';

/** SmolLM2-135M's config.json, with `layers` decoder layers. */
const config = parseLmConfig({
  model_type: 'llama',
  vocab_size: 49152,
  hidden_size: 576,
  intermediate_size: 1536,
  num_hidden_layers: LAYERS,
  num_attention_heads: 9,
  num_key_value_heads: 3,
  head_dim: 64,
  rms_norm_eps: 1e-5,
  rope_theta: 100000,
  max_position_embeddings: 8192,
  tie_word_embeddings: true,
});
const SHAPE_NAME = `SmolLM2-135M shape${LAYERS === 30 ? '' : ` (${LAYERS} layer${LAYERS === 1 ? '' : 's'})`}, T ${SEQ}, batch ${BATCH}`;

const TARGETS = targetNames('llama');
const SNELL_PLAN = { method: 'snell', rank: 8, kernelHeads: 2, sparsity: 0.9, targets: TARGETS };
const LM_PLANS = {
  snell: { label: 'SNELL-8', plan: SNELL_PLAN },
  lora: { label: 'LoRA-8', plan: { method: 'lora', rank: 8, kernelHeads: 1, sparsity: 0, targets: TARGETS } },
  full: { label: 'full fine-tuning', plan: { ...SNELL_PLAN, method: 'full' } },
};
const ADAMW = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 1e-4, maxGradNorm: null };

/** Every tensor under its Hugging Face name: norms 1, the rest uniform in ±0.05 (seeded per tensor). */
function randomWeights() {
  return new Map(
    [...lmWeightShapes(config)].map(([name, shape], i) => {
      const size = shape.reduce((a, d) => a * d, 1);
      const data = name.endsWith('norm.weight') ? new Float32Array(size).fill(1) : uniform(size, 1000 + i, 0.05);
      return [name, { shape, data }];
    }),
  );
}

/** Token ids [B, T] (seeded) and next-token labels: labels[b, t] = ids[b, t + 1], the last of each row ignored. */
function tokenBatch() {
  let s = 4242;
  const ids = Int32Array.from({ length: BATCH * SEQ }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % config.vocabSize;
  });
  const labels = Uint32Array.from(ids, (_, i) => ((i + 1) % SEQ === 0 ? IGNORE_LABEL : ids[i + 1]));
  return { batch: { ids, shape: [BATCH, SEQ] }, labels };
}

/**
 * `timedSteps` training steps after one warm-up of `method` on `backend`; returns
 * { ms (median), tokensPerSecond, steps, loss (last), trainable (parameter count), memory (the ledger's report) }.
 */
async function trainSteps(backend, method, weights, timedSteps) {
  const kind = backend.kind;
  const model = new DecoderLM(backend, config, weights, { plan: LM_PLANS[method].plan, seed: 1 });
  try {
    const b = model.backend;
    const params = model.params();
    const optimizer = new AdamW(b, model.ledger, params, ADAMW);
    const { batch, labels } = tokenBatch();
    const labelTensor = b.upload(labels, [BATCH * SEQ], 'u32');
    const step = async () => {
      const logits = model.forward(batch, true);
      const [loss, dLogits, correct] = [b.zeros([1]), b.zeros(logits.shape), b.zeros([1], 'u32')];
      b.tokenCrossEntropy(logits, labelTensor, loss, dLogits, correct);
      b.free(logits);
      model.backward(dLogits);
      b.free(dLogits);
      optimizer.step();
      const [value] = await b.read(loss);
      b.free(loss);
      b.free(correct);
      return value;
    };
    let t0 = performance.now();
    let loss = await step();
    log(
      `  ${kind} ${LM_PLANS[method].label}: warm-up step ${((performance.now() - t0) / 1000).toFixed(1)} s, loss ${loss.toFixed(4)}`,
    );
    const times = [];
    for (let i = 0; i < timedSteps; i++) {
      t0 = performance.now();
      loss = await step();
      times.push(performance.now() - t0);
      log(
        `  ${kind} ${LM_PLANS[method].label}: step ${i + 1}/${timedSteps} ${(times[i] / 1000).toFixed(1)} s, loss ${loss.toFixed(4)}`,
      );
    }
    b.free(labelTensor);
    const ms = times.length ? median(times) : null;
    return {
      ms,
      tokensPerSecond: ms ? (BATCH * SEQ) / (ms / 1000) : null,
      steps: times.length,
      loss,
      trainable: params.reduce((n, p) => n + p.tensor.size, 0),
      memory: model.memory(),
    };
  } finally {
    model.dispose();
  }
}

async function attempt(what, body) {
  try {
    return await body();
  } catch (e) {
    log(`  ${what}: failed (${e.message})`);
    return { missing: `failed (${e.message.split('\n')[0]})` };
  }
}

function findPython() {
  const candidates = process.env.PYTHON ? [process.env.PYTHON] : ['python3', '/usr/bin/python3'];
  return candidates.find((py) => spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0) ?? null;
}

/** bench/pytorch_lm.py's JSON, with OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset (OpenBLAS picks its kernel for this CPU). */
function runPytorch() {
  if (args.includes('--skip-torch')) return { missing: 'not run (--skip-torch)' };
  if (TIMED.length === 0) return { missing: 'not run (no timed method)' };
  const py = findPython();
  if (!py) return { missing: 'not installed' };
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const pyArgs = [
    join(here, 'pytorch_lm.py'),
    '--seq',
    SEQ,
    '--batch',
    BATCH,
    '--layers',
    LAYERS,
    '--steps',
    STEPS ?? 3,
    '--methods',
    TIMED.join(','),
  ].map(String);
  log(`\npytorch: ${py} ${pyArgs.join(' ')}`);
  const r = spawnSync(py, pyArgs, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 3_600_000 });
  if (r.status !== 0) return { missing: `failed (${r.error?.message ?? `exit ${r.status}`})` };
  try {
    return { python: py, ...JSON.parse(r.stdout.trim().split('\n').pop()) };
  } catch (e) {
    return { missing: `unreadable output (${e.message})` };
  }
}

function cpuModel() {
  const line = existsSync('/proc/cpuinfo')
    ? readFileSync('/proc/cpuinfo', 'utf8')
        .split('\n')
        .find((l) => l.startsWith('model name'))
    : null;
  return line ? line.split(':')[1].trim() : (os.cpus()[0]?.model ?? 'unknown');
}

// ------------------------------------------------------------------------------------------------ run
const weights = randomWeights();
const weightCount = [...weights.values()].reduce((n, w) => n + w.data.length, 0);
log(`${SHAPE_NAME}: ${(weightCount / 1e6).toFixed(1)} M random weights`);
const torch = runPytorch();
log(`[${elapsed()}] pytorch ${torch.missing ?? 'done'}`);

// One backend per kind, shared by its rows (each model is disposed before the next is built).
const ours = {};
const memory = {};
for (const kind of BACKENDS) {
  log(`\n${kind}:`);
  const backend = await attempt(kind, () => backendOf(kind));
  if (backend.missing) {
    ours[kind] = { ...backend, train: {} };
    continue;
  }
  const software = isSoftwareGpu(backend);
  ours[kind] = { description: backend.description, software, train: {} };
  for (const method of TIMED) {
    if (software && (STEPS === null || method !== 'snell')) {
      ours[kind].train[method] = { missing: 'skipped (software GPU)' };
      continue;
    }
    ours[kind].train[method] = await attempt(`${kind} ${method}`, () => trainSteps(backend, method, weights, STEPS ?? 3));
  }
  // The ledger counts bytes the same on every backend: the memory table takes the first measured backend's steps.
  if (!memory.kind) {
    memory.kind = kind;
    for (const method of TIMED) {
      const timed = ours[kind].train[method];
      memory[method] = timed.missing ? await attempt(`memory ${method}`, () => trainSteps(backend, method, weights, 0)) : timed;
    }
    if (METHODS.includes('full')) {
      log(`  ${kind}: full fine-tuning, one step for the memory table`);
      memory.full = await attempt('memory full', () => trainSteps(backend, 'full', weights, 0));
    }
  }
  backend.destroy();
  log(`[${elapsed()}] ${kind} done`);
}
log(`[${elapsed()}] all done`);

// ------------------------------------------------------------------------------------------------ table
const fmt = (v) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const cell = (source, pick, unit) => {
  if (source?.missing) return { text: source.missing };
  const v = source && pick(source);
  return v == null ? { text: 'n/a' } : { value: v, text: `${fmt(v)} ${unit}` };
};
const ratio = (a, b) => (a.value != null && b.value != null ? (a.value / b.value).toFixed(2) : '–');
const rows = [];
for (const method of TIMED) {
  const name = `${LM_PLANS[method].label} step`;
  for (const [what, unit, pick, pickTorch] of [
    ['', 'ms', (s) => s.ms, (t) => t.train?.[method]?.ms],
    [': throughput', 'tokens/s', (s) => s.tokensPerSecond, (t) => t.train?.[method]?.tokens_per_s],
  ]) {
    const t = cell(torch, pickTorch, unit);
    const mine = BACKENDS.map((k) => cell(ours[k].missing ? ours[k] : ours[k].train[method], pick, unit));
    rows.push(
      `| ${name}${what} | ${mine.map((c) => c.text).join(' | ')} | ${t.text} | ${mine.map((c) => ratio(c, t)).join(' | ')} |`,
    );
  }
}
const table = [
  `| ${SHAPE_NAME} | ${BACKENDS.map((k) => `ours, ${k}`).join(' | ')} | PyTorch CPU | ${BACKENDS.map((k) => `${k} / PyTorch`).join(' | ')} |`,
  `|---|${BACKENDS.map(() => '---:').join('|')}|---:|${BACKENDS.map(() => '---:').join('|')}|`,
  ...rows,
];

const mib = (bytes) => (bytes / 2 ** 20).toFixed(0);
const memoryLines = memory.kind
  ? [
      `Memory (ours, ${SHAPE_NAME}; MiB, peak per pool of the model's ledger over a warm-up step and the timed steps, one step for full fine-tuning):`,
      '',
      `| method | trainable params | ${POOLS.join(' | ')} | peak total |`,
      `|---|---:|${POOLS.map(() => '---:').join('|')}|---:|`,
      ...['full', 'lora', 'snell']
        .filter((method) => METHODS.includes(method))
        .map((method) => {
          const r = memory[method];
          const cells =
            !r || r.missing
              ? [r?.missing ?? 'not measured', ...POOLS.map(() => ''), '']
              : [r.trainable.toLocaleString('en-US'), ...POOLS.map((p) => mib(r.memory.peak[p])), mib(r.memory.peakTotal)];
          return `| ${[LM_PLANS[method].label, ...cells].join(' | ')} |`;
        }),
    ]
  : [];

const steps = (k) => {
  const counts = Object.values(ours[k].train)
    .map((s) => s.steps)
    .filter((s) => s != null);
  return counts.length ? `median of ${[...new Set(counts)].join(' or ')} step(s) after one warm-up` : 'no step timed';
};
const tf = torch.facts;
const facts = [
  `- CPU: ${cpuModel()}, ${os.cpus().length} logical cores (Node's count), ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ${os.type()} ${os.release()} ${os.arch()}`,
  `- Node ${process.version}; snell-js ${JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version} (dist/node.js)`,
  ...BACKENDS.map(
    (k) =>
      `- ${k === 'wasm' ? 'Wasm backend' : 'WebGPU adapter'}: ${ours[k].description ?? ours[k].missing} (${ours[k].missing ? 'not measured' : steps(k)})`,
  ),
  torch.missing
    ? `- PyTorch: ${torch.missing}`
    : `- PyTorch ${tf.torch} (${torch.python}, Python ${tf.python}), CPU, float32, ${tf.threads} threads (torch.set_num_threads(os.cpu_count())), ${tf.parallel}` +
      (tf.openblas ? `; OpenBLAS: ${tf.openblas.config}, kernel ${tf.openblas.core}` : '') +
      `; OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset for its run; median of ${torch.train?.snell?.steps} step(s) after one warm-up`,
];
const notes = [
  'Ratios are of the values shown: for a step (ms) above 1 means ours is slower than PyTorch; for tokens/s below 1 means ours is slower.',
  '',
  `- model: LlamaForCausalLM at SmolLM2-135M's shape (hidden 576, ${LAYERS} layers, 9 query heads and 3 key/value heads of 64, SwiGLU MLP 1536, vocabulary 49152, tied head, RoPE θ 1e5, RMSNorm ε 1e-5), random float32 weights; ${BATCH} sequences of ${SEQ} random tokens, no padding.`,
  "- step: forward, next-token cross-entropy over every position but each sequence's last (ours: the backend's `tokenCrossEntropy`; PyTorch: `F.cross_entropy` with ignore_index), backward, AdamW (lr 1e-3, weight decay 1e-4) over the branches only; embedding, norms, projections and head frozen. Ours: `DecoderLM` + `AdamW` (bench/lm.mjs); PyTorch: the same model written out in bench/pytorch_lm.py (no transformers).",
  "- SNELL-8: r 8 over 2 kernel heads, s 0.9, on q, k, v, o, gate, up, down of every layer, no branch dropout (PyTorch: bench/pytorch.py's `Snell`, the authors' cdist merge and torch.quantile selection). LoRA-8: (x·A)·B on the same projections.",
];

const command =
  process.env.npm_lifecycle_event === 'bench:lm'
    ? `npm run bench:lm${args.length ? ` -- ${args.join(' ')}` : ''}`
    : `node bench/lm.mjs${args.length ? ` ${args.join(' ')}` : ''}`;
const date = new Date()
  .toISOString()
  .replace('T', ' ')
  .replace(/\.\d+Z$/, ' UTC');
console.log(['', ...facts, '', ...table, '', ...memoryLines, ''].join('\n'));
const out = opt('--out', null);
if (out) {
  const section = [
    `## Decoder LM on the CPU: ${BACKENDS.join(' and ')} against PyTorch CPU`,
    '',
    `Produced ${date}, at commit ${gitCommit(root)}, by \`${command}\` (bench/lm.mjs, after \`npm run build\`).`,
    '',
    ...facts,
    '',
    ...table,
    '',
    ...notes,
    ...(memoryLines.length ? ['', ...memoryLines] : []),
    '',
    `Whole run: ${elapsed()}.`,
  ].join('\n');
  writeFileSync(out, withSection(existsSync(out) ? readFileSync(out, 'utf8') : '', SECTION, section));
  log(`wrote section "${SECTION}" of ${out}`);
}
process.exit(0);
