// The embedded language model (src/pretrained/lm/): it loads from embeddedLmCheckpoint() with its
// tokenizer, its config is the shape TRAINING.md states, the tokenizer round-trips Brown text, the
// Wasm model's loss on one window equals the float64 reference's, and its perplexity on the first
// Brown validation text is far below a uniform guess's 4096 and within 0.5% of the figure TRAINING.md
// records for that text (recorded from the float32 weights in training; these are their F16 copy).

import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBrownCorpus } from '../runtimes/node/text-corpora.js';
import type { Backend } from '../src/backend.js';
import { type LoadedLm, loadLmCheckpoint } from '../src/io/lm-checkpoint.js';
import { loadLmTokenizer } from '../src/io/lm-tokenizer.js';
import { blobFolder } from '../src/io/source-blob.js';
import { DecoderLM } from '../src/model/decoder/lm.js';
import { embeddedLmCheckpoint } from '../src/pretrained/lm/index.js';
import { causalLmLoss64, decoderLogits64 } from '../src/reference/decoder64.js';
import { causalLmWindows } from '../src/text/lm-data.js';
import type { Tokenizer } from '../src/text/tokenizer.js';
import { LmTrainer } from '../src/train/lm-trainer.js';
import { createWasmBackend } from '../src/wasm/backend.js';

const TRAINING = readFileSync(new URL('../src/pretrained/lm/TRAINING.md', import.meta.url), 'utf8').replace(/\s+/g, ' ');
const stated = (pattern: RegExp): string[] => {
  const m = TRAINING.match(pattern);
  if (!m) throw new Error(`TRAINING.md states nothing matching ${pattern}`);
  return m.slice(1);
};

describe('the embedded language model', () => {
  let lm: LoadedLm;
  let tokenizer: Tokenizer;
  let backend: Backend;
  let validation: { id: string; text: string }[];

  beforeAll(async () => {
    const folder = await embeddedLmCheckpoint();
    lm = await loadLmCheckpoint(folder);
    tokenizer = await loadLmTokenizer(folder);
    validation = (await loadBrownCorpus()).validation;
    backend = await createWasmBackend({ threads: 1 });
  });
  afterAll(() => backend?.destroy());

  it('has the shape and parameter count TRAINING.md states, and an untied head', () => {
    const [vocab, hidden, layers, heads, kvHeads, headDim, mlp] = stated(
      /vocab (\d+), hidden (\d+), (\d+) layers, (\d+) query heads and (\d+) key\/value heads of width (\d+), SwiGLU MLP (\d+)/,
    ).map(Number);
    const c = lm.config;
    expect([c.modelType, c.vocabSize, c.hidden, c.layers, c.heads, c.kvHeads, c.headDim, c.intermediate]).toEqual([
      'llama',
      vocab,
      hidden,
      layers,
      heads,
      kvHeads,
      headDim,
      mlp,
    ]);
    expect(c.tieWordEmbeddings).toBe(false);
    const count = [...lm.weights.values()].reduce((n, t) => n + t.data.length, 0);
    expect(count).toBe(Number(stated(/ (\d+) parameters, stored as F16/)[0]));
    expect(tokenizer.vocabSize).toBe(c.vocabSize);
    expect(tokenizer.eosId).toBe(c.eosTokenIds[0]);
  });

  it("loadLmTokenizer refuses a folder without tokenizer.json, or one whose ids outrun config.json's vocab_size", async () => {
    const folder = await embeddedLmCheckpoint();
    const file = async (name: string) => {
      const source = (await folder.open(name))!;
      return source.read(0, source.size);
    };
    const tokenizerJson = await file('tokenizer.json');
    await expect(loadLmTokenizer(blobFolder({ 'config.json': await file('config.json') }, 'bare'))).rejects.toThrow(
      /bare\/tokenizer.json.*not found: the model's folder needs its tokenizer.json/,
    );
    const small = new TextEncoder().encode(JSON.stringify({ vocab_size: 1000 }));
    await expect(loadLmTokenizer(blobFolder({ 'config.json': small, 'tokenizer.json': tokenizerJson }, 'other'))).rejects.toThrow(
      /has ids up to 4095, but config.json's vocab_size is 1000: the tokenizer belongs to another model/,
    );
  });

  it('tokenizes a held-out Brown sentence and decodes it back', () => {
    const sentence = validation[0]!.text.split('\n')[0]!; // one sentence a line
    expect(sentence.length).toBeGreaterThan(40);
    const ids = tokenizer.encode(sentence);
    expect(tokenizer.decode(ids)).toBe(sentence);
    expect(ids.length).toBeLessThan(sentence.length / 2.5);
  });

  it('computes the float64 reference loss and the recorded perplexity of the first validation text', async () => {
    const [id, windows, seqLen, recorded] = stated(
      /First validation text \((\w+)\) alone, (\d+) windows of (\d+): perplexity ([\d.]+)/,
    );
    const text = validation[0]!;
    expect(text.id).toBe(id);
    const rows = causalLmWindows(tokenizer, [text.text], { seqLen: Number(seqLen) });
    expect(rows.shape[0]).toBe(Number(windows));
    const model = new DecoderLM(backend, lm.config, lm.weights, { plan: null, seed: 0 });
    const trainer = new LmTrainer(model);
    try {
      const T = rows.shape[1];
      const first = {
        inputIds: rows.inputIds.subarray(0, T),
        labels: rows.labels.subarray(0, T),
        lengths: rows.lengths.subarray(0, 1),
        shape: [1, T] as const,
      };
      const reference = causalLmLoss64(
        decoderLogits64(lm.weights, lm.config, first.inputIds, { B: 1, T }),
        first.labels,
        T,
        lm.config.vocabSize,
      );
      expect((await trainer.evaluate(first, 1)).loss).toBeCloseTo(reference, 4);

      const all = await trainer.evaluate(rows, 32);
      expect(all.perplexity!).toBeLessThan(4096 / 10);
      expect(all.perplexity! / Number(recorded)).toBeGreaterThan(1 / 1.005);
      expect(all.perplexity! / Number(recorded)).toBeLessThan(1.005);
    } finally {
      model.dispose();
    }
  });
});
