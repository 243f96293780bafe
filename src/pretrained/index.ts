// The embedded pretrained ViT (this folder: made by `npm run pretrain`, see TRAINING.md), served as an
// in-memory checkpoint folder so it loads offline in every host (Node, Deno, browsers) with nothing
// to fetch: `loadCheckpoint(embeddedCheckpoint())`.

import config from './config.json';
import weights from './model.safetensors';
import { blobFolder } from '../io/source-blob.js';
import type { Folder } from '../io/source.js';

/** The embedded ViT (D 96, 4 blocks, 32×32 grayscale, 8×8 patches) as a checkpoint Folder. */
export function embeddedCheckpoint(): Folder {
  return blobFolder(
    { 'model.safetensors': weights, 'config.json': new TextEncoder().encode(JSON.stringify(config)) },
    'embedded',
  );
}
