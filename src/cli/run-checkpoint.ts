// Checkpoints of a `snell train` run, from which `--resume DIR` continues exactly: OUT/checkpoints/
// step-NNNNNNN/ holds the adapter (or, for full fine-tuning, the checkpoint) written as at the end of a
// run, optimizer.safetensors (AdamW's moments, F32, by `<param>.exp_avg[_sq]`), run_state.json (the
// step count, the flags, the best validation result so far) and, under --select best-val,
// best.safetensors (the trainable tensors of that best epoch, F32, by parameter name). The data order, the position in the
// epoch, the schedule and the dropout/DropPath seeds all follow from the step count and the seed.
// Each checkpoint is written into a `.partial` folder and renamed into place, so a crash at any moment
// leaves the earlier ones whole; the last `keep` are kept.

import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { SafetensorsFile } from '../io/safetensors.js';
import { writeSafetensors } from '../io/safetensors-write.js';
import { nodeFolder } from '../io/source-node.js';
import { writeText } from '../io/source.js';
import type { AdamWSnapshot } from '../train/adamw.js';
import type { BestModel, Evaluation } from '../train/fit-options.js';
import type { Flags } from './args.js';

export const RUN_STATE = 'run_state.json';
const OPTIMIZER = 'optimizer.safetensors';
const BEST = 'best.safetensors';
const PREFIX = 'step-';

export interface RunState {
  /** Steps completed. */
  step: number;
  flags: Flags;
  bestValidation: (Evaluation & { step: number; epoch: number }) | null;
}

const f32Tensors = (values: Map<string, Float32Array>) => new Map([...values].map(([name, data]) => [name, { shape: [data.length], data }]));

/** Writes one checkpoint under out/checkpoints: `writeModel` writes the adapter or checkpoint into its folder. */
export async function writeRunCheckpoint(
  out: string, state: RunState, optimizer: AdamWSnapshot, best: BestModel | null, keep: number, writeModel: (dir: string) => Promise<void>,
): Promise<string> {
  const root = join(out, 'checkpoints');
  const final = join(root, `${PREFIX}${String(state.step).padStart(7, '0')}`);
  const partial = `${final}.partial`;
  await rm(partial, { recursive: true, force: true });
  await mkdir(partial, { recursive: true });
  await writeModel(partial);
  const folder = nodeFolder(partial);
  await folder.write(OPTIMIZER, (sink) => writeSafetensors(sink, f32Tensors(optimizer.moments), { steps: String(optimizer.steps) }).then(() => undefined));
  if (best) await folder.write(BEST, (sink) => writeSafetensors(sink, f32Tensors(best.params)).then(() => undefined));
  await writeText(folder, RUN_STATE, `${JSON.stringify(state, null, 2)}\n`);
  await rm(final, { recursive: true, force: true });
  await rename(partial, final);
  const all = await listCheckpoints(root);
  for (const old of all.slice(0, Math.max(0, all.length - keep))) await rm(join(root, old), { recursive: true, force: true });
  return final;
}

/** Complete checkpoint folder names under root, oldest first. */
async function listCheckpoints(root: string): Promise<string[]> {
  const names = await readdir(root).catch(() => [] as string[]);
  return names.filter((n) => n.startsWith(PREFIX) && !n.endsWith('.partial')).sort();
}

/** The checkpoint to resume from: DIR itself when it holds run_state.json, else DIR/checkpoints' newest; null if neither. */
export async function findRunCheckpoint(dir: string): Promise<string | null> {
  const has = (d: string) => stat(join(d, RUN_STATE)).then(() => true, () => false);
  if (await has(dir)) return dir;
  const all = await listCheckpoints(join(dir, 'checkpoints'));
  return all.length ? join(dir, 'checkpoints', all[all.length - 1]) : null;
}

export async function readRunCheckpoint(dir: string): Promise<{ state: RunState; optimizer: AdamWSnapshot; best: BestModel | null }> {
  const state = JSON.parse(await readFile(join(dir, RUN_STATE), 'utf8')) as RunState;
  const read = async (name: string) => {
    const file = SafetensorsFile.parse(new Uint8Array(await readFile(join(dir, name))), join(dir, name));
    return { file, values: new Map([...file.entries.keys()].map((key) => [key, file.tensor(key).data])) };
  };
  const optimizer = await read(OPTIMIZER);
  const v = state.bestValidation;
  const best = v && (await stat(join(dir, BEST)).then(() => true, () => false))
    ? { epoch: v.epoch, step: v.step, validation: { loss: v.loss, accuracy: v.accuracy, samples: v.samples }, params: (await read(BEST)).values }
    : null;
  return { state, optimizer: { steps: Number(optimizer.file.metadata.steps), moments: optimizer.values }, best };
}
