// Small handmade tokenizer.json files in the two forms the LLaMA family uses, with encodings worked
// out by hand from their merges: SentencePiece-style BPE (Llama 2, TinyLlama: "▁" for spaces, byte
// fallback to <0xNN> tokens, <s> added in front) and byte-level BPE with a split regex (Llama 3,
// Qwen2, SmolLM2: case-insensitive (?i:...) contractions, digits in threes, added special tokens).

import { describe, expect, it } from 'vitest';
import { Tokenizer } from '../src/text/tokenizer.js';
import type { TokenizerJson } from '../src/text/tokenizer-json.js';
import { byteToChar } from './support/text-corpora.js';

// SentencePiece-style: <unk>, <s>, </s>, the 256 byte tokens <0x00>..<0xFF> (ids 3..258), then pieces.
const PIECES = ['▁', 'l', 'o', 'w', 'e', 'r', 'n', '▁l', 'ow', '▁low', 'er', '▁lower', '▁n', 'ew'];
const spVocab: Record<string, number> = { '<unk>': 0, '<s>': 1, '</s>': 2 };
for (let b = 0; b < 256; b++) spVocab[`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`] = 3 + b;
for (const piece of PIECES) spVocab[piece] = Object.keys(spVocab).length;
const sp = (piece: string) => spVocab[piece];
const byte = (b: number) => 3 + b;

const SP_ADDED = ['<unk>', '<s>', '</s>'].map((content, id) => ({ id, content, special: true, normalized: false }));
const SP_MODEL = {
  type: 'BPE' as const,
  vocab: spVocab,
  // In rank order: a lower rank merges first.
  merges: ['▁ l', 'o w', '▁l ow', 'e r', '▁low er', '▁ n', 'e w'],
  unk_token: '<unk>',
  fuse_unk: true,
  byte_fallback: true,
};
const BOS_TEMPLATE = {
  type: 'TemplateProcessing',
  single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
  pair: [
    { SpecialToken: { id: '<s>', type_id: 0 } },
    { Sequence: { id: 'A', type_id: 0 } },
    { SpecialToken: { id: '<s>', type_id: 1 } },
    { Sequence: { id: 'B', type_id: 1 } },
  ],
  special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
};

/** Llama 2 and TinyLlama as converted by transformers up to 4.40: "▁" prepended and spaces replaced by a normalizer. */
const llama2: TokenizerJson = {
  added_tokens: SP_ADDED,
  normalizer: {
    type: 'Sequence',
    normalizers: [
      { type: 'Prepend', prepend: '▁' },
      { type: 'Replace', pattern: { String: ' ' }, content: '▁' },
    ],
  },
  pre_tokenizer: null,
  post_processor: BOS_TEMPLATE,
  decoder: {
    type: 'Sequence',
    decoders: [
      { type: 'Replace', pattern: { String: '▁' }, content: ' ' },
      { type: 'ByteFallback' },
      { type: 'Fuse' },
      { type: 'Strip', content: ' ', start: 1, stop: 0 },
    ],
  },
  model: SP_MODEL,
};

/** The same tokenizer as later conversions write it: a Metaspace pre-tokenizer and decoder instead. */
const llama2Metaspace: TokenizerJson = {
  ...llama2,
  normalizer: null,
  pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'first', split: false },
  decoder: {
    type: 'Sequence',
    decoders: [
      { type: 'Metaspace', replacement: '▁', prepend_scheme: 'first', split: false },
      { type: 'ByteFallback' },
      { type: 'Fuse' },
    ],
  },
};

const SP_CASES: [string, string, number[]][] = [
  // ▁ l o w e r → (▁ l) ▁l o w e r → (o w) ▁l ow e r → (▁l ow) ▁low e r → (e r) ▁low er → (▁low er) ▁lower
  ['all merges in rank order', 'lower', [sp('▁lower')]],
  // ▁ l o w ▁ n e w e r: "e r" (rank 3) comes before "e w" (rank 6), so the last "e" goes to "er"
  // and "▁low er" cannot apply across the "▁n" between them: ▁low ▁n ew er.
  ['rank deciding between overlapping pairs', 'low newer', [sp('▁low'), sp('▁n'), sp('ew'), sp('er')]],
  // é is not a piece: its UTF-8 bytes C3 A9 become <0xC3> <0xA9>
  ['byte fallback for a letter', 'lé', [sp('▁l'), byte(0xc3), byte(0xa9)]],
  // 😀 is U+1F600, UTF-8 F0 9F 98 80
  ['byte fallback for an astral character', 'l😀', [sp('▁l'), byte(0xf0), byte(0x9f), byte(0x98), byte(0x80)]],
  ['a newline, which has no piece', 'low\nlow', [sp('▁low'), byte(0x0a), sp('l'), sp('ow')]],
];

