// trainBpe: merges worked out by hand on tiny texts (counts, the tie rule, left-to-right replacement,
// minFrequency, vocabSize), the trained files loaded by Tokenizer encode the training text as the
// merges say and round-trip arbitrary Unicode exactly, special tokens stay whole, and training is
// deterministic.

import { describe, expect, it } from 'vitest';
import { rng } from '../src/core/random.js';
import { trainBpe } from '../src/text/bpe-train.js';
import { Tokenizer } from '../src/text/tokenizer.js';

const loaded = (t: ReturnType<typeof trainBpe>) => Tokenizer.fromJSON(t.json, t.config);

describe('trainBpe', () => {
  it('merges the most frequent pair first, ties to the smaller left then right id', () => {
    // one word; pairs aa 4, ab 2, then (aa, a) 2 against (a, b) 2: a (byte 97) is older than aa
    const t = trainBpe(['aaabdaaabac'], { vocabSize: 1000 });
    expect(t.json.model.merges).toEqual([
      ['a', 'a'],
      ['a', 'b'],
      ['aa', 'ab'],
    ]);
    const vocab = t.json.model.vocab;
    expect(vocab['<|endoftext|>']).toBe(0);
    expect(vocab.a).toBe(1 + 97);
    expect([vocab.aa, vocab.ab, vocab.aaab]).toEqual([257, 258, 259]);
    const tokenizer = loaded(t);
    expect(tokenizer.encode('aaabdaaabac').map((id) => tokenizer.idToToken(id))).toEqual(['aaab', 'd', 'aaab', 'a', 'c']);
    expect(tokenizer.vocabSize).toBe(260);
  });

  it('counts pairs inside GPT-2 words only, a space starting the word as Ġ', () => {
    // words "hello" and " hello" ×2 ("Ġhello"), " world": he, el, ll, lo 3 each, Ġh 2; e < h < l by byte,
    // so e l; then h el; then (hel, l) and (l, o) tie at 3 and the byte l is older than hel
    const t = trainBpe(['hello hello hello world'], { vocabSize: 257 + 4 });
    expect(t.json.model.merges).toEqual([
      ['e', 'l'],
      ['h', 'el'],
      ['l', 'o'],
      ['hel', 'lo'],
    ]);
    const tokenizer = loaded(t);
    expect(tokenizer.encode(' hello').map((id) => tokenizer.idToToken(id))).toEqual(['Ġ', 'hello']);
    // one more id: Ġ hello (count 2) beats every pair of " world" (count 1)
    expect(trainBpe(['hello hello hello world'], { vocabSize: 257 + 5 }).json.model.merges.at(-1)).toEqual(['Ġ', 'hello']);
    // minFrequency 3 stops before Ġ hello
    expect(trainBpe(['hello hello hello world'], { vocabSize: 1000, minFrequency: 3 }).json.model.merges).toHaveLength(4);
  });

  it('keeps special tokens whole and out of the merges, and names them BOS, EOS and padding', () => {
    const t = trainBpe(['ab<|endoftext|>ab<|endoftext|>'], { vocabSize: 300, minFrequency: 1 });
    expect(t.json.model.merges).toEqual([['a', 'b']]);
    const tokenizer = loaded(t);
    expect([tokenizer.bosId, tokenizer.eosId, tokenizer.padId]).toEqual([0, 0, 0]);
    expect(tokenizer.encode('ab<|endoftext|>x')).toEqual([t.json.model.vocab.ab, 0, 1 + 120]);
    expect(tokenizer.encode('ab', { addSpecialTokens: true })).toEqual([t.json.model.vocab.ab]);
  });

  it('round-trips arbitrary Unicode exactly', () => {
    const corpus = ['Grüße aus Köln! 東京は晴れ。 emoji 🙂🚀, tabs\tand\r\nnewlines  ', 'naïve café — "quotes" 1234 5678'];
    const tokenizer = loaded(trainBpe(corpus, { vocabSize: 400, minFrequency: 1 }));
    const next = rng(11);
    for (let n = 0; n < 50; n++) {
      const points = Array.from({ length: 1 + Math.floor(next() * 30) }, () => {
        const pick = next();
        // ASCII, Latin-1 and beyond, CJK, astral (emoji); surrogates excluded (not well-formed text)
        const cp =
          pick < 0.4
            ? Math.floor(next() * 128)
            : pick < 0.7
              ? 128 + Math.floor(next() * 0x7f80)
              : pick < 0.85
                ? 0xe000 + Math.floor(next() * 0x2000)
                : 0x10000 + Math.floor(next() * 0x10000);
        return cp >= 0xd800 && cp < 0xe000 ? 0x41 : cp;
      });
      const text = String.fromCodePoint(...points);
      expect(tokenizer.decode(tokenizer.encode(text))).toBe(text);
    }
    for (const text of corpus) expect(tokenizer.decode(tokenizer.encode(text))).toBe(text);
  });

  it('is deterministic and refuses options it cannot honour', () => {
    const texts = ['the cat sat on the mat', 'the dog sat on the log', 'the cat and the dog'];
    expect(JSON.stringify(trainBpe(texts, { vocabSize: 290 }))).toBe(JSON.stringify(trainBpe(texts, { vocabSize: 290 })));
    expect(() => trainBpe(texts, { vocabSize: 100 })).toThrow(/vocabSize must be an integer from 257/);
    expect(() => trainBpe(texts, { vocabSize: 300, specialTokens: ['<s>', '<s>'] })).toThrow(/distinct/);
  });
});
