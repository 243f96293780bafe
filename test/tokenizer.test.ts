// The Tokenizer's API around the encodings themselves (those are checked against references in
// tokenizer-gpt2 and tokenizer-llama): batches padded and truncated into [B, T] grids, decoding ids,
// and the errors for malformed files, unsupported models and bad calls.

import { describe, expect, it } from 'vitest';
import { TokenizerError } from '../src/text/errors.js';
import { gpt2TokenizerFiles } from '../src/text/gpt2-files.js';
import { Tokenizer } from '../src/text/tokenizer.js';
import { gpt2Files } from './support/text-corpora.js';

const { encoder, vocabBpe } = gpt2Files();
const gpt2 = Tokenizer.fromGpt2Files(encoder, vocabBpe);
const END = 50256;
const { json } = gpt2TokenizerFiles(encoder, vocabBpe);
/** GPT-2's files with a config that adds <|endoftext|> before and after each text. */
const framed = Tokenizer.fromJSON(json, {
  bos_token: '<|endoftext|>',
  eos_token: '<|endoftext|>',
  add_bos_token: true,
  add_eos_token: true,
});

/** Row b of a [B, T] grid. */
const row = (grid: Int32Array | Uint8Array, width: number, b: number) => [...grid.subarray(b * width, (b + 1) * width)];