describe.each([
  ['a normalizer', llama2],
  ['a Metaspace pre-tokenizer', llama2Metaspace],
])('SentencePiece-style BPE (Llama 2, TinyLlama) with %s', (_, json) => {
  const tokenizer = Tokenizer.fromJSON(json, { bos_token: '<s>', eos_token: '</s>', add_bos_token: true, add_eos_token: false });

  it.each(SP_CASES)('encodes by hand-worked merges: %s', (_, text, ids) => {
    expect(tokenizer.encode(text, { addSpecialTokens: false })).toEqual(ids);
    expect(tokenizer.encode(text)).toEqual([1, ...ids]);
    expect(tokenizer.decode(ids)).toBe(text);
    expect(tokenizer.decode([1, ...ids], { skipSpecialTokens: true })).toBe(text);
  });

  it('takes BOS and EOS from tokenizer_config.json', () => {
    expect([tokenizer.bosId, tokenizer.eosId, tokenizer.padId, tokenizer.vocabSize]).toEqual([1, 2, null, 259 + PIECES.length]);
    const withEos = Tokenizer.fromJSON(json, { bos_token: '<s>', eos_token: '</s>', add_bos_token: true, add_eos_token: true });
    expect(withEos.encode('lower')).toEqual([1, sp('▁lower'), 2]);
    const bare = Tokenizer.fromJSON(json, { bos_token: '<s>', add_bos_token: false });
    expect(bare.encode('lower')).toEqual([sp('▁lower')]);
    // Without a config, tokenizer.json's post_processor adds <s>.
    expect(Tokenizer.fromJSON(json).encode('lower')).toEqual([1, sp('▁lower')]);
  });
});

describe('a leading space in SentencePiece-style BPE', () => {
  it('is a second "▁" where a normalizer prepends "▁" (Llama 2 as first converted)', () => {
    // ▁ ▁ l o w → (▁ l) ▁ ▁l o w → ▁ ▁low; decoding strips only the "▁" that was prepended.
    const tokenizer = Tokenizer.fromJSON(llama2);
    expect(tokenizer.encode(' low', { addSpecialTokens: false })).toEqual([sp('▁'), sp('▁low')]);
    expect(tokenizer.decode([sp('▁'), sp('▁low')])).toBe(' low');
  });

  it('stands for the prepended "▁" where a Metaspace pre-tokenizer adds it, as in Hugging Face\'s tokenizers', () => {
    // Metaspace prepends "▁" only to a text that does not start with one after spaces become "▁",
    // and its decoder strips the first "▁": the leading space does not come back.
    const tokenizer = Tokenizer.fromJSON(llama2Metaspace);
    expect(tokenizer.encode(' low', { addSpecialTokens: false })).toEqual([sp('▁low')]);
    expect(tokenizer.decode([sp('▁low')])).toBe('low');
  });
});

// Byte-level: the 256 byte characters of GPT-2's table as ids 0..255 (id = byte), then merged tokens.
const CHAR = byteToChar();
const blVocab: Record<string, number> = Object.fromEntries(CHAR.map((char, b) => [char, b]));
const MERGED = ['SA', '12', '34', '123', 'hi', 'Ġhi'];
for (const token of MERGED) blVocab[token] = Object.keys(blVocab).length;
// A token no merge makes: only ignore_merges (Llama 3) emits it, when a whole pre-token is this token.
blVocab.Ġcat = Object.keys(blVocab).length;
const bl = (token: string) => blVocab[token];
const ch = (text: string) => [...new TextEncoder().encode(text)];
const BEGIN = 300;
const END = 301;

