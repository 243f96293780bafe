// A decoder language model with a saved adapter laid over it, as merge uses it: --model names a
// transformers checkpoint folder (config.json with a decoder model_type) and --adapter an adapter
// folder written by saveLmAdapter.

import type { Backend } from '../backend.js';
import { readJson } from '../io/checkpoint.js';
import { loadLmAdapter } from '../io/lm-adapter.js';
import { type LoadedLm, loadLmCheckpoint } from '../io/lm-checkpoint.js';
import { LM_MODEL_TYPES } from '../io/lm-config.js';
import type { FileSystem } from '../io/file-system.js';
import { DecoderLM } from '../model/decoder/lm.js';
import { type Flags, UsageError } from './args.js';
import type { Host } from './host.js';
import { backendFrom } from './setup.js';

/** True when --model names a folder whose config.json has a decoder's model_type. */
export async function isLmFolder(model: string, files: FileSystem): Promise<boolean> {
  if (model === 'embedded' || model === 'scratch') return false;
  const json = await readJson(files.folder(model), 'config.json');
  return LM_MODEL_TYPES.includes(json?.model_type as string);
}

export interface AdaptedLm {
  backend: Backend;
  model: DecoderLM;
  base: LoadedLm;
}

export async function loadAdaptedLm(flags: Flags, host: Host): Promise<AdaptedLm> {
  const dir = flags.adapter as string | undefined;
  if (!dir) throw new UsageError('--adapter DIR is required');
  const base = await loadLmCheckpoint(host.files.folder(flags.model as string));
  const adapter = await loadLmAdapter(host.files.folder(dir), base);
  const backend = await backendFrom(flags, host);
  const model = new DecoderLM(backend, base.config, adapter.weights, { plan: adapter.plan, seed: 0 });
  return { backend, model, base };
}
