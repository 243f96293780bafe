// snell conformance --vectors DIR [--backend webgpu|wasm] [--wasm-simd auto|relaxed|plain] [--filter TEXT]:
// every golden vector in DIR, one line per case; exit status 1 when any case fails, 2 when there is
// nothing to run.

import type { BackendKind } from '../backend.js';
import type { WasmSimd } from '../wasm/simd.js';
import { FAMILIES, isVectorFile, runConformance } from '../conformance/run.js';
import { type Command, type Flags, UsageError } from './args.js';
import { type Host, writeLine } from './host.js';

export const conformance: Command = {
  summary: 'run golden vectors (merge_*, block_*, train_*) and print one line per case',
  synopsis: '--vectors DIR [--backend webgpu|wasm] [--wasm-simd auto|relaxed|plain] [--filter TEXT]',
  flags: {
    vectors: { type: 'string', help: 'folder of .safetensors vectors' },
    backend: {
      type: 'string',
      help: 'force a backend (default: WebGPU when an adapter exists, else Wasm)',
      choices: ['webgpu', 'wasm'],
    },
    'wasm-simd': {
      type: 'string',
      help: "the Wasm kernels' build: relaxed SIMD (fused multiply-add), plain simd128, or auto (relaxed where the engine has it)",
      choices: ['auto', 'relaxed', 'plain'],
    },
    filter: { type: 'string', help: 'run only the files whose name contains TEXT' },
  },
  run,
};

async function run(flags: Flags, _positional: string[], host: Host): Promise<number> {
  const { files } = host;
  const print = (text: string) => writeLine(host.stdout, text);
  const dir = flags.vectors as string | undefined;
  if (!dir) throw new UsageError('--vectors DIR is required');
  let names: string[];
  try {
    names = (await files.list(dir)).map((e) => e.name).sort();
  } catch (e) {
    writeLine(host.stderr, `snell: cannot read the vectors folder ${dir}: ${(e as Error).message}`);
    return 2;
  }
  const vectors = names.filter(isVectorFile);
  const others = names.filter((n) => n.endsWith('.safetensors') && !isVectorFile(n));
  if (vectors.length === 0) {
    writeLine(host.stderr, `snell: no ${FAMILIES.map((f) => `${f}*.safetensors`).join(' or ')} vectors in ${dir}`);
    return 2;
  }
  const filter = flags.filter as string | undefined;
  const vectorFiles = [];
  for (const name of vectors) {
    if (!filter || name.includes(filter)) vectorFiles.push({ name, bytes: await files.readFile(files.join(dir, name)) });
  }
  const backend = await host.createBackend({
    prefer: flags.backend as BackendKind | undefined,
    wasmSimd: flags['wasm-simd'] as WasmSimd | undefined,
  });
  try {
    const { runtime } = host;
    print(`# ${backend.kind} on ${runtime}: ${backend.description}`);
    const { passed, failed } = await runConformance(vectorFiles, { backend, runtime, log: print });
    if (others.length) print(`# not vectors of a known family (${FAMILIES.join(', ')}): ${others.join(', ')}`);
    print(`${passed} passed, ${failed} failed`);
    return failed === 0 && passed > 0 ? 0 : 1;
  } finally {
    backend.destroy();
  }
}
