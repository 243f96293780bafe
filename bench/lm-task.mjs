// The language-model task's results table: SNELL-8, LoRA-8, full fine-tuning and the head alone on
// the same task and held-out split (each row `snell train` with the embedded LM, one process per run,
// its --json result read back): held-out perplexity before and after, trainable parameters, peak
// memory of all pools together, training time. Every row trains on the same windows with the same
// seed, epochs and batch; the learning rates are the CLI's per-method defaults (src/cli/train-lm.ts)
// unless --lr METHOD=LR[,LR…] gives a sweep, where each method's row is its best held-out
// perplexity and the sweep is printed below the table. With --seeds N each row is the mean ± the
// standard deviation over seeds 0 … N−1 (a seed draws the held-out split, the windows kept, the
// branches' initialisation and the data order). Runs the built CLI (npm run build first).
//
//   node bench/lm-task.mjs [--data spam-assassin] [--train-examples 512] [--test-examples 128]
//     [--epochs 1] [--batch 8] [--seq-len 128] [--seeds 1] [--backend wasm] [--lr snell=1e-2,3e-2 …]

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const opt = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const many = (name) => args.flatMap((a, i) => (a === name ? [args[i + 1]] : []));
const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

const ROWS = [
  { label: 'SNELL-8', method: 'snell', flags: ['--rank', '8'] },
  { label: 'LoRA-8', method: 'lora', flags: ['--rank', '8'] },
  { label: 'full fine-tuning', method: 'full', flags: [] },
  { label: 'head only', method: 'head', flags: [] },
];
const shared = [
  '--model',
  opt('--model', 'embedded-lm'),
  '--data',
  opt('--data', 'spam-assassin'),
  '--train-examples',
  opt('--train-examples', '512'),
  '--test-examples',
  opt('--test-examples', '128'),
  '--epochs',
  opt('--epochs', '1'),
  '--batch',
  opt('--batch', '8'),
  '--seq-len',
  opt('--seq-len', '128'),
  '--backend',
  opt('--backend', 'wasm'),
  '--json',
];
const seeds = Number(opt('--seeds', '1'));
/** METHOD → learning rates to try (none: the CLI's default). */
const sweeps = Object.fromEntries(
  many('--lr').map((s) => {
    const [method, list] = s.split('=');
    return [method, list.split(',').map(Number)];
  }),
);

function trainOnce(row, seed, lr) {
  const argv = [cli, 'train', ...shared, '--method', row.method, ...row.flags, '--seed', String(seed)];
  if (lr !== undefined) argv.push('--lr', String(lr));
  const started = performance.now();
  const r = spawnSync(process.execPath, argv, { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`${row.label} (seed ${seed}) failed (${r.status}):\n${r.stderr}${r.stdout.slice(-2000)}`);
  const events = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l));
  const result = events.find((e) => e.event === 'result');
  const start = events.find((e) => e.event === 'start');
  return { ...result, lr: start.lr, wall: (performance.now() - started) / 1000 };
}

const mean = (xs) => xs.reduce((a, x) => a + x, 0) / xs.length;
const sd = (xs) => (xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1)));
const show = (xs, digits) => (xs.length < 2 ? xs[0].toFixed(digits) : `${mean(xs).toFixed(digits)} ± ${sd(xs).toFixed(digits)}`);

const table = [];
const sweepLines = [];
for (const row of ROWS) {
  const lrs = sweeps[row.method] ?? [undefined];
  let best = null;
  for (const lr of lrs) {
    const runs = Array.from({ length: seeds }, (_, seed) => trainOnce(row, seed, lr));
    const ppl = mean(runs.map((r) => r.after.perplexity));
    if (lrs.length > 1) sweepLines.push(`  ${row.label} lr ${runs[0].lr}: held-out perplexity ${ppl.toFixed(2)}`);
    process.stderr.write(`${row.label} lr ${runs[0].lr}: ${ppl.toFixed(2)}\n`);
    if (!best || ppl < best.ppl) best = { ppl, runs };
  }
  table.push({ row, runs: best.runs });
}

const first = table[0].runs[0];
console.log(
  `Held-out perplexity of the embedded LM fine-tuned on ${opt('--data', 'spam-assassin')} (causal LM): ` +
    `${opt('--train-examples', '512')} training windows of ${opt('--seq-len', '128')} tokens, ${opt('--test-examples', '128')} held out ` +
    `(${first.after.count} tokens), ${opt('--epochs', '1')} epoch(s), batch ${opt('--batch', '8')}, ${first.backend}, ` +
    `${seeds === 1 ? 'seed 0' : `mean ± sd over seeds 0–${seeds - 1}`}; learning rates ${Object.keys(sweeps).length ? 'swept where listed below, else ' : ''}the CLI's defaults (src/cli/train-lm.ts).\n`,
);
console.log(
  '| method | lr | held-out perplexity before → after | trainable parameters | peak memory (MiB) | training time (s) |',
);
console.log('|---|---|---|---|---|---|');
for (const { row, runs } of table) {
  console.log(
    `| ${row.label} | ${runs[0].lr} | ${show(
      runs.map((r) => r.before.perplexity),
      2,
    )} → ${show(
      runs.map((r) => r.after.perplexity),
      2,
    )} | ${runs[0].trainable.toLocaleString('en-US')} | ${show(
      runs.map((r) => r.peakBytes / 2 ** 20),
      1,
    )} | ${show(
      runs.map((r) => r.trainSeconds),
      1,
    )} |`,
  );
}
if (sweepLines.length) console.log(`\nLearning-rate sweep (mean held-out perplexity):\n${sweepLines.join('\n')}`);
