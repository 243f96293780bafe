// snell export: a trained adapter as the official SNELL PyTorch state dict (names and shapes of the
// authors' module, to continue there), or as the sparse update alone (values and indices per layer).

import { mkdir } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { saveReferenceState } from '../io/adapter.js';
import { saveSparseDelta } from '../io/merge.js';
import { nodeFolder } from '../io/source-node.js';
import { type Command, type Flags, UsageError } from './args.js';
import { ADAPTER_FLAG, loadAdapted } from './adapted.js';
import { MODEL_FLAGS } from './setup.js';

export const exportAdapter: Command = {
  summary: 'export an adapter: PyTorch state-dict names of the reference, or the sparse update',
  synopsis: '--adapter DIR --format pytorch|sparse --out FILE.safetensors [--model DIR|embedded]',
  flags: {
    ...MODEL_FLAGS, ...ADAPTER_FLAG,
    format: { type: 'string', help: 'pytorch: the reference module\'s state dict; sparse: values + indices of each layer\'s update', choices: ['pytorch', 'sparse'], default: 'pytorch' },
    out: { type: 'string', help: 'the .safetensors file to write' },
  },
  run,
};

async function run(flags: Flags): Promise<number> {
  const out = flags.out as string | undefined;
  if (!out?.endsWith('.safetensors')) throw new UsageError('--out FILE.safetensors is required');
  const { backend, model } = await loadAdapted(flags);
  try {
    await mkdir(dirname(out), { recursive: true });
    const folder = nodeFolder(dirname(out));
    if (flags.format === 'pytorch') await saveReferenceState(folder, basename(out), model);
    else await saveSparseDelta(folder, basename(out), model);
    console.log(`${flags.format} export written to ${out}`);
    return 0;
  } finally {
    model.dispose();
    backend.destroy();
  }
}
