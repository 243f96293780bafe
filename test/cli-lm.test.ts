// The snell command line with a decoder language model, through runCli on the Node host with a tiny
// LLaMA checkpoint (random weights, a BPE tokenizer trained here): train on a text file writes an
// adapter whose held-out loss is the float64 reference's on the reloaded weights and falls with
// training; train on a folder of class sub-folders writes a classifier adapter that reloads with the
// reported accuracy and loss; full fine-tuning writes a checkpoint with its tokenizer; generate prints
// the prompt and the tokens generate() draws for that seed, the same each run; bad inputs are clear
// errors.

import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { nodeHost } from '../runtimes/node/host.js';
import type { Backend } from '../src/backend.js';
import { runCli } from '../src/cli/main.js';
import { drawnText, promptIds } from '../src/cli/lm-samples.js';
import { loadLmSource } from '../src/cli/lm-source.js';
import { loadLmData, textDocuments } from '../src/cli/lm-text-data.js';
import type { NamedArray } from '../src/core/weights.js';
import { loadLmAdapter } from '../src/io/lm-adapter.js';
import { loadLmCheckpoint, saveLmCheckpoint } from '../src/io/lm-checkpoint.js';
import { parseLmConfig } from '../src/io/lm-config.js';
import { lmWeightShapes } from '../src/io/lm-naming.js';
import { DecoderLM } from '../src/model/decoder/lm.js';
import { decoderLogits64 } from '../src/reference/decoder64.js';
import { uniform } from '../src/reference/random.js';
import { trainBpe } from '../src/text/bpe-train.js';
import { generate } from '../src/text/generate.js';
import { Tokenizer } from '../src/text/tokenizer.js';
import { IGNORE_INDEX } from '../src/text/lm-data.js';
import { LmTrainer } from '../src/train/lm-trainer.js';
import type { CausalRows } from '../src/train/lm-examples.js';
import { createWasmBackend } from '../src/wasm/backend.js';

const dir = mkdtempSync(join(tmpdir(), 'snell-cli-lm-'));
const modelDir = join(dir, 'model');

/** Seeded sentences over a few words: a text a small model can learn something of. */
function sentences(seed: number, count: number, words: readonly string[]): string {
  let s = seed;
  const next = () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31;
  };
  return Array.from({ length: count }, () => {
    const n = 3 + Math.floor(next() * 4);
    return `${Array.from({ length: n }, () => words[Math.floor(next() * words.length)]).join(' ')}.`;
  }).join(' ');
}
const WORDS = ['the', 'cat', 'sat', 'on', 'a', 'mat', 'and', 'dog', 'ran', 'to'];
const TEXT = Array.from({ length: 12 }, (_, d) => sentences(d + 1, 8, WORDS)).join('\n\n');

/** A tiny LLaMA (untied head, grouped-query) with random weights and a BPE tokenizer of the text. */
function writeModel() {
  const bpe = trainBpe([TEXT], { vocabSize: 300 });
  const sourceConfig = {
    model_type: 'llama',
    // three ids past the tokenizer's, as an embedding padded to a round size has
    vocab_size: Tokenizer.fromJSON(bpe.json, bpe.config).vocabSize + 3,
    hidden_size: 16,
    intermediate_size: 32,
    num_hidden_layers: 2,
    num_attention_heads: 2,
    num_key_value_heads: 1,
    rms_norm_eps: 1e-5,
    rope_theta: 10000.0,
    max_position_embeddings: 24,
    tie_word_embeddings: false,
  };
  const config = parseLmConfig(sourceConfig);
  const weights = new Map<string, NamedArray>();
  [...lmWeightShapes(config)].forEach(([name, shape], i) => {
    const norm = /norm/.test(name);
    const size = shape.reduce((a, d) => a * d, 1);
    weights.set(name, { shape, data: uniform(size, 40 + i, norm ? 0.9 : -0.2, norm ? 1.1 : 0.2) });
  });
  return { bpe, sourceConfig, config, weights };
}

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const so = vi.spyOn(process.stdout, 'write').mockImplementation((s) => out.push(String(s)) > 0);
  const se = vi.spyOn(process.stderr, 'write').mockImplementation((s) => err.push(String(s)) > 0);
  try {
    return { code: await runCli(nodeHost(args)), out: out.join(''), err: err.join('') };
  } finally {
    so.mockRestore();
    se.mockRestore();
  }
}

const events = (out: string) =>
  out
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown> & { event: string });
const eventOf = (out: string, name: string) => events(out).find((e) => e.event === name)!;

