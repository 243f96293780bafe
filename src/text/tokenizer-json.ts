// Reading Hugging Face's tokenizer files: tokenizer.json (the model, its vocabulary and merges, and the
// normalizer, pre-tokenizer, post-processor and decoder around it) and the optional
// tokenizer_config.json (which tokens are BOS, EOS and padding, and whether BOS or EOS are added).
// Only the parts this package relies on are checked here, so that a wrong file fails with a message
// that names the field instead of deep inside the tokenizer; the components themselves are checked
// when they are built.

import { TokenizerError } from './errors.js';

/** One entry of tokenizer.json's added_tokens: a token matched whole in the text before BPE runs. */
export interface AddedTokenJson {
  id: number;
  content: string;
  special?: boolean;
  single_word?: boolean;
  lstrip?: boolean;
  rstrip?: boolean;
  normalized?: boolean;
}

/** The BPE model of a tokenizer.json: merges as "left right" strings or [left, right] pairs. */
export interface BpeModelJson {
  type: 'BPE';
  vocab: Record<string, number>;
  merges: (string | [string, string])[];
  byte_fallback?: boolean;
  unk_token?: string | null;
  [option: string]: unknown;
}

/** A Hugging Face tokenizer.json, as the `tokenizers` library writes it. */
export interface TokenizerJson {
  model: BpeModelJson;
  added_tokens?: AddedTokenJson[];
  normalizer?: object | null;
  pre_tokenizer?: object | null;
  post_processor?: object | null;
  decoder?: object | null;
  [field: string]: unknown;
}

/** A special token in tokenizer_config.json: its text, or an AddedToken object with `content`. */
export type SpecialTokenJson = string | { content: string } | null;

/** The fields of a tokenizer_config.json this package reads; the rest pass through untouched. */
export interface TokenizerConfigJson {
  bos_token?: SpecialTokenJson;
  eos_token?: SpecialTokenJson;
  pad_token?: SpecialTokenJson;
  add_bos_token?: boolean;
  add_eos_token?: boolean;
  [field: string]: unknown;
}

const COMPONENTS = ['normalizer', 'pre_tokenizer', 'post_processor', 'decoder'] as const;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** JSON text parsed, or an object taken as it is; `file` names it in errors. */
function objectFrom(input: unknown, file: string): Record<string, unknown> {
  let value = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch (error) {
      throw new TokenizerError(
        `${file} is not valid JSON (${(error as Error).message}): pass the file's text or the parsed object`,
      );
    }
  }
  if (!isObject(value)) {
    throw new TypeError(`${file} must be a JSON object or its text, got ${Array.isArray(value) ? 'an array' : typeof value}`);
  }
  return value;
}

function checkModel(model: unknown): BpeModelJson {
  if (!isObject(model)) throw new TokenizerError('tokenizer.json has no "model" object: is this a Hugging Face tokenizer.json?');
  // Files from early versions of the tokenizers library leave out the type of a BPE model.
  const type = model.type ?? ('merges' in model ? 'BPE' : undefined);
  if (type !== 'BPE') {
    throw new TokenizerError(
      `tokenizer.json's model type ${JSON.stringify(model.type)} is not supported: snell-js tokenizes with BPE models (byte-level as GPT-2, Llama 3 and Qwen2 use, or SentencePiece-style as Llama 2 uses), "type": "BPE"`,
    );
  }
  if (!isObject(model.vocab)) throw new TokenizerError('tokenizer.json\'s model has no "vocab" object of token → id');
  for (const [token, id] of Object.entries(model.vocab)) {
    if (!Number.isInteger(id) || (id as number) < 0) {
      throw new TokenizerError(
        `tokenizer.json's vocab gives token ${JSON.stringify(token)} the id ${JSON.stringify(id)}: ids are integers ≥ 0`,
      );
    }
  }
  if (!Array.isArray(model.merges)) throw new TokenizerError('tokenizer.json\'s BPE model has no "merges" array');
  model.merges.forEach((merge, i) => {
    const pair = typeof merge === 'string' ? merge.split(' ') : merge;
    if (!Array.isArray(pair) || pair.length !== 2 || pair.some((part) => typeof part !== 'string' || part === '')) {
      throw new TokenizerError(
        `tokenizer.json's merge ${i} is ${JSON.stringify(merge)}: a merge is "left right" or ["left", "right"]`,
      );
    }
  });
  return { ...model, type } as BpeModelJson;
}

function checkAddedTokens(tokens: unknown): AddedTokenJson[] {
  if (tokens === undefined || tokens === null) return [];
  if (!Array.isArray(tokens)) throw new TokenizerError('tokenizer.json\'s "added_tokens" must be an array');
  tokens.forEach((token, i) => {
    if (
      !isObject(token) ||
      !Number.isInteger(token.id) ||
      (token.id as number) < 0 ||
      typeof token.content !== 'string' ||
      token.content === ''
    ) {
      throw new TokenizerError(
        `tokenizer.json's added_tokens[${i}] needs an integer "id" ≥ 0 and a non-empty "content", got ${JSON.stringify(token)}`,
      );
    }
  });
  return tokens as AddedTokenJson[];
}

/** tokenizer.json checked, with every component present (null where the file has none). */
export function readTokenizerJson(input: unknown): TokenizerJson {
  const json = objectFrom(input, 'tokenizer.json');
  const checked: TokenizerJson = { ...json, model: checkModel(json.model), added_tokens: checkAddedTokens(json.added_tokens) };
  for (const name of COMPONENTS) {
    const component = json[name] ?? null;
    if (component !== null && !isObject(component)) {
      throw new TokenizerError(`tokenizer.json's "${name}" must be an object or null, got ${JSON.stringify(component)}`);
    }
    checked[name] = component;
  }
  return checked;
}

/** tokenizer_config.json checked; none given reads as an empty config. */
export function readTokenizerConfig(input: unknown): TokenizerConfigJson {
  if (input === undefined) return {};
  const config = objectFrom(input, 'tokenizer_config.json');
  for (const name of ['bos_token', 'eos_token', 'pad_token']) {
    const token = config[name];
    if (
      token !== undefined &&
      token !== null &&
      typeof token !== 'string' &&
      !(isObject(token) && typeof token.content === 'string')
    ) {
      throw new TokenizerError(
        `tokenizer_config.json's "${name}" must be a token's text or an object with "content", got ${JSON.stringify(token)}`,
      );
    }
  }
  for (const name of ['add_bos_token', 'add_eos_token']) {
    if (config[name] !== undefined && typeof config[name] !== 'boolean') {
      throw new TokenizerError(`tokenizer_config.json's "${name}" must be true or false, got ${JSON.stringify(config[name])}`);
    }
  }
  return config as TokenizerConfigJson;
}

/** The text of a special token as tokenizer_config.json names it; null when it names none. */
export function specialTokenText(token: SpecialTokenJson | undefined): string | null {
  if (token === undefined || token === null) return null;
  return typeof token === 'string' ? token : token.content;
}
