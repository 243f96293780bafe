// snell merge: fold an adapter into the base weights and write a plain checkpoint in the base's own
// naming (timm or transformers), which runs with no adapter overhead anywhere.

import { saveMerged } from '../io/merge.js';
import { type Command, type Flags, UsageError } from './args.js';
import { ADAPTER_FLAG, loadAdapted } from './adapted.js';
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
