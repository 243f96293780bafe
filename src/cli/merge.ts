// snell merge: fold an adapter into the base weights and write a plain checkpoint in the base's own
// naming (timm or transformers), which runs with no adapter overhead anywhere.

import { saveMergedLm } from '../io/lm-merge.js';
import { saveMerged } from '../io/merge.js';
import { type Command, type Flags, UsageError } from './args.js';
import { ADAPTER_FLAG, loadAdapted } from './adapted.js';
import { isLmFolder, loadAdaptedLm } from './adapted-lm.js';
import { type Host, writeLine } from './host.js';
import { MODEL_FLAGS } from './setup.js';

export const merge: Command = {
  summary: 'merge an adapter into the base model and write a plain checkpoint',
  synopsis: '--adapter DIR --out DIR [--model DIR|embedded] [--dtype F32|F16]',
  flags: {
    ...MODEL_FLAGS,
    ...ADAPTER_FLAG,
    out: { type: 'string', help: 'folder for model.safetensors and config.json' },
    dtype: { type: 'string', help: 'float type of the written tensors', choices: ['F32', 'F16'], default: 'F32' },
  },
  run,
};

async function run(flags: Flags, _positional: string[], host: Host): Promise<number> {
  const out = flags.out as string | undefined;
  if (!out) throw new UsageError('--out DIR is required');
  if (await isLmFolder(flags.model as string, host.files)) return runLm(flags, out, host);
  const { backend, model, source } = await loadAdapted(flags, host);
  try {
    await host.files.mkdir(out);
    await saveMerged(host.files.folder(out), model, source.checkpoint, { dtype: flags.dtype as 'F32' | 'F16' });
    writeLine(host.stdout, `merged checkpoint (${source.checkpoint.layout.naming} naming) written to ${out}`);
    return 0;
  } finally {
    model.dispose();
    backend.destroy();
  }
}

async function runLm(flags: Flags, out: string, host: Host): Promise<number> {
  const { backend, model, base } = await loadAdaptedLm(flags, host);
  try {
    await host.files.mkdir(out);
    await saveMergedLm(host.files.folder(out), model, base, { dtype: flags.dtype as 'F32' | 'F16' });
    writeLine(host.stdout, `merged ${base.config.modelType} checkpoint (transformers names) written to ${out}`);
    return 0;
  } finally {
    model.dispose();
    backend.destroy();
  }
}
