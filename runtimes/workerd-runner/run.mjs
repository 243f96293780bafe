#!/usr/bin/env node
// The workerd conformance runner: serves a worker built from the package's edge entry (dist/edge.js)
// in workerd on a free 127.0.0.1 port, sends it every merge_*, block_*, noise_block_* and train_* vector of DIR, and
// prints the lines it answers (Wasm from precompiled modules, one thread) and the closing count. Exits:
//   0  every case passed   1  a case failed or workerd failed   2  bad arguments   3  workerd cannot start
// Needs a build (npm run build) first.
//
// usage: node runtimes/workerd-runner/run.mjs --vectors DIR [--filter TEXT]

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { serveWorker, WorkerdUnavailable } from './serve.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..', '..');
const EDGE = join(ROOT, 'dist', 'edge.js');
const USAGE = 'usage: node runtimes/workerd-runner/run.mjs --vectors DIR [--filter TEXT]';

class Exit extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

function parseArgs(argv) {
  const opts = {};
  for (let i = 0; i < argv.length; i += 2) {
    const [key, value] = [argv[i], argv[i + 1]];
    if (key === '--help' || key === '-h') throw new Exit(0, USAGE);
    if (!['--vectors', '--filter'].includes(key)) throw new Exit(2, `unknown argument "${key}"\n${USAGE}`);
    if (value === undefined || value.startsWith('--')) throw new Exit(2, `${key} needs a value\n${USAGE}`);
    opts[key.slice(2)] = value;
  }
  if (!opts.vectors) throw new Exit(2, `--vectors DIR is required\n${USAGE}`);
  opts.vectors = resolve(opts.vectors);
  if (!existsSync(opts.vectors) || !statSync(opts.vectors).isDirectory())
    throw new Exit(2, `cannot read the vectors folder ${opts.vectors}`);
  if (!existsSync(EDGE)) throw new Exit(2, `${EDGE} is missing: run npm run build first`);
  return opts;
}

async function main(argv) {
  const opts = parseArgs(argv);
  // the package's own rule for which files are vectors it runs (dist/ is known to exist by now)
  const { FAMILIES, isVectorFile } = await import(pathToFileURL(join(ROOT, 'dist', 'node.js')).href);
  const all = readdirSync(opts.vectors)
    .filter((n) => n.endsWith('.safetensors'))
    .sort();
  const names = all.filter((n) => isVectorFile(n) && (!opts.filter || n.includes(opts.filter)));
  const others = all.filter((n) => !isVectorFile(n));
  let worker;
  try {
    worker = await serveWorker({ entry: join(HERE, 'worker.mjs'), resolveDir: ROOT, alias: { 'snell-js': EDGE } });
  } catch (e) {
    throw e instanceof WorkerdUnavailable ? new Exit(3, e.message) : e;
  }
  let [passed, failed] = [0, 0];
  try {
    const description = await (await fetch(`${worker.url}/describe`)).text();
    console.log(`# wasm on workerd (${worker.url}, modules ${worker.modules.join(', ')}): ${description}`);
    for (const name of names) {
      const response = await fetch(`${worker.url}/run?name=${encodeURIComponent(name)}`, {
        method: 'POST',
        body: readFileSync(join(opts.vectors, name)),
        signal: AbortSignal.timeout(600_000),
      });
      if (!response.ok) {
        failed++;
        console.log(
          `FAIL ${name} wasm workerd -- the worker answered ${response.status}: ${(await response.text()).split('\n')[0]}`,
        );
        continue;
      }
      const r = await response.json();
      for (const line of r.lines) console.log(line);
      passed += r.passed;
      failed += r.failed;
    }
  } finally {
    await worker.stop();
  }
  if (others.length) console.log(`# not vectors of a known family (${FAMILIES.join(', ')}): ${others.join(', ')}`);
  console.log(`${passed} passed, ${failed} failed`);
  if (passed + failed === 0) console.error(`# no vector ran: is ${opts.vectors} the vectors folder?`);
  return failed === 0 && passed > 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    console.error(e instanceof Exit ? (e.code === 0 ? '' : 'workerd-runner: ') + e.message : `workerd-runner: ${e?.stack ?? e}`);
    process.exitCode = e instanceof Exit ? e.code : 1;
  },
);
