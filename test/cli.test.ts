// The snell commands end to end on real data (MNIST, VTAB-1k split) with a fresh model on the Wasm
// backend: train writes an adapter, eval reproduces its accuracy, merge writes a checkpoint that info
// reads, export writes the reference's names; bad flags give usage errors.

import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pngjs from 'pngjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseFlags, UsageError } from '../src/cli/args.js';
import { evaluate } from '../src/cli/eval.js';
import { exportAdapter } from '../src/cli/export.js';
import { info } from '../src/cli/info.js';
import { merge } from '../src/cli/merge.js';
import { train } from '../src/cli/train.js';
import type { Command } from '../src/cli/args.js';
import { SafetensorsFile } from '../src/io/safetensors.js';
import { nodeHost } from '../runtimes/node/host.js';

const dir = mkdtempSync(join(tmpdir(), 'snell-cli-'));
const common = ['--model', 'scratch', '--data', 'mnist', '--split', 'vtab1k', '--backend', 'wasm'];

/** Runs a command as the CLI would, returning its exit status and what it printed. */
async function run(command: Command, args: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a) => void lines.push(a.join(' ')));
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((s) => {
    lines.push(String(s));
    return true;
  });
  try {
    const { flags, positional } = parseFlags(args, command.flags);
    return { code: await command.run(flags, positional, nodeHost()), out: lines.join('\n') };
  } finally {
    log.mockRestore();
    write.mockRestore();
  }
}

