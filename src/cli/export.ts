// snell export: a trained adapter as the official SNELL PyTorch state dict (names and shapes of the
// authors' module, to continue there), or as the sparse update alone (values and indices per layer).

import { saveReferenceState } from '../io/adapter.js';
import { saveSparseDelta } from '../io/merge.js';
import { type Command, type Flags, UsageError } from './args.js';
import { ADAPTER_FLAG, loadAdapted } from './adapted.js';
import { type Host, writeLine } from './host.js';
import { MODEL_FLAGS } from './setup.js';

export const exportAdapter: Command = {
  summary: 'export an adapter: PyTorch state-dict names of the reference, or the sparse update',
  synopsis: '--adapter DIR --format pytorch|sparse --out FILE.safetensors [--model DIR|embedded]',
  flags: {
    ...MODEL_FLAGS,
    ...ADAPTER_FLAG,
    format: {
      type: 'string',
      help: "pytorch: the reference module's state dict; sparse: values + indices of each layer's update",
      choices: ['pytorch', 'sparse'],
      default: 'pytorch',
    },
    out: { type: 'string', help: 'the .safetensors file to write' },
  },
  run,
};

async function run(flags: Flags, _positional: string[], host: Host): Promise<number> {
  const out = flags.out as string | undefined;
  if (!out?.endsWith('.safetensors')) throw new UsageError('--out FILE.safetensors is required');
  const { backend, model } = await loadAdapted(flags, host);
  const { files } = host;
  try {
    await files.mkdir(files.dirname(out));
    const folder = files.folder(files.dirname(out));
    if (flags.format === 'pytorch') await saveReferenceState(folder, files.basename(out), model);
    else await saveSparseDelta(folder, files.basename(out), model);
    writeLine(host.stdout, `${flags.format} export written to ${out}`);
    return 0;
  } finally {
    model.dispose();
    backend.destroy();
  }
}