describe('encodeBatch', () => {
  const texts = ['Hello world', 'a', 'The quick brown fox jumps'];
  const rows = texts.map((text) => gpt2.encode(text));

  it('pads every row to the longest on the right, with a mask over the real tokens', () => {
    const batch = gpt2.encodeBatch(texts, { padId: END });
    const width = Math.max(...rows.map((r) => r.length));
    expect(batch.shape).toEqual([3, width]);
    expect([...batch.lengths]).toEqual(rows.map((r) => r.length));
    rows.forEach((ids, b) => {
      const pad = width - ids.length;
      expect(row(batch.ids, width, b)).toEqual([...ids, ...Array(pad).fill(END)]);
      expect(row(batch.attentionMask, width, b)).toEqual([...Array(ids.length).fill(1), ...Array(pad).fill(0)]);
    });
  });

  it('pads on the left for generation, and to maxLength with padding "max"', () => {
    const batch = gpt2.encodeBatch(texts, { padId: 0, padding: 'max', maxLength: 8, side: 'left' });
    expect(batch.shape).toEqual([3, 8]);
    rows.forEach((ids, b) => {
      expect(row(batch.ids, 8, b)).toEqual([...Array(8 - ids.length).fill(0), ...ids]);
      expect(row(batch.attentionMask, 8, b)).toEqual([...Array(8 - ids.length).fill(0), ...Array(ids.length).fill(1)]);
    });
  });

  it('cuts long texts on the chosen side and keeps the special tokens around them', () => {
    const words = gpt2.encode('one two three four five');
    expect(words).toHaveLength(5);
    const right = framed.encodeBatch(['one two three four five'], { maxLength: 4, truncation: true });
    expect([...right.ids]).toEqual([END, words[0], words[1], END]);
    const left = framed.encodeBatch(['one two three four five'], { maxLength: 4, truncation: 'left' });
    expect([...left.ids]).toEqual([END, words[3], words[4], END]);
    expect(framed.encode('one', { addSpecialTokens: true })).toEqual([END, words[0], END]);
  });

  it('leaves special tokens out when asked, as encode does', () => {
    const batch = framed.encodeBatch(['Hello world'], { addSpecialTokens: false });
    expect([...batch.ids]).toEqual([15496, 995]);
  });

  it('takes an empty batch and empty texts', () => {
    expect(gpt2.encodeBatch([]).shape).toEqual([0, 0]);
    const batch = gpt2.encodeBatch(['', 'a'], { padId: END });
    expect([...batch.ids, ...batch.attentionMask, ...batch.lengths]).toEqual([END, 64, 0, 1, 0, 1]);
  });

  it('refuses a text longer than maxLength unless truncation is on', () => {
    expect(() => gpt2.encodeBatch(['a', 'one two three four five'], { maxLength: 3 })).toThrow(
      new TokenizerError(
        "text 1 is 5 tokens, longer than maxLength 3: pass truncation: true (or 'left') to cut it, or raise maxLength",
      ),
    );
    expect(() => framed.encodeBatch(['a'], { maxLength: 1, truncation: true })).toThrow(
      /leaves no room for the 2 special tokens/,
    );
  });

  it('needs a pad id only where a row must be padded', () => {
    expect(() => gpt2.encodeBatch(['a', 'a b'])).toThrow(/padding needs a pad token .* pass \{ padId \}/);
    expect(gpt2.encodeBatch(['a b', 'c d']).shape).toEqual([2, 2]);
    expect(() => gpt2.encodeBatch(['a'], { padId: 50257 })).toThrow(/padId is 50257, not a token id/);
  });

  it('checks its options', () => {
    expect(() => gpt2.encodeBatch(['a'], { padding: 'max' })).toThrow(TypeError);
    expect(() => gpt2.encodeBatch(['a'], { truncation: true })).toThrow(/give maxLength too/);
    expect(() => gpt2.encodeBatch(['a'], { maxLength: 0 })).toThrow(/positive integer/);
    expect(() => gpt2.encodeBatch(['a'], { side: 'top' as 'left' })).toThrow(/side must be 'left' or 'right'/);
    expect(() => gpt2.encodeBatch('a' as unknown as string[])).toThrow(TypeError);
    expect(() => gpt2.encodeBatch(['a', 7 as unknown as string])).toThrow(/encodeBatch's text 1 takes a string, got number/);
  });
});

describe('decode', () => {
  it('takes typed arrays and leaves special tokens out when asked', () => {
    expect(gpt2.decode(Int32Array.of(15496, 995, END))).toBe('Hello world<|endoftext|>');
    expect(gpt2.decode([END, 15496, 995, END], { skipSpecialTokens: true })).toBe('Hello world');
    expect(gpt2.decode([END], { skipSpecialTokens: true })).toBe('');
    expect(gpt2.decode([])).toBe('');
  });

  it('keeps the spaces a clean-up would remove', () => {
    const text = "a , b . c ' s do n't";
    expect(gpt2.decode(gpt2.encode(text))).toBe(text);
  });

  it('refuses ids outside the vocabulary', () => {
    expect(() => gpt2.decode([15496, 50257])).toThrow(
      new TokenizerError("decode's id 1 is 50257, not a token id of this tokenizer (integers 0 to 50256)"),
    );
    expect(() => gpt2.decode([1.5])).toThrow(TokenizerError);
    expect(() => gpt2.decode('abc' as unknown as number[])).toThrow(TypeError);
  });

  it('looks tokens and ids up both ways', () => {
    expect([gpt2.tokenToId('Hello'), gpt2.tokenToId('<|endoftext|>'), gpt2.tokenToId('not a token')]).toEqual([15496, END, null]);
    expect([gpt2.idToToken(995), gpt2.idToToken(60000)]).toEqual(['Ġworld', null]);
  });
});

describe('reading tokenizer files', () => {
  const tiny = { model: { type: 'BPE', vocab: { a: 0, b: 1, ab: 2 }, merges: ['a b'] } };

  it('reads a minimal tokenizer.json, as text or object, with every component absent', () => {
    const tokenizer = Tokenizer.fromJSON(JSON.stringify(tiny));
    expect(tokenizer.encode('abab')).toEqual([2, 2]);
    expect([tokenizer.vocabSize, tokenizer.bosId, tokenizer.eosId, tokenizer.padId]).toEqual([3, null, null, null]);
    expect(Tokenizer.fromJSON({ ...tiny, model: { ...tiny.model, type: undefined } } as never).encode('ab')).toEqual([2]);
  });

  it.each([
    ['text that is not JSON', '{"model":', /tokenizer\.json is not valid JSON/],
    ['no model', {}, /has no "model" object/],
    [
      'a WordPiece model',
      { model: { type: 'WordPiece', vocab: {} } },
      /model type "WordPiece" is not supported: .* "type": "BPE"/,
    ],
    ['a Unigram model', { model: { type: 'Unigram', vocab: [] } }, /model type "Unigram" is not supported/],
    ['no vocab', { model: { type: 'BPE', merges: [] } }, /no "vocab" object/],
    ['a negative id', { model: { ...tiny.model, vocab: { a: -1 } } }, /gives token "a" the id -1/],
    ['no merges', { model: { type: 'BPE', vocab: {} } }, /no "merges" array/],
    ['a merge of three parts', { model: { ...tiny.model, merges: ['a b c'] } }, /merge 0 is "a b c"/],
    ['an added token without content', { ...tiny, added_tokens: [{ id: 3 }] }, /added_tokens\[0\] needs/],
    [
      'a pre-tokenizer that is not an object',
      { ...tiny, pre_tokenizer: 'ByteLevel' },
      /"pre_tokenizer" must be an object or null/,
    ],
    [
      'an unknown pre-tokenizer',
      { ...tiny, pre_tokenizer: { type: 'Shredder' } },
      /could not be read: Unknown PreTokenizer type: Shredder/,
    ],
  ])('refuses %s', (_, file, message) => {
    expect(() => Tokenizer.fromJSON(file as never)).toThrow(message);
    expect(() => Tokenizer.fromJSON(file as never)).toThrow(TokenizerError);
  });

  it.each([
    ['a bos_token missing from the vocabulary', { bos_token: '<s>' }, /bos_token "<s>" is not in tokenizer\.json's vocabulary/],
    ['add_bos_token without a bos_token', { add_bos_token: true }, /sets add_bos_token but names no bos_token/],
    ['add_eos_token that is not a boolean', { add_eos_token: 'yes' }, /"add_eos_token" must be true or false/],
    ['a pad_token that is a number', { pad_token: 3 }, /"pad_token" must be a token's text/],
  ])('refuses a tokenizer_config.json with %s', (_, config, message) => {
    expect(() => Tokenizer.fromJSON(tiny as never, config as never)).toThrow(message);
  });

  it('reads special tokens written as AddedToken objects', () => {
    const tokenizer = Tokenizer.fromJSON(tiny as never, { pad_token: { content: 'ab' }, eos_token: null });
    expect([tokenizer.padId, tokenizer.eosId]).toEqual([2, null]);
  });

  it('refuses arguments that are not files', () => {
    expect(() => Tokenizer.fromJSON([] as never)).toThrow(
      new TypeError('tokenizer.json must be a JSON object or its text, got an array'),
    );
    expect(() => gpt2.encode(null as unknown as string)).toThrow(new TypeError('encode takes a string, got null'));
  });

  it('refuses a vocab.bpe with a malformed merge', () => {
    expect(() => Tokenizer.fromGpt2Files(encoder, '#version: 0.2\nĠ t\nĠta\n')).toThrow(/vocab\.bpe's merge 2 is "Ġta"/);
    expect(() => Tokenizer.fromGpt2Files('{', vocabBpe)).toThrow(/encoder\.json is not valid JSON/);
  });
});
