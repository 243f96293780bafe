// A base model with a saved adapter laid over it (--model and --adapter), as eval, merge and export use it.

import type { Backend } from '../backend.js';
import { loadAdapter } from '../io/adapter.js';
import { ViT } from '../model/vit.js';
import { type Flag, type Flags, UsageError } from './args.js';
import type { Host } from './host.js';
import { backendFrom, loadModel, type ModelSource } from './setup.js';

export const ADAPTER_FLAG: Record<string, Flag> = {
  adapter: { type: 'string', help: 'adapter folder written by snell train (adapter_config.json + adapter_model.safetensors)' },
};

export interface Adapted {
  backend: Backend;
  model: ViT;
  source: ModelSource;
}

export async function loadAdapted(flags: Flags, host: Host): Promise<Adapted> {
  const dir = flags.adapter as string | undefined;
  if (!dir) throw new UsageError('--adapter DIR is required');
  const source = await loadModel(flags.model as string, 0, host.files);
  const adapter = await loadAdapter(host.files.folder(dir), source.checkpoint);
  const backend = await backendFrom(flags, host);
  const model = new ViT(backend, adapter.config, adapter.weights, { plan: adapter.plan, seed: 0 });
  return { backend, model, source };
}
