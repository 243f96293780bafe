// What the language-model worker trains: the embedded LM, or a decoder checkpoint folder
// (config.json, model.safetensors, tokenizer.json and optionally tokenizer_config.json, dropped or
// picked), read into host weights and its tokenizer (loadLmTokenizer checks that its ids fit the
// embedding); the tokenizer must name an end-of-text token, which ends every document.

import {
  blobFolder,
  embeddedLmCheckpoint,
  type Folder,
  type LoadedLm,
  loadLmCheckpoint,
  loadLmTokenizer,
  type Tokenizer,
} from 'snell-js';
import type { PathFile } from './protocol.js';

export interface LmBase {
  name: string;
  lm: LoadedLm;
  tokenizer: Tokenizer;
}

const baseName = (path: string) => path.slice(path.lastIndexOf('/') + 1);

/** The embedded LM (null), or a dropped or picked folder's files (by their last path part). */
export async function loadLmBase(files: PathFile[] | null): Promise<LmBase> {
  if (!files) return loadFrom(await embeddedLmCheckpoint(), 'embedded');
  const named = new Map(files.map(({ path, file }) => [baseName(path), file]));
  const missing = ['config.json', 'model.safetensors', 'tokenizer.json'].filter((n) => !named.has(n));
  if (missing.length)
    throw new Error(
      `the checkpoint folder has no ${missing.join(', ')}: drop a folder with config.json, model.safetensors and ` +
        'tokenizer.json (and tokenizer_config.json), as transformers saves a model',
    );
  const root = files[0]!.path.includes('/') ? files[0]!.path.split('/')[0]! : 'checkpoint';
  return loadFrom(blobFolder(Object.fromEntries(named), root), root);
}

async function loadFrom(folder: Folder, name: string): Promise<LmBase> {
  const lm = await loadLmCheckpoint(folder);
  const tokenizer = await loadLmTokenizer(folder);
  if (tokenizer.eosId === null)
    throw new Error(
      "the tokenizer names no end-of-text token: add tokenizer_config.json with its eos_token (the model's own file)",
    );
  return { name, lm, tokenizer };
}
