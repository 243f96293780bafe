// snell export: a trained adapter as the official SNELL PyTorch state dict (names and shapes of the
// authors' module, to continue there), or as the sparse update alone (values and indices per layer).
// A decoder language model's LoRA adapter exports as a PEFT adapter folder (PeftModel.from_pretrained).

import { saveReferenceState } from '../io/adapter.js';
import { savePeftLora } from '../io/lm-peft-lora.js';
import { saveSparseDelta } from '../io/merge.js';
import { type Command, type Flags, UsageError } from './args.js';
import { ADAPTER_FLAG, loadAdapted } from './adapted.js';
import { isLmFolder, loadAdaptedLm } from './adapted-lm.js';
import { type Host, writeLine } from './host.js';
import { MODEL_FLAGS } from './setup.js';

export const exportAdapter: Command = {
  summary: 'export an adapter: PyTorch state-dict names of the reference, or the sparse update',
  synopsis: '--adapter DIR --format pytorch|sparse|peft --out FILE.safetensors|DIR [--model DIR|embedded]',
  flags: {
    ...MODEL_FLAGS,
    ...ADAPTER_FLAG,
    format: {
      type: 'string',
      help: "pytorch: the reference module's state dict; sparse: values + indices of each layer's update; peft: a decoder's LoRA as a PEFT adapter folder (--out DIR)",
      choices: ['pytorch', 'sparse', 'peft'],
      default: 'pytorch',
    },
    out: { type: 'string', help: 'the .safetensors file to write (peft: the folder)' },
  },
  run,
};

async function run(flags: Flags, _positional: string[], host: Host): Promise<number> {
  const out = flags.out as string | undefined;
  const lm = await isLmFolder(flags.model as string, host.files);
  if (lm !== (flags.format === 'peft'))
    throw new UsageError(
      lm
        ? "a decoder language model exports as --format peft (PEFT's LoRA adapter folder); pytorch and sparse are the ViT's"
        : '--format peft exports a decoder language model: --model must name its transformers folder',
    );
  if (lm) return runPeft(flags, out, host);
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

async function runPeft(flags: Flags, out: string | undefined, host: Host): Promise<number> {
  if (!out) throw new UsageError('--out DIR is required');
  const { backend, model } = await loadAdaptedLm(flags, host);
  try {
    await host.files.mkdir(out);
    await savePeftLora(host.files.folder(out), model, { baseModel: flags.model as string });
    writeLine(host.stdout, `PEFT LoRA adapter written to ${out}`);
    return 0;
  } finally {
    model.dispose();
    backend.destroy();
  }
}
