// snell info PATH: the tensors of a .safetensors file, a checkpoint folder or an adapter folder (name,
// dtype, shape), parameter counts, and for a checkpoint the memory one training step will need per
// pool (estimateMemory: the engine's own allocation sequence, without computing anything).

import { loadCheckpoint } from '../io/checkpoint.js';
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS } from '../io/adapter.js';
import { SafetensorsFile } from '../io/safetensors.js';
import { estimateMemory } from '../train/estimate.js';
import { POOLS } from '../model/memory.js';
import { type Command, type Flags, UsageError } from './args.js';
import { type Host, writeLine } from './host.js';
import { planFromFlags, PLAN_FLAGS } from './setup.js';

export const info: Command = {
  summary: "show a checkpoint's or adapter's tensors, parameter counts and the memory a run needs",
  synopsis: 'PATH [--batch N] [--method snell --rank 8 …]',
  flags: { ...PLAN_FLAGS, batch: { type: 'number', help: 'batch size of the memory estimate', default: 8 } },
  run,
};

const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;

async function listTensors(path: string, host: Host): Promise<number> {
  const print = (text: string) => writeLine(host.stdout, text);
  const source = await host.files.open(path);
  try {
    const file = await SafetensorsFile.open(source, path);
    let total = 0;
    for (const [name, e] of file.entries) {
      const n = e.shape.reduce((a, d) => a * d, 1);
      total += n;
      print(`  ${name.padEnd(60)} ${e.dtype.padEnd(4)} [${e.shape.join(', ')}]`);
    }
    print(`${file.entries.size} tensors, ${total.toLocaleString('en')} parameters`);
    return total;
  } finally {
    await source.close();
  }
}

async function run(flags: Flags, positional: string[], host: Host): Promise<number> {
  const { files } = host;
  const print = (text: string) => writeLine(host.stdout, text);
  const path = positional[0];
  if (!path) throw new UsageError('PATH (a .safetensors file, a checkpoint folder or an adapter folder) is required');
  const isDir = (await files.stat(path)).isDirectory;
  if (!isDir) {
    await listTensors(path, host);
    return 0;
  }
  const folder = files.folder(path);
  if (await folder.open(ADAPTER_CONFIG)) {
    print(`adapter ${path}`);
    await listTensors(`${path}/${ADAPTER_WEIGHTS}`, host);
    return 0;
  }
  const ckpt = await loadCheckpoint(folder);
  const c = ckpt.config;
  print(
    `checkpoint ${files.basename(path)} in ${files.dirname(path)}: ${ckpt.layout.naming} naming, ViT D=${c.dim} depth ${c.depth} heads ${c.heads} MLP ${c.mlpRatio * c.dim}, ${c.tokens} tokens, ${c.classes} classes, ${c.pooling} pooling`,
  );
  for (const note of ckpt.notes) print(`  note: ${note}`);
  const total = [...ckpt.weights.values()].reduce((a, t) => a + t.data.length, 0);
  print(`${ckpt.weights.size} tensors, ${total.toLocaleString('en')} parameters`);
  const batch = flags.batch as number;
  const m = await estimateMemory(c, planFromFlags(flags), batch);
  print(
    `memory of one ${flags.method} training step at batch ${batch} (peak per pool): ` +
      `${POOLS.map((p) => `${p} ${mib(m.peak[p])}`).join(', ')}; peak total ${mib(m.peakTotal)}`,
  );
  return 0;
}