describe('snell commands', () => {
  afterEach(() => vi.restoreAllMocks());
  const adapter = join(dir, 'adapter');
  let trainedAccuracy = 0;
  let freshLosses: number[] = [];

  it('train: SNELL-8 on MNIST VTAB-1k, adapter written, test accuracy reported', async () => {
    const r = await run(train, [
      ...common,
      '--method',
      'snell',
      '--epochs',
      '1',
      '--batch',
      '32',
      '--lr',
      '5e-3',
      '--warmup',
      '0',
      '--sparsity',
      '0.9',
      '--out',
      adapter,
      '--json',
    ]);
    expect(r.code).toBe(0);
    const events = r.out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l));
    freshLosses = events.filter((e) => e.event === 'step').map((e) => e.loss);
    expect(freshLosses).toHaveLength(25);
    const result = events.find((e) => e.event === 'result');
    expect(result.test.samples).toBe(10000);
    expect(result.test.accuracy).toBeGreaterThan(0.2); // above chance after 25 steps from scratch
    trainedAccuracy = result.test.accuracy;
    for (const f of ['adapter_config.json', 'adapter_model.safetensors', 'training_state.json'])
      expect(existsSync(join(adapter, f))).toBe(true);
    expect(JSON.parse(readFileSync(join(adapter, 'adapter_config.json'), 'utf8'))).toMatchObject({
      peft_type: 'SNELL',
      method: 'snell',
      r: 8,
    });
  });

  it('eval: the saved adapter gives the same test accuracy', async () => {
    const r = await run(evaluate, [...common, '--adapter', adapter, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out.trim()).accuracy).toBeCloseTo(trainedAccuracy, 6);
  });

  it('train --resume of a plain adapter folder starts from its tensors, with new flags', async () => {
    const plain = join(dir, 'plain-adapter');
    mkdirSync(plain);
    for (const f of ['adapter_config.json', 'adapter_model.safetensors']) copyFileSync(join(adapter, f), join(plain, f));
    const r = await run(train, [...common, '--resume', plain, '--epochs', '1', '--lr', '1e-3', '--warmup', '0', '--json']);
    expect(r.code).toBe(0);
    const steps = r.out
      .split('\n')
      .filter((l) => l.startsWith('{"event":"step"'))
      .map((l) => JSON.parse(l));
    // starting from the trained adapter, the first losses are those of the end of the first run
    const mean = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / xs.length;
    expect(mean(steps.slice(0, 5).map((e) => e.loss))).toBeLessThan(mean(freshLosses.slice(0, 5)) - 0.1);
  });

  it('merge and info: a plain checkpoint with the memory estimate', async () => {
    const merged = join(dir, 'merged');
    expect((await run(merge, ['--model', 'scratch', '--backend', 'wasm', '--adapter', adapter, '--out', merged])).code).toBe(0);
    const r = await run(info, [merged, '--method', 'snell', '--batch', '8']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/timm naming, ViT D=96 depth 4 heads 3/);
    expect(r.out).toMatch(/memory of one snell training step at batch 8 .* peak total [\d.]+ MiB/);
  });

  it('export: the reference PyTorch names', async () => {
    const out = join(dir, 'export', 'snell_state.safetensors');
    expect(
      (
        await run(exportAdapter, [
          '--model',
          'scratch',
          '--backend',
          'wasm',
          '--adapter',
          adapter,
          '--format',
          'pytorch',
          '--out',
          out,
        ])
      ).code,
    ).toBe(0);
    const names = [...SafetensorsFile.parse(new Uint8Array(readFileSync(out)), out).entries.keys()];
    expect(names).toContain('blocks.3.mlp.additional_fc2.learnable.In_Qs');
    expect(names).toContain('blocks.0.attn.additional_q.learnable.shared_coeff_fc');
    expect(names).toContain('head.weight');
  });

  it('usage errors name the flag and the fix', async () => {
    expect(() => parseFlags(['--rank'], train.flags)).toThrow(/--rank needs a value/);
    expect(() => parseFlags(['--rnak', '8'], train.flags)).toThrow(UsageError);
    expect(() => parseFlags(['--method', 'dora'], train.flags)).toThrow(/--method must be one of snell, snella, snella-kernel/);
    expect(() => parseFlags(['--epochs', 'ten'], train.flags)).toThrow(/--epochs must be a number, got "ten"/);
    await expect(run(evaluate, common)).rejects.toThrow(/--adapter DIR is required/);
  });

  it('bad data folders are refused with the fix: missing, one class, too small for VTAB-1k', async () => {
    /** A folder with `perClass` 8×8 grey PNGs in each class sub-folder. */
    const folder = (name: string, classes: string[], perClass: number) => {
      const root = join(dir, name);
      const image = new pngjs.PNG({ width: 8, height: 8 });
      image.data.fill(128);
      for (const c of classes) {
        mkdirSync(join(root, c), { recursive: true });
        for (let k = 0; k < perClass; k++) writeFileSync(join(root, c, `${k}.png`), pngjs.PNG.sync.write(image));
      }
      return root;
    };
    const data = (path: string, split = 'vtab1k') => [
      '--model',
      'scratch',
      '--data',
      path,
      '--split',
      split,
      '--backend',
      'wasm',
      '--epochs',
      '1',
    ];
    await expect(run(train, data(join(dir, 'no-such-folder')))).rejects.toThrow(
      /--data .*no-such-folder: no such folder; give mnist, fashion-mnist, or a folder/,
    );
    await expect(run(train, data(folder('one-class', ['cats'], 3)))).rejects.toThrow(
      /has one class \(cats\): a classifier needs at least two sub-folders/,
    );
    await expect(run(train, data(folder('small', ['a', 'b'], 5)))).rejects.toThrow(
      /has 10 images; the default --split vtab1k .* needs 1000: use --split full/,
    );
  });

  it('numeric flags out of range are refused up front, naming the flag and its range', () => {
    const cases: [string, string, string][] = [
      ['--batch', '0', '--batch must be an integer ≥ 1, got 0'],
      ['--batch', '2.5', '--batch must be an integer ≥ 1, got 2.5'],
      ['--epochs', '0', '--epochs must be an integer ≥ 1, got 0'],
      ['--lr', '0', '--lr must be a number > 0, got 0'],
      ['--lr', '-1e-3', '--lr must be a number > 0, got -1e-3'],
      ['--warmup', '-5', '--warmup must be an integer ≥ 0, got -5'],
      ['--weight-decay', '-1', '--weight-decay must be a number ≥ 0, got -1'],
      ['--max-grad-norm', '-1', '--max-grad-norm must be a number ≥ 0, got -1'],
      ['--sparsity', '1', '--sparsity must be a number with 0 ≤ x < 1, got 1'],
      ['--sparsity', '-0.1', '--sparsity must be a number with 0 ≤ x < 1, got -0.1'],
      ['--branch-dropout', '1', '--branch-dropout must be a number with 0 ≤ x < 1, got 1'],
      ['--drop-path', '1.5', '--drop-path must be a number with 0 ≤ x < 1, got 1.5'],
      ['--rank', '0', '--rank must be an integer ≥ 1, got 0'],
      ['--kernel-heads', '1.5', '--kernel-heads must be an integer ≥ 1, got 1.5'],
      ['--seed', '-1', '--seed must be an integer ≥ 0, got -1'],
    ];
    for (const [flag, value, message] of cases) {
      expect(() => parseFlags([flag, value], train.flags), `${flag} ${value}`).toThrow(message);
    }
    // the bounds themselves, where allowed
    expect(parseFlags(['--sparsity', '0', '--warmup', '0', '--batch', '1', '--lr', '1e-9'], train.flags).flags).toMatchObject({
      sparsity: 0,
      warmup: 0,
      batch: 1,
      lr: 1e-9,
    });
  });
  it("--recipe snell-vtab sets the authors' hyper-parameters as defaults; flags given still win", () => {
    const { flags } = parseFlags(['--recipe', 'snell-vtab', '--lr', '2e-3', '--batch', '8'], train.flags);
    expect(flags).toMatchObject({
      lr: 2e-3,
      batch: 8,
      'weight-decay': 0.01,
      epochs: 100,
      schedule: 'epoch',
      'warmup-epochs': 10,
      'warmup-lr': 1e-6,
      'min-lr': 1e-5,
      'drop-path': 0.1,
      rank: 32,
      'kernel-heads': 2,
      sparsity: 0.5,
      method: 'snell',
    });
    expect(parseFlags([], train.flags).flags).toMatchObject({ schedule: 'step', rank: 8, 'weight-decay': 1e-4 });
    expect(() => parseFlags(['--recipe', 'fgvc'], train.flags)).toThrow(/--recipe must be one of snell-vtab/);
  });

  it('a new task starts from a fresh head; --keep-head keeps the pretrained one', async () => {
    // the embedded model was trained on Fashion-MNIST: with its head and a learning rate of almost
    // nothing it classifies Fashion-MNIST; a fresh head is at chance
    const accuracy = async (extra: string[]) => {
      const r = await run(train, [
        '--model',
        'embedded',
        '--data',
        'fashion-mnist',
        '--split',
        'vtab1k',
        '--backend',
        'wasm',
        '--method',
        'linear',
        '--epochs',
        '1',
        '--lr',
        '1e-9',
        '--select',
        'last',
        '--json',
        ...extra,
      ]);
      expect(r.code).toBe(0);
      return r.out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l))
        .find((e) => e.event === 'result').test.accuracy as number;
    };
    expect(await accuracy(['--keep-head'])).toBeGreaterThan(0.8);
    expect(await accuracy([])).toBeLessThan(0.3);
  });
});
