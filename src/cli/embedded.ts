// The embedded pretrained ViT (src/pretrained: made by `npm run pretrain`, see its TRAINING.md),
// served as an in-memory checkpoint folder so the demo runs offline with nothing to fetch.

import config from '../pretrained/config.json';
import weights from '../pretrained/model.safetensors';
import { blobFolder } from '../io/source-blob.js';
import type { Folder } from '../io/source.js';

export function embeddedFolder(): Folder {
  return blobFolder({ 'model.safetensors': weights, 'config.json': new TextEncoder().encode(JSON.stringify(config)) }, 'embedded');
}
