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
// bench/compare.mjs imports rerunWithRelaxedSimd() and wasmMatmulPaths() (the same measurement, as numbers).

import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createBackend, relaxedSimdSupported } from '../dist/node.js';
import { median, uniform } from './adapter.mjs';

export const RELAXED_SIMD_FLAG = '--experimental-wasm-relaxed-simd';

const nodeTakesFlag = () =>
  !process.versions.bun && spawnSync(process.execPath, [RELAXED_SIMD_FLAG, '-e', ''], { stdio: 'ignore' }).status === 0;

/**
 * Where this engine has relaxed SIMD only behind Node's flag, runs the script at `scriptUrl` again with it (same
 * arguments and environment, output inherited) and exits with its status; otherwise returns and the caller goes on.
 */
export function rerunWithRelaxedSimd(scriptUrl) {
  if (relaxedSimdSupported() || process.execArgv.includes(RELAXED_SIMD_FLAG) || !nodeTakesFlag()) return;
  const r = spawnSync(
    process.execPath,
    [...process.execArgv, RELAXED_SIMD_FLAG, fileURLToPath(scriptUrl), ...process.argv.slice(2)],
    {
      stdio: 'inherit',
    },
  );
  process.exit(r.status ?? 1);
}

/**
 * Median ms and GFLOP/s of out = a·b ([M,K]·[K,N]) per shape on a wasm backend of each SIMD build this engine
 * runs (plain, and relaxed where it validates), timed in alternation after one warm-up call each.
 * `threads` undefined takes the backend's default. Returns
 * { paths, descriptions: { plain, relaxed? }, reps, shapes: [{ m, k, n, plain: { ms, gflops }, relaxed?: { ms, gflops } }] }.
 */
export async function wasmMatmulPaths({ shapes, reps = 9, threads } = {}) {
  const paths = relaxedSimdSupported() ? ['plain', 'relaxed'] : ['plain'];
  const backends = [];
  try {
    for (const simd of paths) {
      backends.push({
        simd,
        backend: await createBackend({ prefer: 'wasm', threads, wasmSimd: simd, onFallback: () => {} }),
      });
    }
    const out = { paths, descriptions: {}, reps, shapes: [] };
    for (const { simd, backend } of backends) out.descriptions[simd] = backend.description;
    for (const [m, k, n] of shapes) {
      const runs = backends.map(({ simd, backend }) => {
        const a = backend.upload(uniform(m * k, 1, 1), [m, k]);
        const b = backend.upload(uniform(k * n, 2, 1), [k, n]);
        const c = backend.zeros([m, n]);
        backend.matmul(a, b, c); // warm-up
        return { simd, backend, tensors: [a, b, c], times: [] };
      });
      for (let r = 0; r < reps; r++) {
        for (const run of runs) {
          const [a, b, c] = run.tensors;
          const t0 = performance.now();
          run.backend.matmul(a, b, c);
          run.times.push(performance.now() - t0);
        }
      }
      const row = { m, k, n };
      for (const run of runs) {
        for (const t of run.tensors) run.backend.free(t);
        const ms = median(run.times);
        row[run.simd] = { ms, gflops: (2 * m * k * n) / (ms / 1e3) / 1e9 };
      }
      out.shapes.push(row);
    }
    return out;
  } finally {
    for (const { backend } of backends) backend.destroy();
  }
}

async function main() {
  rerunWithRelaxedSimd(import.meta.url);
  const args = process.argv.slice(2);
  const opt = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
  const threads = Number(opt('--threads', 2));
  const shapes = opt('--shapes', '1576x768x3072,1576x768x768,1024x1024x1024')
    .split(',')
    .map((s) => s.split('x').map(Number));
  const engine = globalThis.Deno
    ? `Deno ${Deno.version.deno} (V8 ${Deno.version.v8})`
    : process.versions.bun
      ? `Bun ${process.versions.bun} (JavaScriptCore, WebKit ${process.versions.webkit?.slice(0, 8) ?? '?'})`
      : `Node ${process.version} (V8 ${process.versions.v8})`;
  console.log(`# ${engine}${process.execArgv.length ? ` ${process.execArgv.join(' ')}` : ''}`);
  const result = await wasmMatmulPaths({ shapes, reps: Number(opt('--reps', 9)), threads });
  if (result.paths.length === 1) console.log('# relaxed SIMD: not available in this engine, plain build only');
  for (const simd of result.paths) console.log(`# ${simd}: ${result.descriptions[simd]}`);
  for (const row of result.shapes) {
    const cells = result.paths.map((simd) => `${simd} ${row[simd].gflops.toFixed(1)} GFLOP/s (${row[simd].ms.toFixed(1)} ms)`);
    console.log(`matmul ${row.m}×${row.k}×${row.n}, ${threads} thread${threads > 1 ? 's' : ''}: ${cells.join(', ')}`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) await main();
