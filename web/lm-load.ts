// What the language-model worker trains: a decoder checkpoint folder (config.json, model.safetensors,
// tokenizer.json and optionally tokenizer_config.json, dropped or picked) read into host weights and
// its tokenizer, checked to fit together.

import { blobFolder, type LoadedLm, loadLmCheckpoint, Tokenizer } from 'snell-js';
import type { PathFile } from './protocol.js';

export interface LmBase {
  name: string;
  lm: LoadedLm;
  tokenizer: Tokenizer;
}

const baseName = (path: string) => path.slice(path.lastIndexOf('/') + 1);

/** A dropped or picked folder's files (by their last path part) as a checkpoint and its tokenizer. */
export async function loadLmFolder(files: PathFile[]): Promise<LmBase> {
  const named = new Map(files.map(({ path, file }) => [baseName(path), file]));
  const missing = ['config.json', 'model.safetensors', 'tokenizer.json'].filter((n) => !named.has(n));
  if (missing.length)
    throw new Error(
      `the checkpoint folder has no ${missing.join(', ')}: drop a folder with config.json, model.safetensors and ` +
        'tokenizer.json (and tokenizer_config.json), as transformers saves a model',
    );
  const root = files[0]!.path.includes('/') ? files[0]!.path.split('/')[0]! : 'checkpoint';
  const lm = await loadLmCheckpoint(blobFolder(Object.fromEntries(named), root));
  const config = named.get('tokenizer_config.json');
  const tokenizer = Tokenizer.fromJSON(await named.get('tokenizer.json')!.text(), config ? await config.text() : undefined);
  return { name: root, lm, tokenizer: checkedTokenizer(tokenizer, lm) };
}

/** The tokenizer, if its ids fit the model's embedding and it can end a document. */
export function checkedTokenizer(tokenizer: Tokenizer, lm: LoadedLm): Tokenizer {
  if (tokenizer.vocabSize > lm.config.vocabSize)
    throw new Error(
      `tokenizer.json has ${tokenizer.vocabSize} ids, the model's embedding ${lm.config.vocabSize} rows: drop the tokenizer that came with this model`,
    );
  if (tokenizer.eosId === null)
    throw new Error(
      "the tokenizer names no end-of-text token: add tokenizer_config.json with its eos_token (the model's own file)",
    );
  return tokenizer;
}
