// Training a byte-level BPE tokenizer (GPT-2's kind) from texts, written as the tokenizer.json and
// tokenizer_config.json that `Tokenizer.fromJSON` loads.
//
// Pre-tokenization is the tokenizer's own (the ByteLevel pre-tokenizer of @huggingface/tokenizers with
// add_prefix_space off): the special tokens are cut out of each text first and never merged; the
// rest splits into words by GPT-2's pattern
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// and each word is its UTF-8 bytes, each byte shown as GPT-2's printable character (bytes_to_unicode).
// Ids: the special tokens 0..S−1 in the order given, byte x at S + x, then each merge's new token.
// Training: words are counted once; every adjacent pair of symbols inside a word has a count (the
// sum over the words holding it, times each word's count). Each round merges the pair with the
// highest count; ties go to the smallest left id, then the smallest right id (so, among equal
// counts, bytes before merged tokens and older merges first). The new token replaces every
// occurrence left to right, as applying the merge does; only the words holding the pair are
// recounted. Rounds stop at `vocabSize` ids or when no pair reaches `minFrequency`. A merge whose
// text is already a token reuses that token's id (the vocabulary does not grow).
// Every string of well-formed Unicode round-trips: decode(encode(text)) = text, since every byte
// has a token. (TextEncoder writes a lone surrogate as U+FFFD, as encoding does.)

import { TokenizerError } from './errors.js';
import type { AddedTokenJson, TokenizerConfigJson, TokenizerJson } from './tokenizer-json.js';

export interface BpeTrainOptions {
  /** Ids in all: the special tokens, the 256 bytes and the merged tokens. */
  vocabSize: number;
  /** Tokens matched whole and never split (default ["<|endoftext|>"]); the first is BOS, EOS and padding. */
  specialTokens?: readonly string[];
  /** A pair merges only when it occurs at least this often (default 2). */
  minFrequency?: number;
}

export interface TrainedBpe {
  json: TokenizerJson;
  config: TokenizerConfigJson;
}

/** GPT-2's pattern, as the ByteLevel pre-tokenizer matches it. */
const WORDS = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;
const BYTE_LEVEL = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
/** Pair keys are left·PAIR + right, so ordering keys orders by left id, then right id. */
const PAIR = 2 ** 21;

/** GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves, the rest for U+0100 onwards. */
function byteCharacters(): string[] {
  const chars: string[] = new Array(256);
  let next = 256;
  for (let x = 0; x < 256; x++) {
    const printable = (x >= 0x21 && x <= 0x7e) || (x >= 0xa1 && x <= 0xac) || (x >= 0xae && x <= 0xff);
    chars[x] = String.fromCharCode(printable ? x : next++);
  }
  return chars;
}

/** Pre-tokenized words of the texts with their counts, special tokens cut out. */
function countWords(texts: Iterable<string>, specials: readonly string[]): Map<string, number> {
  const escaped = specials.map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  const cut = specials.length > 0 ? new RegExp(escaped.join('|'), 'g') : null;
  const counts = new Map<string, number>();
  let i = 0;
  for (const text of texts) {
    if (typeof text !== 'string') throw new TypeError(`trainBpe's text ${i} is ${typeof text}: give strings`);
    for (const part of cut ? text.split(cut) : [text])
      for (const [word] of part.matchAll(WORDS)) counts.set(word, (counts.get(word) ?? 0) + 1);
    i++;
  }
  return counts;
}

/** A max-heap of [count, pair key]: the highest count first, then the smallest key. */
class PairHeap {
  private readonly counts: number[] = [];
  private readonly keys: number[] = [];

  get size(): number {
    return this.keys.length;
  }

  private before(i: number, j: number): boolean {
    const [ci, cj] = [this.counts[i]!, this.counts[j]!];
    return ci > cj || (ci === cj && this.keys[i]! < this.keys[j]!);
  }

  private swap(i: number, j: number): void {
    [this.counts[i], this.counts[j]] = [this.counts[j]!, this.counts[i]!];
    [this.keys[i], this.keys[j]] = [this.keys[j]!, this.keys[i]!];
  }