/** As Llama 3 writes it; Qwen2 differs only in \p{N} instead of \p{N}{1,3} and has no BOS. */
const LLAMA3_SPLIT =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const llama3: TokenizerJson = {
  added_tokens: [
    { id: BEGIN, content: '<|begin_of_text|>', special: true, normalized: false },
    { id: END, content: '<|end_of_text|>', special: true, normalized: false },
  ],
  normalizer: null,
  pre_tokenizer: {
    type: 'Sequence',
    pretokenizers: [
      { type: 'Split', pattern: { Regex: LLAMA3_SPLIT }, behavior: 'Isolated', invert: false },
      { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
    ],
  },
  post_processor: {
    type: 'Sequence',
    processors: [
      { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
      {
        type: 'TemplateProcessing',
        single: [{ SpecialToken: { id: '<|begin_of_text|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
        pair: [
          { SpecialToken: { id: '<|begin_of_text|>', type_id: 0 } },
          { Sequence: { id: 'A', type_id: 0 } },
          { SpecialToken: { id: '<|begin_of_text|>', type_id: 1 } },
          { Sequence: { id: 'B', type_id: 1 } },
        ],
        special_tokens: { '<|begin_of_text|>': { id: '<|begin_of_text|>', ids: [BEGIN], tokens: ['<|begin_of_text|>'] } },
      },
    ],
  },
  decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
  // Merges in the newer [left, right] form; "3 4" ranks before "12 3".
  model: {
    type: 'BPE',
    vocab: blVocab,
    merges: [
      ['S', 'A'],
      ['1', '2'],
      ['3', '4'],
      ['12', '3'],
      ['h', 'i'],
      ['Ġ', 'hi'],
    ],
    ignore_merges: true,
    byte_fallback: false,
  },
};

const BL_CASES: [string, string, number[]][] = [
  // (?i:'s) splits "'S" off before "[^\r\n\p{L}\p{N}]?\p{L}+" can take "'SA": HE | 'S | A, so the
  // "S A" merge does not apply. A case-sensitive (?:'s) would give HE | 'SA and merge SA.
  ['a case-insensitive contraction', "HE'SA", ch("HE'S").concat(ch('A'))],
  ['a lower-case contraction', "he'sa", ch("he's").concat(ch('a'))],
  ['letters merging when no contraction splits them', 'SAS', [bl('SA'), ...ch('S')]],
  // \p{N}{1,3}: 123 | 4, so 1 2 3 → 12 3 → 123 and 4 alone. One pre-token 1234 would merge
  // 1 2 → 12, then "3 4" (rank 2) before "12 3" (rank 3): 12 34.
  ['digits in threes', '1234', [bl('123'), ...ch('4')]],
  ['a longer number', '1234567', [bl('123'), ...ch('4567')]],
  // " hi": Ġ h i → (h i) Ġ hi → (Ġ hi) Ġhi
  ['a space merged into the word after it', 'hi hi', [bl('hi'), bl('Ġhi')]],
  // " cat" is in the vocabulary whole, and ignore_merges emits it though no merge builds it.
  ['a whole pre-token from the vocabulary', 'a cat', [...ch('a'), bl('Ġcat')]],
  ['the special token written in the text', '<|begin_of_text|>hi<|end_of_text|>', [BEGIN, bl('hi'), END]],
  ['astral characters as their bytes', 'hi 😀', [bl('hi'), ...ch(' 😀')]],
];

describe('byte-level BPE with a split regex and added tokens (Llama 3, Qwen2, SmolLM2)', () => {
  const tokenizer = Tokenizer.fromJSON(JSON.stringify(llama3), { bos_token: '<|begin_of_text|>', eos_token: '<|end_of_text|>' });

  it.each(BL_CASES)('encodes by hand-worked merges: %s', (_, text, ids) => {
    expect(tokenizer.encode(text, { addSpecialTokens: false })).toEqual(ids);
    expect(tokenizer.encode(text)).toEqual([BEGIN, ...ids]);
    expect(tokenizer.decode(ids)).toBe(text);
  });

  it('leaves the special tokens out of decoded text when asked', () => {
    expect(tokenizer.decode([BEGIN, bl('hi'), END], { skipSpecialTokens: true })).toBe('hi');
    expect([tokenizer.bosId, tokenizer.eosId, tokenizer.vocabSize]).toEqual([BEGIN, END, 302]);
  });
});
