// The decoder language model a command names with --model: a transformers checkpoint folder
// (config.json with a decoder model_type, model.safetensors, and the tokenizer beside them:
// tokenizer.json, tokenizer_config.json) or "embedded-lm", the bundled pretrained one; with its
// tokenizer, which must fit the model's vocabulary.

import { readJson } from '../io/checkpoint.js';
import type { FileSystem } from '../io/file-system.js';
import { type LoadedLm, loadLmCheckpoint } from '../io/lm-checkpoint.js';
import { LM_MODEL_TYPES } from '../io/lm-config.js';
import { type Folder, readText } from '../io/source.js';
import { Tokenizer } from '../text/tokenizer.js';
import { UsageError } from './args.js';
import { embeddedLmFolder } from './embedded.js';

/** --model's name of the bundled pretrained language model. */
export const EMBEDDED_LM = 'embedded-lm';

export interface LmSource {
  /** What --model named. */
  name: string;
  folder: Folder;
  base: LoadedLm;
  tokenizer: Tokenizer;
}

/** True when --model names the embedded LM or a folder whose config.json has a decoder's model_type. */
export async function isLmModel(model: string, files: FileSystem): Promise<boolean> {
  if (model === EMBEDDED_LM) return true;
  if (model === 'embedded' || model === 'scratch') return false;
  const isFolder = await files.stat(model).then(
    (s) => s.isDirectory,
    () => false,
  );
  if (!isFolder) return false;
  const json = await readJson(files.folder(model), 'config.json');
  return LM_MODEL_TYPES.includes(json?.model_type as string);
}

export async function lmFolder(name: string, files: FileSystem): Promise<Folder> {
  return name === EMBEDDED_LM ? await embeddedLmFolder() : files.folder(name);
}

/** The checkpoint and its tokenizer. */
export async function loadLmSource(name: string, files: FileSystem): Promise<LmSource> {
  const folder = await lmFolder(name, files);
  const base = await loadLmCheckpoint(folder);
  const json = await readText(folder, 'tokenizer.json');
  if (json === null)
    throw new UsageError(
      `--model ${name} has no tokenizer.json: a language model's folder needs its tokenizer (tokenizer.json and tokenizer_config.json) beside config.json`,
    );
  const config = (await readText(folder, 'tokenizer_config.json')) ?? undefined;
  const tokenizer = Tokenizer.fromJSON(json, config);
  if (tokenizer.vocabSize > base.config.vocabSize)
    throw new UsageError(
      `--model ${name}: the tokenizer has ${tokenizer.vocabSize} ids, the model's embedding ${base.config.vocabSize} rows: are tokenizer.json and the checkpoint from the same model?`,
    );
  return { name, folder, base, tokenizer };
}