  push(count: number, key: number): void {
    this.counts.push(count);
    this.keys.push(key);
    for (let i = this.keys.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (!this.before(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  pop(): [number, number] {
    const top: [number, number] = [this.counts[0]!, this.keys[0]!];
    const last = this.keys.length - 1;
    this.swap(0, last);
    this.counts.pop();
    this.keys.pop();
    for (let i = 0; ; ) {
      const [l, r] = [2 * i + 1, 2 * i + 2];
      let best = i;
      if (l < last && this.before(l, best)) best = l;
      if (r < last && this.before(r, best)) best = r;
      if (best === i) break;
      this.swap(i, best);
      i = best;
    }
    return top;
  }
}

function checkOptions(o: BpeTrainOptions, specials: readonly string[]): void {
  const least = specials.length + 256;
  if (!Number.isInteger(o.vocabSize) || o.vocabSize < least || o.vocabSize >= PAIR)
    throw new TypeError(
      `vocabSize must be an integer from ${least} (the ${specials.length} special tokens and 256 bytes) to ${PAIR - 1}, got ${o.vocabSize}`,
    );
  if (o.minFrequency !== undefined && !(Number.isInteger(o.minFrequency) && o.minFrequency >= 1))
    throw new TypeError(`minFrequency must be an integer ≥ 1, got ${o.minFrequency}`);
  specials.forEach((s, i) => {
    if (typeof s !== 'string' || s === '' || specials.indexOf(s) !== i)
      throw new TokenizerError(`special token ${i} is ${JSON.stringify(s)}: special tokens are distinct, non-empty strings`);
  });
}

/** A byte-level BPE tokenizer learned from the texts; see the header for the rules. */
export function trainBpe(texts: Iterable<string>, options: BpeTrainOptions): TrainedBpe {
  const specials = options.specialTokens ?? ['<|endoftext|>'];
  checkOptions(options, specials);
  const minFrequency = options.minFrequency ?? 2;
  const S = specials.length;
  const chars = byteCharacters();
  const tokens: string[] = [...specials, ...chars];
  const idOf = new Map(tokens.map((t, id) => [t, id]));

  const encoder = new TextEncoder();
  const words: Int32Array[] = [];
  const weights: number[] = [];
  for (const [word, count] of countWords(texts, specials)) {
    words.push(Int32Array.from(encoder.encode(word), (x) => S + x));
    weights.push(count);
  }
  const pairCount = new Map<number, number>();
  /** The words that may hold each pair (a word that no longer does is skipped when its pair merges). */
  const holders = new Map<number, Set<number>>();
  const hold = (key: number, word: number) => {
    const set = holders.get(key);
    if (set) set.add(word);
    else holders.set(key, new Set([word]));
  };
  words.forEach((w, i) => {
    for (let k = 0; k + 1 < w.length; k++) {
      const key = w[k]! * PAIR + w[k + 1]!;
      pairCount.set(key, (pairCount.get(key) ?? 0) + weights[i]!);
      hold(key, i);
    }
  });
  const heap = new PairHeap();
  for (const [key, count] of pairCount) heap.push(count, key);

  const merges: [string, string][] = [];
  const merged = new Set<string>();
  while (tokens.length < options.vocabSize && heap.size > 0) {
    const [count, key] = heap.pop();
    const now = pairCount.get(key) ?? 0;
    if (now !== count) {
      if (now > 0) heap.push(now, key);
      continue;
    }
    if (count < minFrequency) break;
    const [a, b] = [Math.floor(key / PAIR), key % PAIR];
    const text = tokens[a]! + tokens[b]!;
    let id = idOf.get(text);
    if (id === undefined) {
      id = tokens.length;
      tokens.push(text);
      idOf.set(text, id);
    }
    const mergeText = `${tokens[a]} ${tokens[b]}`;
    if (!merged.has(mergeText)) {
      merged.add(mergeText);
      merges.push([tokens[a]!, tokens[b]!]);
    }
    const grown = new Set<number>();
    for (const i of holders.get(key) ?? []) {
      const w = words[i]!;
      const out: number[] = [];
      for (let k = 0; k < w.length; k++) {
        if (k + 1 < w.length && w[k] === a && w[k + 1] === b) {
          out.push(id);
          k++;
        } else out.push(w[k]!);
      }
      if (out.length === w.length) continue;
      const c = weights[i]!;
      for (let k = 0; k + 1 < w.length; k++) {
        const old = w[k]! * PAIR + w[k + 1]!;
        pairCount.set(old, pairCount.get(old)! - c);
      }
      for (let k = 0; k + 1 < out.length; k++) {
        const fresh = out[k]! * PAIR + out[k + 1]!;
        pairCount.set(fresh, (pairCount.get(fresh) ?? 0) + c);
        grown.add(fresh);
        hold(fresh, i);
      }
      words[i] = Int32Array.from(out);
    }
    holders.delete(key);
    pairCount.delete(key);
    // a pair whose count rose needs a fresh heap entry; one whose count fell is re-pushed when its stale entry pops
    for (const k of grown) if (pairCount.get(k)! > 0 && k !== key) heap.push(pairCount.get(k)!, k);
  }
  return bpeFiles(tokens, merges, specials);
}

function bpeFiles(tokens: readonly string[], merges: [string, string][], specials: readonly string[]): TrainedBpe {
  const added: AddedTokenJson[] = specials.map((content, id) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  }));
  const json: TokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: BYTE_LEVEL,
    post_processor: BYTE_LEVEL,
    decoder: BYTE_LEVEL,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: Object.fromEntries(tokens.map((t, id) => [t, id])),
      merges,
    },
  };
  const first = specials[0];
  const roles = first === undefined ? {} : { bos_token: first, eos_token: first, pad_token: first };
  const config: TokenizerConfigJson = {
    ...roles,
    add_bos_token: false,
    add_eos_token: false,
    tokenizer_class: 'PreTrainedTokenizerFast',
  };
  return { json, config };
}
