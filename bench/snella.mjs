// SNELLA against SNELL and LoRA on the demo task (the embedded model, MNIST VTAB-1k, Wasm): SNELLA
// with its allocator (every layer from --sparsity 0.01 to a model-wide target), SNELL at the target as
// one fixed sparsity (the same final budget of kept entries), and LoRA-8, with the same epochs, batch
// and seeds. Prints a Markdown table (test accuracy mean ± sample sd, per seed, trainable parameters,
// peak memory, time per run) and SNELLA's final sparsities by projection and by block (means over
// seeds), and writes every run to --json FILE when given.
//
//   npm run build && node bench/snella.mjs [--target 0.5] [--seeds 0,1,2] [--json FILE] [-- train flags]

import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { trainOnce } from './train-once.mjs';

const argv = process.argv.slice(2);
const split = argv.indexOf('--');
const own = split < 0 ? argv : argv.slice(0, split);
const extra = split < 0 ? [] : argv.slice(split + 1);
let [target, seeds, json] = [0.5, [0, 1, 2], null];
for (let i = 0; i < own.length; i += 2) {
  const [flag, value] = [own[i], own[i + 1]];
  if (flag === '--target') target = Number(value);
  else if (flag === '--seeds') seeds = value.split(',').map(Number);
  else if (flag === '--json') json = value;
  else throw new Error(`unknown flag ${flag}: --target, --seeds, --json, then -- and train flags`);
}
const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const base = ['--model', 'embedded', '--data', 'mnist', '--split', 'vtab1k', '--backend', 'wasm', '--rank', '8', ...extra];
const rows = [
  { label: `SNELLA-8 + allocator (0.01 → ${target})`, flags: ['--method', 'snella', '--target-sparsity', String(target)] },
  { label: `SNELL-8, fixed s = ${target}`, flags: ['--method', 'snell', '--sparsity', String(target)] },
  { label: 'LoRA-8', flags: ['--method', 'lora'] },
];

const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs) => (xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1)));
const runs = [];
const lines = [];
for (const row of rows) {
  const results = [];
  for (const seed of seeds) {
    const r = await trainOnce(cli, [...base, ...row.flags, '--seed', String(seed)]);
    console.error(`# ${row.label} seed ${seed}: ${(100 * r.test.accuracy).toFixed(2)}% in ${r.seconds.toFixed(1)} s`);
    results.push(r);
    runs.push({ row: row.label, seed, flags: [...base, ...row.flags], ...r });
  }
  const acc = results.map((r) => 100 * r.test.accuracy);
  lines.push(
    `| ${row.label} | ${results[0].trainable.toLocaleString('en-US').replace(/,/g, ' ')} | ` +
      `${mean(acc).toFixed(2)} ± ${sd(acc).toFixed(2)}% | ${acc.map((a) => a.toFixed(2)).join(', ')} | ` +
      `${(Math.max(...results.map((r) => r.peakBytes)) / 2 ** 20).toFixed(1)} MiB | ${mean(results.map((r) => r.seconds)).toFixed(1)} s |`,
  );
}
console.log(`snell train ${base.join(' ')} + each row's flags --seed S, seeds ${seeds.join(', ')}\n`);
console.log('| method | trainable parameters | test accuracy (mean ± sd) | per seed | peak memory | time per run |');
console.log('|---|---:|---:|---|---:|---:|');
for (const line of lines) console.log(line);

// SNELLA's final sparsities (the kept model's), averaged over seeds, by projection and by block
const snella = runs.filter((r) => r.row === rows[0].label);
const names = Object.keys(snella[0].sparsity);
const avg = (name) => mean(snella.map((r) => r.sparsity[name]));
const group = (key) => {
  const out = new Map();
  for (const name of names) {
    const k = key(name);
    out.set(k, [...(out.get(k) ?? []), avg(name)]);
  }
  return [...out].map(([k, v]) => `${k} ${mean(v).toFixed(3)}`).join(', ');
};
const overall = mean(snella.map((r) => mean(names.map((n) => r.sparsity[n]))));
console.log(`\nSNELLA's final sparsities (mean over seeds; unweighted layer mean ${overall.toFixed(3)}):`);
console.log(`- by projection: ${group((n) => n.match(/additional_(\w+)\./)[1])}`);
console.log(`- by block: ${group((n) => `block ${n.match(/^blocks\.(\d+)\./)[1]}`)}`);
if (json) writeFileSync(json, `${JSON.stringify(runs, null, 2)}\n`);
