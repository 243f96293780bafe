// Wasm matmul GFLOP/s on both builds of the kernels in one run: plain simd128 (separate multiply and
// add) and relaxed SIMD (f32x4.relaxed_madd), at 1576×768×3072 (ViT-B/16's fc1 at batch 8) and the
// other bench shapes. The two backends are timed in alternation, call by call, so load from other
// work on the machine falls on both alike; each figure is the median of `--reps` calls after a
// warm-up, 2·M·K·N flops per call. Runs against the built package (npm run build first).
//
//   npm run bench:matmul [-- --threads N] [-- --reps N] [-- --shapes 1576x768x3072,1024x1024x1024]
//
// An engine that has relaxed SIMD only behind a flag (Node 20: --experimental-wasm-relaxed-simd) is
// re-run with it; one that has no relaxed SIMD at all measures the plain build alone.

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createBackend, relaxedSimdSupported } from '../dist/node.js';
import { median, uniform } from './adapter.mjs';

const FLAG = '--experimental-wasm-relaxed-simd';
const args = process.argv.slice(2);
const opt = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);

const nodeTakesFlag = () =>
  !process.versions.bun && spawnSync(process.execPath, [FLAG, '-e', ''], { stdio: 'ignore' }).status === 0;
if (!relaxedSimdSupported() && !process.execArgv.includes(FLAG) && nodeTakesFlag()) {
  const r = spawnSync(process.execPath, [...process.execArgv, FLAG, fileURLToPath(import.meta.url), ...args], {
    stdio: 'inherit',
  });
  process.exit(r.status ?? 1);
}

const THREADS = Number(opt('--threads', 2));
const REPS = Number(opt('--reps', 9));
const SHAPES = opt('--shapes', '1576x768x3072,1576x768x768,1024x1024x1024')
  .split(',')
  .map((s) => s.split('x').map(Number));
const PATHS = relaxedSimdSupported() ? ['plain', 'relaxed'] : ['plain'];

const engine = globalThis.Deno
  ? `Deno ${Deno.version.deno} (V8 ${Deno.version.v8})`
  : process.versions.bun
    ? `Bun ${process.versions.bun} (JavaScriptCore, WebKit ${process.versions.webkit?.slice(0, 8) ?? '?'})`
    : `Node ${process.version} (V8 ${process.versions.v8})`;
console.log(`# ${engine}${process.execArgv.length ? ` ${process.execArgv.join(' ')}` : ''}`);
if (PATHS.length === 1) console.log('# relaxed SIMD: not available in this engine, plain build only');

const backends = [];
for (const simd of PATHS) {
  const backend = await createBackend({ prefer: 'wasm', threads: THREADS, wasmSimd: simd, onFallback: () => {} });
  console.log(`# ${simd}: ${backend.description}`);
  backends.push({ simd, backend });
}

for (const [m, k, n] of SHAPES) {
  const runs = backends.map(({ simd, backend }) => {
    const a = backend.upload(uniform(m * k, 1, 1), [m, k]);
    const b = backend.upload(uniform(k * n, 2, 1), [k, n]);
    const out = backend.zeros([m, n]);
    backend.matmul(a, b, out); // warm-up
    return { simd, backend, tensors: [a, b, out], times: [] };
  });
  for (let r = 0; r < REPS; r++) {
    for (const run of runs) {
      const [a, b, out] = run.tensors;
      const t0 = performance.now();
      run.backend.matmul(a, b, out);
      run.times.push(performance.now() - t0);
    }
  }
  const cells = runs.map((run) => {
    for (const t of run.tensors) run.backend.free(t);
    const ms = median(run.times);
    return `${run.simd} ${((2 * m * k * n) / (ms / 1e3) / 1e9).toFixed(1)} GFLOP/s (${ms.toFixed(1)} ms)`;
  });
  console.log(`matmul ${m}×${k}×${n}, ${THREADS} thread${THREADS > 1 ? 's' : ''}: ${cells.join(', ')}`);
}
for (const { backend } of backends) backend.destroy();
