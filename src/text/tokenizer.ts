// The text tokenizer of the language models: Hugging Face's tokenizer.json (byte-level BPE as GPT-2,
// SmolLM2, Llama 3 and Qwen2 use; SentencePiece-style BPE with byte fallback as Llama 2 and TinyLlama
// use) run by @huggingface/tokenizers, with the special tokens of tokenizer_config.json, exact decoding,
// and batches packed into [B, T] grids for a model.

import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { type BatchOptions, type EncodedBatch, fitRow, packRows, readPacking } from './batch.js';
import { TokenizerError } from './errors.js';
import { gpt2TokenizerFiles } from './gpt2-files.js';
import {
  readTokenizerConfig,
  readTokenizerJson,
  specialTokenText,
  type TokenizerConfigJson,
  type TokenizerJson,
} from './tokenizer-json.js';

export interface EncodeOptions {
  /** Add the special tokens the tokenizer puts around a text (BOS, EOS). Default true. */
  addSpecialTokens?: boolean;
}

export interface DecodeOptions {
  /** Leave special tokens (BOS, EOS, padding, any added token marked special) out of the text. Default false. */
  skipSpecialTokens?: boolean;
}

/** A text encoded once with and once without special tokens, to find those the post_processor adds around a text. */
const PROBE = 'a';

function sameIds(a: number[], b: number[], at: number): boolean {
  return b.every((id, i) => a[at + i] === id);
}

function largestId(json: TokenizerJson): number {
  let largest = -1;
  for (const id of Object.values(json.model.vocab)) largest = Math.max(largest, id);
  for (const token of json.added_tokens ?? []) largest = Math.max(largest, token.id);
  return largest;
}

export class Tokenizer {
  /** One more than the largest token id, added tokens included: the rows an embedding needs. */
  readonly vocabSize: number;
  /** The beginning-of-sequence token's id, as tokenizer_config.json names it; null when it names none. */
  readonly bosId: number | null;
  /** The end-of-sequence token's id, as tokenizer_config.json names it; null when it names none. */
  readonly eosId: number | null;
  /** The padding token's id, as tokenizer_config.json names it; null when it names none. */
  readonly padId: number | null;
  readonly #hf: HfTokenizer;
  readonly #specialIds: Set<number>;
  /** The special tokens encode puts before and after a text's own tokens. */
  readonly #prefix: number[];
  readonly #suffix: number[];