/** Mean held-out next-token loss of the windows through the float64 reference. */
function referenceLoss(weights: Map<string, NamedArray>, model: DecoderLM, rows: CausalRows, sparsity: number): number {
  const [N, T] = rows.shape;
  const V = model.config.vocabSize;
  const logits = decoderLogits64(
    weights,
    model.config,
    rows.inputIds,
    { B: N, T, lengths: Array.from(rows.lengths) },
    { sparsity },
  );
  let [sum, count] = [0, 0];
  for (let r = 0; r < N * T; r++) {
    const label = rows.labels[r]!;
    if (label === IGNORE_INDEX) continue;
    const row = logits.subarray(r * V, (r + 1) * V);
    const max = Math.max(...row);
    let z = 0;
    for (const v of row) z += Math.exp(v - max);
    sum += max + Math.log(z) - row[label]!;
    count++;
  }
  return sum / count;
}

describe('snell train / generate with a decoder language model (wasm)', () => {
  let b: Backend;
  const textFile = join(dir, 'text.txt');
  const adapterDir = join(dir, 'adapter');
  const common = ['--model', modelDir, '--backend', 'wasm', '--seq-len', '16', '--json'];

  beforeAll(async () => {
    b = await createWasmBackend();
    const { bpe, sourceConfig, config, weights } = writeModel();
    const host = nodeHost();
    await host.files.mkdir(modelDir);
    await saveLmCheckpoint(host.files.folder(modelDir), weights, config, { arch: 'llama', prefix: 'model.' }, { sourceConfig });
    writeFileSync(join(modelDir, 'tokenizer.json'), JSON.stringify(bpe.json));
    writeFileSync(join(modelDir, 'tokenizer_config.json'), JSON.stringify(bpe.config));
    writeFileSync(textFile, TEXT);
  });
  afterAll(() => b?.destroy());

  it('splits a text file into documents at blank lines and form feeds', () => {
    expect(textDocuments('one\ntwo\n\nthree\n  \nfour\ffive\n\n\n')).toEqual(['one\ntwo', 'three', 'four', 'five']);
  });

  it('train on a text file: the held-out loss falls, is the reference on the saved adapter, and the adapter reproduces it', async () => {
    const args = [...common, '--data', textFile, '--method', 'snell', '--epochs', '3', '--batch', '4', '--lr', '3e-2'];
    const r = await cli(['train', ...args, '--warmup', '0', '--samples', '2', '--sample-tokens', '8', '--out', adapterDir]);
    expect(r.code, r.err).toBe(0);
    const before = eventOf(r.out, 'before').test as { loss: number; perplexity: number };
    const result = eventOf(r.out, 'result') as unknown as {
      after: { loss: number; perplexity: number; count: number };
      trainable: number;
      peakBytes: number;
    };
    expect(result.after.perplexity).toBeCloseTo(Math.exp(result.after.loss), 6);
    expect(result.after.loss).toBeLessThan(before.loss - 0.05);
    // 2 layers × 7 projections, each In_Qs [2, in, 4] + Out_Qs [2, out, 4]: (in + out)·8
    const widths = [16 + 16, 16 + 8, 16 + 8, 16 + 16, 16 + 32, 16 + 32, 32 + 16];
    expect(result.trainable).toBe(2 * widths.reduce((a, w) => a + 8 * w, 0));
    expect(result.peakBytes).toBeGreaterThan(0);
    const samples = events(r.out).filter((e) => e.event === 'samples') as unknown as {
      when: string;
      samples: { text: string }[];
    }[];
    expect(samples.map((s) => [s.when, s.samples.length])).toEqual([
      ['before', 2],
      ['after', 2],
    ]);

    // the same held-out windows, the saved adapter, the float64 reference
    const host = nodeHost();
    const source = await loadLmSource(modelDir, host.files);
    const data = await loadLmData(
      { data: textFile, seed: 0, 'train-examples': 0, 'test-examples': 0 },
      source.tokenizer,
      16,
      host,
    );
    expect(data.test.shape[0]).toBe(Math.max(1, Math.round(0.1 * (data.train.shape[0] + data.test.shape[0]))));
    const adapter = await loadLmAdapter(host.files.folder(adapterDir), source.base);
    const model = new DecoderLM(b, source.base.config, adapter.weights, { plan: adapter.plan, seed: 5 });
    const again = await new LmTrainer(model).evaluate(data.test, 16);
    expect(again.loss).toBeCloseTo(result.after.loss, 5);
    const ref = referenceLoss(adapter.weights, model, data.test as CausalRows, 0.5);
    expect(Math.abs(ref - result.after.loss)).toBeLessThan(1e-4);
    model.dispose();
  });

  it('generate: the prompt and the tokens generate() draws for the seed, the same each run', async () => {
    const args = ['generate', '--model', modelDir, '--adapter', adapterDir, '--backend', 'wasm', '--prompt', 'the cat'];
    const opts = ['--max-new-tokens', '8', '--temperature', '0.8', '--top-k', '40', '--seed', '3'];
    const first = await cli([...args, ...opts]);
    expect(first.code, first.err).toBe(0);
    expect((await cli([...args, ...opts])).out).toBe(first.out);

    const host = nodeHost();
    const source = await loadLmSource(modelDir, host.files);
    const adapter = await loadLmAdapter(host.files.folder(adapterDir), source.base);
    const model = new DecoderLM(b, source.base.config, adapter.weights, { plan: adapter.plan, seed: 0 });
    const ids = promptIds(source.tokenizer, model, 'the cat', 8);
    const drawn = await generate(model, ids, {
      maxNewTokens: 8,
      temperature: 0.8,
      topK: 40,
      seed: 3,
      stopTokens: [source.tokenizer.eosId!],
    });
    model.dispose();
    expect(first.out).toBe(`the cat${drawnText(source.tokenizer, drawn)}\n`);
  });

  it('train on a folder of classes: a classifier adapter that reloads with the reported accuracy and loss', async () => {
    const classes = join(dir, 'classes');
    const themes = { animals: ['cat', 'dog', 'ran', 'sat'], things: ['mat', 'on', 'a', 'to'] };
    for (const [name, words] of Object.entries(themes)) {
      mkdirSync(join(classes, name), { recursive: true });
      for (let i = 0; i < 6; i++)
        writeFileSync(join(classes, name, `${i}.txt`), sentences(i + (name === 'animals' ? 0 : 50), 1, words));
    }
    const out = join(dir, 'classifier');
    const r = await cli([
      'train',
      ...common,
      '--data',
      classes,
      '--method',
      'lora',
      '--epochs',
      '2',
      '--batch',
      '4',
      '--out',
      out,
    ]);
    expect(r.code, r.err).toBe(0);
    expect(eventOf(r.out, 'data').description).toMatch(/2 classes \(animals, things\), 10 train \/ 2 held-out files/);
    const result = eventOf(r.out, 'result') as unknown as {
      task: string;
      after: { loss: number; accuracy: number; count: number };
    };
    expect(result.task).toBe('classify');
    expect(result.after.count).toBe(2);
    const config = JSON.parse(readFileSync(join(out, 'adapter_config.json'), 'utf8'));
    expect(config).toMatchObject({ method: 'lora', task_type: 'SEQ_CLS', modules_to_save: ['score'] });

    const host = nodeHost();
    const source = await loadLmSource(modelDir, host.files);
    const data = await loadLmData(
      { data: classes, seed: 0, 'train-examples': 0, 'test-examples': 0 },
      source.tokenizer,
      16,
      host,
    );
    const adapter = await loadLmAdapter(host.files.folder(out), source.base);
    const model = new DecoderLM(b, source.base.config, adapter.weights, {
      plan: adapter.plan,
      seed: 7,
      task: { kind: 'classify', classes: 2 },
    });
    const again = await new LmTrainer(model).evaluate(data.test, 16);
    model.dispose();
    expect(again.accuracy).toBe(result.after.accuracy);
    expect(again.loss).toBeCloseTo(result.after.loss, 5);
  });

  it('train --method snella runs the allocator: an allocation event per epoch, and the adapter keeps its layer sparsities', async () => {
    const out = join(dir, 'snella');
    const r = await cli([
      'train',
      ...common,
      '--data',
      textFile,
      '--method',
      'snella',
      '--target-sparsity',
      '0.6',
      '--epochs',
      '3',
      '--batch',
      '8',
      '--out',
      out,
    ]);
    expect(r.code, r.err).toBe(0);
    const allocations = events(r.out).filter((e) => e.event === 'allocation');
    expect(allocations.map((a) => a.epoch)).toEqual([0, 1, 2]);
    const config = JSON.parse(readFileSync(join(out, 'adapter_config.json'), 'utf8'));
    const last = allocations[2] as unknown as { sparsity: Record<string, number> };
    expect(config.method).toBe('snella');
    expect(config.layer_sparsity).toEqual(last.sparsity);
  });

  it('train --method full writes a checkpoint with its tokenizer, which loads with the trained loss', async () => {
    const out = join(dir, 'full');
    const r = await cli([
      'train',
      ...common,
      '--data',
      textFile,
      '--method',
      'full',
      '--epochs',
      '1',
      '--batch',
      '8',
      '--out',
      out,
    ]);
    expect(r.code, r.err).toBe(0);
    const result = eventOf(r.out, 'result') as unknown as { after: { loss: number }; trainable: number };
    expect(result.trainable).toBe(
      [...lmWeightShapes(parseLmConfig(JSON.parse(readFileSync(join(modelDir, 'config.json'), 'utf8'))))].reduce(
        (a, [, s]) => a + s.reduce((x, d) => x * d, 1),
        0,
      ),
    );
    const host = nodeHost();
    const source = await loadLmSource(out, host.files);
    const data = await loadLmData(
      { data: textFile, seed: 0, 'train-examples': 0, 'test-examples': 0 },
      source.tokenizer,
      16,
      host,
    );
    const model = new DecoderLM(b, source.base.config, (await loadLmCheckpoint(host.files.folder(out))).weights, {
      plan: null,
      seed: 0,
    });
    const again = await new LmTrainer(model).evaluate(data.test, 16);
    model.dispose();
    expect(again.loss).toBeCloseTo(result.after.loss, 5);
  });

  it('Ctrl-C stops after the current step and saves what was learned to --out (exit status 130)', async () => {
    const out = join(dir, 'stopped');
    const args = ['train', ...common, '--data', textFile, '--method', 'lora', '--batch', '2', '--out', out];
    const lines: string[] = [];
    const so = vi.spyOn(process.stdout, 'write').mockImplementation((s) => lines.push(String(s)) > 0);
    let code: number;
    try {
      // the signal comes on the first turn of the event loop after training starts: after step 1
      const host = {
        ...nodeHost(args),
        onStopSignal: (listener: (s: 'SIGINT') => void) => {
          setTimeout(() => listener('SIGINT'), 0);
          return () => {};
        },
      };
      code = await runCli(host);
    } finally {
      so.mockRestore();
    }
    expect(code).toBe(130);
    const stopped = eventOf(lines.join(''), 'interrupted') as unknown as { step: number };
    const steps = events(lines.join('')).filter((e) => e.event === 'step');
    expect(stopped.step).toBe(steps.length);
    expect(stopped.step).toBeLessThan(Math.ceil((eventOf(lines.join(''), 'data').train as number) / 2));
    const host = nodeHost();
    const source = await loadLmSource(modelDir, host.files);
    const adapter = await loadLmAdapter(host.files.folder(out), source.base);
    expect(adapter.plan.method).toBe('lora');
    // LoRA's B starts at 0: a saved nonzero B is what the steps taken learned
    const b0 = [...adapter.tensors].find(([n]) => n.endsWith('.Out_Qs'))![1];
    expect(b0.data.some((v) => v !== 0)).toBe(true);
  });

  it('bad inputs are clear errors', async () => {
    const empty = join(dir, 'empty.txt');
    writeFileSync(empty, '\n  \n\f\n');
    const one = join(dir, 'one-class');
    mkdirSync(join(one, 'only'), { recursive: true });
    writeFileSync(join(one, 'only', 'a.txt'), 'the cat sat');
    const cases: Array<[string[], number, RegExp]> = [
      [
        ['train', ...common, '--data', empty],
        2,
        /--data .*empty.txt holds no text: give a file with at least one non-blank line/,
      ],
      [['train', ...common, '--data', one], 2, /one class with text \(only\): a classifier needs at least two sub-folders/],
      [
        ['train', ...common, '--data', textFile, '--method', 'linear'],
        2,
        /--method must be one of snell, snella, klora, lora, dense, full, head, got "linear"/,
      ],
      [['train', ...common, '--data', textFile, '--seq-len', '64'], 2, /--seq-len 64 exceeds the model's 24 positions/],
      [
        ['generate', '--model', modelDir, '--backend', 'wasm', '--prompt', TEXT.slice(0, 200)],
        2,
        /--prompt has \d+ tokens and 64 new ones need \d+ positions; the model has 24: shorten the prompt/,
      ],
      [
        ['generate', '--model', modelDir, '--backend', 'wasm', '--prompt', 'the cat', '--max-new-tokens', '40'],
        2,
        /the model has 24: ask for at most \d+ new tokens \(--max-new-tokens\)/,
      ],
    ];
    for (const [args, code, message] of cases) {
      const r = await cli(args);
      expect(r.code, args.join(' ')).toBe(code);
      expect(r.err).toMatch(message);
    }
  });
});
