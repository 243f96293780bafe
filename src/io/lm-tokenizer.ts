// The tokenizer of a language model's folder, as transformers' AutoTokenizer finds it beside the
// weights: tokenizer.json (required) with tokenizer_config.json (optional: it names the BOS, EOS and
// pad tokens and whether encode adds BOS/EOS), checked against config.json's vocab_size where there
// is one: every id the tokenizer can produce must be a row of the embedding (ids < vocab_size).

import { Tokenizer } from '../text/tokenizer.js';
import { CheckpointError } from './errors.js';
import { type Folder, readText } from './source.js';

/** The folder's Tokenizer; throws a CheckpointError naming the missing file or the vocabulary mismatch. */
export async function loadLmTokenizer(folder: Folder): Promise<Tokenizer> {
  const json = await readText(folder, 'tokenizer.json');
  if (json === null)
    throw new CheckpointError(
      `${folder.name}/tokenizer.json`,
      "not found: the model's folder needs its tokenizer.json (GPT-2's vocab.json and merges.txt alone: use Tokenizer.fromGpt2Files)",
    );
  const tokenizer = Tokenizer.fromJSON(json, (await readText(folder, 'tokenizer_config.json')) ?? undefined);
  const config = await readText(folder, 'config.json');
  const rows = config === null ? undefined : (JSON.parse(config) as { vocab_size?: unknown }).vocab_size;
  if (typeof rows === 'number' && tokenizer.vocabSize > rows)
    throw new CheckpointError(
      `${folder.name}/tokenizer.json`,
      `has ids up to ${tokenizer.vocabSize - 1}, but config.json's vocab_size is ${rows}: the tokenizer belongs to another model`,
    );
  return tokenizer;
}