  private constructor(json: TokenizerJson, config: TokenizerConfigJson) {
    try {
      this.#hf = new HfTokenizer(json, config);
    } catch (error) {
      throw new TokenizerError(`tokenizer.json could not be read: ${(error as Error).message}`);
    }
    this.vocabSize = largestId(json) + 1;
    this.bosId = this.#specialId(config, 'bos_token');
    this.eosId = this.#specialId(config, 'eos_token');
    this.padId = this.#specialId(config, 'pad_token');
    this.#specialIds = new Set([...this.#hf.get_added_tokens_decoder().values()].filter((t) => t.special).map((t) => t.id));
    for (const id of [this.bosId, this.eosId, this.padId]) if (id !== null) this.#specialIds.add(id);
    [this.#prefix, this.#suffix] = this.#affixes(config);
  }

  /**
   * A tokenizer from a Hugging Face tokenizer.json (its text or parsed object) and, optionally, the
   * model's tokenizer_config.json, which names the BOS, EOS and pad tokens and may set
   * add_bos_token / add_eos_token (which then decide, as in transformers' Llama tokenizers, whether
   * encode adds them; otherwise tokenizer.json's post_processor decides).
   */
  static fromJSON(json: TokenizerJson | string, config?: TokenizerConfigJson | string): Tokenizer {
    return new Tokenizer(readTokenizerJson(json), readTokenizerConfig(config));
  }

  /** GPT-2's tokenizer from OpenAI's encoder.json (text or object) and vocab.bpe (text). */
  static fromGpt2Files(encoder: Record<string, number> | string, vocabBpe: string): Tokenizer {
    const { json, config } = gpt2TokenizerFiles(encoder, vocabBpe);
    return Tokenizer.fromJSON(json, config);
  }

  /** The token ids of text. Added tokens written in the text (such as "<|endoftext|>") become their ids. */
  encode(text: string, options: EncodeOptions = {}): number[] {
    const ids = this.#tokens(text, 'encode');
    return options.addSpecialTokens === false ? ids : [...this.#prefix, ...ids, ...this.#suffix];
  }

  /** The texts' tokens as one [B, T] batch; see BatchOptions for padding and truncation. */
  encodeBatch(texts: readonly string[], options: BatchOptions = {}): EncodedBatch {
    if (!Array.isArray(texts)) throw new TypeError(`encodeBatch takes an array of strings, got ${typeof texts}`);
    const packing = readPacking(options);
    const special = options.addSpecialTokens !== false;
    const prefix = special ? this.#prefix : [];
    const suffix = special ? this.#suffix : [];
    const rows = texts.map((text, i) => fitRow(this.#tokens(text, `encodeBatch's text ${i}`), prefix, suffix, packing, i));
    const padId = options.padId ?? this.padId;
    if (padId !== null) this.#checkId(padId, 'padId');
    return packRows(rows, padId, packing);
  }

  /** The text of token ids, exactly: decode(encode(text, { addSpecialTokens: false })) is text. */
  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    if (typeof ids !== 'object' || ids === null || typeof ids.length !== 'number') {
      throw new TypeError(`decode takes an array of token ids, got ${ids === null ? 'null' : typeof ids}`);
    }
    const kept = Array.from(ids).filter((id, i) => {
      this.#checkId(id, `decode's id ${i}`);
      return !(options.skipSpecialTokens && this.#specialIds.has(id));
    });
    // Cleaning up spaces (" ." to ".", " 's" to "'s") is off: it would make decoding lose text.
    return kept.length === 0 ? '' : this.#hf.decode(kept, { clean_up_tokenization_spaces: false });
  }

  /** The id of a token in the vocabulary or among the added tokens; null when there is none. */
  tokenToId(token: string): number | null {
    return this.#hf.token_to_id(token) ?? null;
  }

  /** The token of an id; null when the vocabulary has no such id. */
  idToToken(id: number): string | null {
    return this.#hf.id_to_token(id) ?? null;
  }

  #tokens(text: string, where: string): number[] {
    if (typeof text !== 'string') throw new TypeError(`${where} takes a string, got ${text === null ? 'null' : typeof text}`);
    return this.#hf.encode(text, { add_special_tokens: false }).ids;
  }

  #checkId(id: number, what: string): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
      throw new TokenizerError(`${what} is ${id}, not a token id of this tokenizer (integers 0 to ${this.vocabSize - 1})`);
    }
  }

  #specialId(config: TokenizerConfigJson, field: 'bos_token' | 'eos_token' | 'pad_token'): number | null {
    const text = specialTokenText(config[field]);
    if (text === null) return null;
    const id = this.#hf.token_to_id(text);
    if (id === undefined) {
      throw new TokenizerError(
        `tokenizer_config.json's ${field} ${JSON.stringify(text)} is not in tokenizer.json's vocabulary or added tokens: are the two files from the same model?`,
      );
    }
    return id;
  }

  /** The special tokens before and after a text: tokenizer_config's add_*_token where set, else what the post_processor adds. */
  #affixes(config: TokenizerConfigJson): [number[], number[]] {
    const bare = this.#hf.encode(PROBE, { add_special_tokens: false }).ids;
    const full = this.#hf.encode(PROBE, { add_special_tokens: true }).ids;
    const at = full.findIndex((_, i) => sameIds(full, bare, i));
    if (bare.length === 0 || at < 0) {
      throw new TokenizerError(
        "tokenizer.json's post_processor changes a text's tokens instead of adding special tokens around them: this is not supported",
      );
    }
    const prefix = this.#added(config.add_bos_token, this.bosId, 'bos', full.slice(0, at));
    const suffix = this.#added(config.add_eos_token, this.eosId, 'eos', full.slice(at + bare.length));
    return [prefix, suffix];
  }

  #added(add: boolean | undefined, id: number | null, kind: 'bos' | 'eos', fromPostProcessor: number[]): number[] {
    if (add === undefined) return fromPostProcessor;
    if (!add) return [];
    if (id === null)
      throw new TokenizerError(
        `tokenizer_config.json sets add_${kind}_token but names no ${kind}_token: name one, or set add_${kind}_token to false`,
      );
    return [id];
  }
}
