// The method table on the demo task: `snell train` (the built CLI, dist/cli.js) on MNIST VTAB-1k with
// the embedded model, once per method and seed, each run in its own process; prints test accuracy
// (mean ± sample standard deviation over seeds), trainable parameters, peak memory and time, as a
// Markdown table, and writes every run's result to --json FILE when given.
//
//   npm run build && node bench/methods.mjs [--methods snell,lora,full,linear] [--seeds 0,1,2]
//       [--json FILE] [-- extra train flags, e.g. --epochs 20 --select last]
//
// `--cli PATH` runs another build's CLI (an older tree's dist/cli.js) with the same flags, for
// before-and-after comparisons in one session.

import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { trainOnce } from './train-once.mjs';

const LABEL = {
  snell: 'SNELL-8',
  lora: 'LoRA-8',
  full: 'full fine-tuning',
  linear: 'linear probe',
  klora: 'KLoRA-8',
  'snella-kernel': 'SNELLA kernel-8',
  dense: 'dense ΔW',
};

function options(argv) {
  const split = argv.indexOf('--');
  const own = split < 0 ? argv : argv.slice(0, split);
  const o = {
    methods: ['snell', 'lora', 'full', 'linear'],
    seeds: [0, 1, 2],
    json: null,
    cli: fileURLToPath(new URL('../dist/cli.js', import.meta.url)),
    extra: split < 0 ? [] : argv.slice(split + 1),
  };
  for (let i = 0; i < own.length; i += 2) {
    const [flag, value] = [own[i], own[i + 1]];
    if (flag === '--methods') o.methods = value.split(',');
    else if (flag === '--seeds') o.seeds = value.split(',').map(Number);
    else if (flag === '--json') o.json = value;
    else if (flag === '--cli') o.cli = value;
    else throw new Error(`unknown flag ${flag}: --methods, --seeds, --json, --cli, then -- and train flags`);
  }
  return o;
}

const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs) => (xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1)));

const o = options(process.argv.slice(2));
const base = ['--model', 'embedded', '--data', 'mnist', '--split', 'vtab1k', '--backend', 'wasm', ...o.extra];
const runs = [];
const rows = [];
for (const method of o.methods) {
  const results = [];
  for (const seed of o.seeds) {
    const r = await trainOnce(o.cli, [...base, '--method', method, '--seed', String(seed)]);
    console.error(`# ${method} seed ${seed}: ${(100 * r.test.accuracy).toFixed(2)}% in ${r.seconds.toFixed(1)} s`);
    results.push(r);
    runs.push({ method, seed, flags: base, ...r });
  }
  const acc = results.map((r) => 100 * r.test.accuracy);
  rows.push(
    `| ${LABEL[method] ?? method} | ${results[0].trainable.toLocaleString('en-US').replace(/,/g, ' ')} | ` +
      `${mean(acc).toFixed(2)} ± ${sd(acc).toFixed(2)}% | ${acc.map((a) => a.toFixed(2)).join(', ')} | ` +
      `${(Math.max(...results.map((r) => r.peakBytes)) / 2 ** 20).toFixed(1)} MiB | ${mean(results.map((r) => r.seconds)).toFixed(1)} s |`,
  );
}
console.log(`snell train ${base.join(' ')} --method M --seed S, seeds ${o.seeds.join(', ')}\n`);
console.log('| method | trainable parameters | test accuracy (mean ± sd) | per seed | peak memory | time per run |');
console.log('|---|---:|---:|---|---:|---:|');
for (const row of rows) console.log(row);
if (o.json) writeFileSync(o.json, `${JSON.stringify(runs, null, 2)}\n`);
