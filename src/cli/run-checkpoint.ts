// Checkpoints of a `snell train` run, from which `--resume DIR` continues exactly: OUT/checkpoints/
// step-NNNNNNN/ holds the adapter (or, for full fine-tuning, the checkpoint) written as at the end of a
// run, optimizer.safetensors (AdamW's moments, F32, by `<param>.exp_avg[_sq]`), run_state.json (the
// step count, the flags, the best validation result so far) and, under --select best-val,
// best.safetensors (the trainable tensors of that best epoch, F32, by parameter name), and with SNELLA's
// allocator allocator.safetensors (its averages, F32, by `<layer>.<In_Qs|Out_Qs>.<ipt|unc>`; the
// sparsities and the skip count are in run_state.json). The data order, the position in the
// epoch, the schedule and the dropout/DropPath seeds all follow from the step count and the seed.
// Each checkpoint is written into a `.partial` folder and renamed into place, so a crash at any moment
// leaves the earlier ones whole; the last `keep` are kept.

import { SafetensorsFile } from '../io/safetensors.js';
import { writeSafetensors } from '../io/safetensors-write.js';
import type { FileSystem } from '../io/file-system.js';
import { writeText } from '../io/source.js';
import type { AdamWSnapshot } from '../train/adamw.js';
import type { AllocatorSnapshot } from '../train/allocator/allocator.js';
import type { BestModel, Evaluation } from '../train/fit-options.js';
import type { Flags } from './args.js';

export const RUN_STATE = 'run_state.json';
const OPTIMIZER = 'optimizer.safetensors';
const BEST = 'best.safetensors';
const ALLOCATOR = 'allocator.safetensors';
const PREFIX = 'step-';

export interface RunState {
  /** Steps completed. */
  step: number;
  flags: Flags;
  bestValidation: (Evaluation & { step: number; epoch: number; sparsity?: number[] }) | null;
  /** SNELLA's allocator: the sparsities in force and the non-finite entries skipped. */
  allocator?: { sparsity: number[]; skipped: number };
}

const f32Tensors = (values: Map<string, Float32Array>) =>
  new Map([...values].map(([name, data]) => [name, { shape: [data.length], data }]));

/** Writes one checkpoint under out/checkpoints: `writeModel` writes the adapter or checkpoint into its folder. */
export async function writeRunCheckpoint(
  files: FileSystem,
  out: string,
  state: RunState,
  optimizer: AdamWSnapshot,
  best: BestModel | null,
  allocator: AllocatorSnapshot | null,
  keep: number,
  writeModel: (dir: string) => Promise<void>,
): Promise<string> {
  const root = files.join(out, 'checkpoints');
  const final = files.join(root, `${PREFIX}${String(state.step).padStart(7, '0')}`);
  const partial = `${final}.partial`;
  await files.remove(partial);
  await files.mkdir(partial);
  await writeModel(partial);
  const folder = files.folder(partial);
  await folder.write(OPTIMIZER, (sink) =>
    writeSafetensors(sink, f32Tensors(optimizer.moments), { steps: String(optimizer.steps) }).then(() => undefined),
  );
  if (best) await folder.write(BEST, (sink) => writeSafetensors(sink, f32Tensors(best.params)).then(() => undefined));
  if (allocator) {
    await folder.write(ALLOCATOR, (sink) => writeSafetensors(sink, f32Tensors(allocator.averages)).then(() => undefined));
  }
  const withAllocator = allocator ? { ...state, allocator: { sparsity: allocator.sparsity, skipped: allocator.skipped } } : state;
  await writeText(folder, RUN_STATE, `${JSON.stringify(withAllocator, null, 2)}\n`);
  await files.remove(final);
  await files.rename(partial, final);
  const all = await listCheckpoints(files, root);
  for (const old of all.slice(0, Math.max(0, all.length - keep))) await files.remove(files.join(root, old));
  return final;
}

/** Complete checkpoint folder names under root, oldest first. */
async function listCheckpoints(files: FileSystem, root: string): Promise<string[]> {
  const names = await files.list(root).then(
    (entries) => entries.map((e) => e.name),
    () => [] as string[],
  );
  return names.filter((n) => n.startsWith(PREFIX) && !n.endsWith('.partial')).sort();
}

/** The checkpoint to resume from: DIR itself when it holds run_state.json, else DIR/checkpoints' newest; null if neither. */
export async function findRunCheckpoint(files: FileSystem, dir: string): Promise<string | null> {
  const has = (d: string) =>
    files.stat(files.join(d, RUN_STATE)).then(
      () => true,
      () => false,
    );
  if (await has(dir)) return dir;
  const all = await listCheckpoints(files, files.join(dir, 'checkpoints'));
  return all.length ? files.join(dir, 'checkpoints', all[all.length - 1]) : null;
}

export async function readRunCheckpoint(
  files: FileSystem,
  dir: string,
): Promise<{ state: RunState; optimizer: AdamWSnapshot; best: BestModel | null; allocator: AllocatorSnapshot | null }> {
  const state = JSON.parse(new TextDecoder().decode(await files.readFile(files.join(dir, RUN_STATE)))) as RunState;
  const read = async (name: string) => {
    const file = SafetensorsFile.parse(await files.readFile(files.join(dir, name)), files.join(dir, name));
    return { file, values: new Map([...file.entries.keys()].map((key) => [key, file.tensor(key).data])) };
  };
  const optimizer = await read(OPTIMIZER);
  const v = state.bestValidation;
  const best =
    v &&
    (await files.stat(files.join(dir, BEST)).then(
      () => true,
      () => false,
    ))
      ? {
          epoch: v.epoch,
          step: v.step,
          validation: { loss: v.loss, accuracy: v.accuracy, samples: v.samples },
          params: (await read(BEST)).values,
          sparsity: v.sparsity,
        }
      : null;
  const a = state.allocator;
  const allocator = a ? { averages: (await read(ALLOCATOR)).values as Map<string, Float32Array>, ...a } : null;
  return { state, optimizer: { steps: Number(optimizer.file.metadata.steps), moments: optimizer.values }, best, allocator };
}
