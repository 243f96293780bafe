// The conformance runner: runs every golden vector it is given on one backend and prints one line per
// case (status, name, backend, runtime, worst relative error per output, kept count). Host-neutral:
// the caller lists and reads the files (Node/Deno file system, or fetch in a browser).

import type { Backend, Tensor } from '../backend.js';
import { SnellAdapterOp } from '../adapter/op.js';
import { runAllocCase } from './alloc-case.js';
import { runLmBlockCase, runLmTrainCase } from './lm-cases.js';
import { keptOutsideBand, relL2, TOLERANCE } from './compare.js';
import { type MergeCase, readMergeCase } from './merge-case.js';
import { runBlockCase, runTrainCase } from './model-cases.js';

export interface VectorFile {
  name: string;
  bytes: Uint8Array;
}

export interface ConformanceOptions {
  backend: Backend;
  /** Where this runs (node, deno, browser), printed on every line. */
  runtime: string;
  log: (line: string) => void;
  /** Runs only the files whose name passes. */
  filter?: (name: string) => boolean;
}

export interface ConformanceSummary {
  passed: number;
  failed: number;
}

/** The vector families this runner checks, by file-name prefix. */
export const FAMILIES = ['merge_', 'block_', 'noise_block_', 'train_', 'alloc_', 'lm_block_', 'lm_train_'] as const;
/** Families the vectors README defines under a checked prefix that this runner does not run yet. */
const NOT_RUN: string[] = [];

export function isVectorFile(name: string): boolean {
  const base = name.replace(/^.*[\\/]/, '');
  return base.endsWith('.safetensors') && FAMILIES.some((f) => base.startsWith(f)) && !NOT_RUN.some((f) => base.startsWith(f));
}

export async function runConformance(files: VectorFile[], options: ConformanceOptions): Promise<ConformanceSummary> {
  const { backend, runtime, log } = options;
  const summary = { passed: 0, failed: 0 };
  for (const file of files) {
    if (!isVectorFile(file.name) || (options.filter && !options.filter(file.name))) continue;
    let line: string;
    let ok = false;
    try {
      const result = await runCase(backend, file);
      ok = result.problems.length === 0;
      line =
        `${ok ? 'PASS' : 'FAIL'} ${result.name} ${backend.kind} ${runtime} ${result.detail}` +
        (ok ? '' : ` -- ${result.problems.join('; ')}`);
    } catch (e) {
      line = `FAIL ${file.name} ${backend.kind} ${runtime} -- ${(e as Error).message}`;
    }
    ok ? summary.passed++ : summary.failed++;
    log(line);
  }
  return summary;
}

interface CaseResult {
  name: string;
  detail: string;
  problems: string[];
}

async function runCase(backend: Backend, file: VectorFile): Promise<CaseResult> {
  const base = file.name.replace(/^.*[\\/]/, '');
  if (base.startsWith('merge_')) return runMergeCase(backend, readMergeCase(file.bytes, file.name));
  const run = base.startsWith('lm_block_')
    ? runLmBlockCase
    : base.startsWith('lm_train_')
      ? runLmTrainCase
      : base.startsWith('alloc_train_')
        ? runTrainCase
        : base.startsWith('alloc_')
          ? runAllocCase
          : base.startsWith('block_') || base.startsWith('noise_block_')
            ? runBlockCase
            : runTrainCase;
  const { errors, problems } = await run(backend, file.bytes, file.name);
  return { name: base.replace(/\.safetensors$/, ''), detail: errors.join(' '), problems };
}

async function runMergeCase(b: Backend, c: MergeCase): Promise<CaseResult> {
  const owned: Tensor[] = [];
  const up = (a: { shape: number[]; data: Float32Array }) => {
    const t = b.upload(a.data, a.shape);
    owned.push(t);
    return t;
  };
  const f32 = async (t: Tensor) => (await b.read(t)) as Float32Array;
  try {
    const { inputs: i } = c;
    const params = {
      A: up(i.A),
      B: up(i.B),
      ...(i.alpha && { alpha: up(i.alpha), gamma: up(i.gamma!), beta: up(i.beta!) }),
    };
    const x = up(i.x);
    const op = new SnellAdapterOp(b, c.config);

    const u = op.update(params);
    const ours = new Map<string, Float32Array>([
      ['W', await f32(u.W)],
      ['W_sparse', await f32(u.Ws)],
    ]);
    const threshold = u.threshold ? (await f32(u.threshold))[0] : null;
    const keptOwn = u.kept ? (await b.read(u.kept))[0] : null;
    op.freeUpdate(u);

    const y = op.forward(params, x);
    owned.push(y);
    ours.set('y', await f32(y));
    const g = op.backward(params, x, up(i.g));
    for (const [name, t] of [
      ['grad.x', g.dx],
      ['grad.In_Qs', g.dA],
      ['grad.Out_Qs', g.dB],
      ['grad.alpha', g.dAlpha],
      ['grad.gamma', g.dGamma],
      ['grad.beta', g.dBeta],
    ] as const) {
      if (!t) continue;
      owned.push(t);
      ours.set(name, await f32(t));
    }

    const problems: string[] = [];
    const errors: string[] = [];
    for (const [name, ref] of c.expected) {
      const err = relL2(ours.get(name)!, ref.data);
      errors.push(`${name}=${err.toExponential(1)}`);
      if (!(err <= TOLERANCE.output)) problems.push(`${name} relative error ${err.toExponential(2)} > ${TOLERANCE.output}`);
    }
    let kept = '';
    if (c.kept !== null && threshold !== null) {
      const keptStored = await selectOnStoredW(b, c, owned);
      const stray = keptOutsideBand(ours.get('W')!, threshold, c.expected.get('W')!.data, c.threshold!);
      kept = ` kept=${keptOwn}/${c.kept} (stored W: ${keptStored})`;
      if (keptStored !== c.kept) problems.push(`selection on the stored W keeps ${keptStored}, reference ${c.kept}`);
      if (stray.length) problems.push(`${stray.length} entries off the threshold band change sides (first at ${stray[0]})`);
    }
    return { name: c.name, detail: errors.join(' ') + kept, problems };
  } finally {
    for (const t of owned) b.free(t);
  }
}

/** The kept count of our selection applied to the reference's own W: must equal the reference's exactly. */
async function selectOnStoredW(b: Backend, c: MergeCase, owned: Tensor[]): Promise<number> {
  const W = c.expected.get('W')!;
  const t = b.zeros([1]);
  const Ws = b.zeros(W.shape);
  const kept = b.zeros([1], 'u32');
  const Wt = b.upload(W.data, W.shape);
  owned.push(t, Ws, kept, Wt);
  b.quantileAbs(Wt, c.config.sparsity, t);
  b.sparsify(Wt, t, Ws, kept);
  return (await b.read(kept))[0];
}
