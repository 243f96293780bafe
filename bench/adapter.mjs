// Adapter-op benchmark at ViT-B/16 shapes: median wall time of one forward + backward of a SNELL
// adapter (r = 16, s = 0.9, 1576 rows = 8 images × 197 tokens) on every backend available here, and
// the exact quantile selection's throughput. Runs against the built package (npm run build first).
//
//   npm run bench:adapter                 all backends
//   npm run bench:adapter -- --backend wasm
//
// bench/compare.mjs imports benchAdapter() (the same measurement, returned as numbers).

import { pathToFileURL } from 'node:url';
import { createBackend, SnellAdapterOp } from '../dist/node.js';

export const SHAPES = [
  [768, 768],
  [768, 3072],
];
export const RANK = 16;
const HEADS = 2;
export const SPARSITY = 0.9;
export const ROWS = 1576;

export function uniform(size, seed, scale) {
  let s = seed >>> 0;
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = ((s / 4294967296) * 2 - 1) * scale;
  }
  return out;
}

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function timed(reps, body) {
  const times = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    await body();
    times.push(performance.now() - t0);
  }
  return median(times);
}

export const isSoftwareGpu = (backend) => backend.kind === 'webgpu' && /llvmpipe|lavapipe|swiftshader/i.test(backend.description);

/** Creates the backend of `kind` (with createBackend's `options`), throwing when another one came back (no silent fallback). */
export async function backendOf(kind, options = {}) {
  const backend = await createBackend({ ...options, prefer: kind, onFallback: () => {} });
  if (backend.kind !== kind) {
    backend.destroy();
    throw new Error(`got ${backend.kind} instead of ${kind}`);
  }
  return backend;
}

/**
 * Median adapter fwd+bwd (ms) and selection time (ms) per shape on backend `kind`; prints as it goes.
 * Returns { kind, description, reps, shapes: [{ n, m, ms, selMs }] }.
 */
export async function benchAdapter(kind, { reps: repsWanted, log = console.log } = {}) {
  const backend = await backendOf(kind);
  const reps = repsWanted ?? (isSoftwareGpu(backend) ? 3 : 7);
  const result = { kind, description: backend.description, reps, shapes: [] };
  log(`\n${kind}: ${backend.description}`);
  try {
    for (const [n, m] of SHAPES) {
      const k = RANK / HEADS;
      const op = new SnellAdapterOp(backend, { kind: 'snell', dIn: n, dOut: m, rank: RANK, heads: HEADS, sparsity: SPARSITY });
      const params = {
        A: backend.upload(uniform(HEADS * n * k, 1, 1 / Math.sqrt(n * k)), [HEADS, n, k]),
        B: backend.upload(uniform(HEADS * m * k, 2, 1 / Math.sqrt(m * k)), [HEADS, m, k]),
      };
      const x = backend.upload(uniform(ROWS * n, 3, 1), [ROWS, n]);
      const dy = backend.upload(uniform(ROWS * m, 4, 1), [ROWS, m]);
      const step = async () => {
        const y = op.forward(params, x);
        const g = op.backward(params, x, dy);
        await backend.flush();
        for (const t of [y, g.dx, g.dA, g.dB]) backend.free(t);
      };
      await step(); // warm-up: pipelines and allocations
      const ms = await timed(reps, step);
      log(`  adapter fwd+bwd ${n}x${m} r=${RANK} s=${SPARSITY} rows=${ROWS}: median ${ms.toFixed(1)} ms (${reps} runs)`);

      const u = op.update(params);
      const t = backend.zeros([1]);
      await backend.flush();
      const selMs = await timed(reps, async () => {
        backend.quantileAbs(u.W, SPARSITY, t);
        await backend.read(t);
      });
      result.shapes.push({ n, m, ms, selMs });
      log(
        `  quantile selection over ${n * m} elements: median ${selMs.toFixed(2)} ms = ${((n * m) / (selMs / 1e3)).toExponential(2)} elements/s`,
      );
      op.freeUpdate(u);
      for (const tensor of [t, params.A, params.B, x, dy]) backend.free(tensor);
    }
  } finally {
    backend.destroy();
  }
  return result;
}

async function main() {
  const flag = process.argv.indexOf('--backend');
  const kinds = flag > 0 ? [process.argv[flag + 1]] : ['wasm', 'webgpu'];
  for (const kind of kinds) {
    try {
      await benchAdapter(kind);
    } catch (e) {
      console.log(`\n${kind}: not available here (${e.message})`);
    }
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) await main();
