// The Targets table of the bench (bench/targets.mjs): each target's ratio or rate from the run's own
// measurements, met or missed against its threshold, and a reason wherever a measurement is not in the run.

import { describe, expect, it } from 'vitest';
import { targets, targetsTable, trainKey } from '../bench/targets.mjs';

const step = (ms: number) => ({ ms });
const train = (snell: number, lora: number, snellQuiet: number, loraQuiet: number, full: number) => ({
  [trainKey('base', 'snell', 'on')]: step(snell),
  [trainKey('base', 'lora', 'on')]: step(lora),
  [trainKey('base', 'snell', 'off')]: step(snellQuiet),
  [trainKey('base', 'lora', 'off')]: step(loraQuiet),
  [trainKey('base', 'full', 'on')]: step(full),
});
const fc1 = (gflops: number) => [{ m: 1576, k: 768, n: 3072, gflops }];
const wasm = {
  matmul: { description: 'wasm', shapes: fc1(160), plain: fc1(120) },
  adapter: { shapes: [{ n: 768, m: 768, ms: 90 }] },
  train: train(15000, 10000, 13000, 10000, 7000),
  software: false,
};
const torch = {
  adapter: { '768x768': { ms: 104, handwritten_ms: 100 } },
  train: { 'base-lora': step(8000), 'base-full': step(7000) },
};
const byTarget = (rows: { target: string; measured: string; result: string }[]) =>
  Object.fromEntries(rows.map((r) => [r.target, `${r.measured} | ${r.result}`]));

describe('bench targets', () => {
  it('keys training rows by model, method and branch noise (full fine-tuning has no branch)', () => {
    expect(trainKey('base', 'snell', 'on')).toBe('base-snell');
    expect(trainKey('base', 'snell', 'off')).toBe('base-snell-noise-off');
    expect(trainKey('tiny', 'full', 'off')).toBe('tiny-full');
  });

  it('computes every CPU target from one run and says met or missed', () => {
    const { rows, lines } = targets({ ours: { wasm }, torch, torchDevice: 'cpu' });
    expect(byTarget(rows)).toEqual({
      'ViT-B/16 SNELL-8 step / LoRA-8 step, Wasm, branch noise on': '1.50× (15000 ms / 10000 ms) | met',
      'ViT-B/16 SNELL-8 step / LoRA-8 step, Wasm, branch noise off': '1.30× (13000 ms / 10000 ms) | missed',
      'adapter fwd+bwd 768×768, r 16, s 0.9, 1576 rows: Wasm / PyTorch CPU hand-written': '0.90× (90.0 ms / 100 ms) | met',
      'Wasm matmul 1576×768×3072, relaxed SIMD': '160.0 GFLOP/s (plain SIMD 120.0 GFLOP/s) | met',
      'ViT-B/16 LoRA-8 step: Wasm / PyTorch CPU': '1.25× (10000 ms / 8000 ms) | missed',
      'ViT-B/16 full fine-tuning step: Wasm / PyTorch CPU': '1.00× (7000 ms / 7000 ms) | met',
    });
    expect(lines).toEqual(['GPU targets not measured: no hardware adapter (webgpu not in --backends).']);
    const table = targetsTable({ rows, lines });
    expect(table[0]).toBe('| target | threshold | measured | result |');
    expect(table[2]).toBe(
      '| ViT-B/16 SNELL-8 step / LoRA-8 step, Wasm, branch noise on | ≤ 1.5× | 1.50× (15000 ms / 10000 ms) | met |',
    );
    expect(table.at(-1)).toBe(lines[0]);
  });

  it('says why a target is not measured: rows left out, no PyTorch, no relaxed SIMD, PyTorch on CUDA', () => {
    const tinyOnly = { ...wasm, train: {}, matmul: { description: 'wasm', shapes: fc1(120), plain: null } };
    const r = byTarget(targets({ ours: { wasm: tinyOnly }, torch: { missing: 'not installed' }, torchDevice: 'cpu' }).rows);
    expect(r['ViT-B/16 SNELL-8 step / LoRA-8 step, Wasm, branch noise off']).toBe(
      '– | not measured: ViT-B/16 SNELL-8 (branch noise off) not in this run (--models, --methods, --branch-noise)',
    );
    expect(r['Wasm matmul 1576×768×3072, relaxed SIMD']).toBe(
      'plain SIMD 120.0 GFLOP/s | not measured: this engine has no relaxed SIMD',
    );
    expect(r['adapter fwd+bwd 768×768, r 16, s 0.9, 1576 rows: Wasm / PyTorch CPU hand-written']).toBe(
      '– | not measured: PyTorch not installed',
    );
    const cuda = byTarget(targets({ ours: { wasm }, torch, torchDevice: 'cuda' }).rows);
    expect(cuda['ViT-B/16 LoRA-8 step: Wasm / PyTorch CPU']).toBe(
      '– | not measured: PyTorch ran on cuda, the target is against PyTorch CPU',
    );
    const failed = { ...wasm, train: { ...wasm.train, 'base-lora': { missing: 'not available' } } };
    expect(
      byTarget(targets({ ours: { wasm: failed }, torch, torchDevice: 'cpu' }).rows)['ViT-B/16 LoRA-8 step: Wasm / PyTorch CPU'],
    ).toBe('– | not measured: not available');
  });

  it('adds the WebGPU ratios on a hardware adapter only', () => {
    const software = { ...wasm, software: true, matmul: { description: 'llvmpipe (LLVM 15)', shapes: [] } };
    expect(targets({ ours: { wasm, webgpu: software }, torch, torchDevice: 'cpu' }).lines).toEqual([
      'GPU targets not measured: no hardware adapter (software GPU: llvmpipe (LLVM 15)).',
    ]);
    const none = { matmul: { missing: 'not available' }, adapter: {}, train: {}, software: false };
    expect(targets({ ours: { wasm, webgpu: none }, torch, torchDevice: 'cpu' }).lines).toEqual([
      'GPU targets not measured: no hardware adapter (no WebGPU adapter: not available).',
    ]);
    const hardware = { ...wasm, train: train(1200, 1000, 1100, 1000, 800) };
    const { rows, lines } = targets({ ours: { wasm, webgpu: hardware }, torch, torchDevice: 'cpu' });
    expect(lines).toEqual([]);
    expect(byTarget(rows)['ViT-B/16 SNELL-8 step / LoRA-8 step, WebGPU, branch noise on']).toBe(
      '1.20× (1200 ms / 1000 ms) | met',
    );
    expect(byTarget(rows)['ViT-B/16 SNELL-8 step / LoRA-8 step, WebGPU, branch noise off']).toBe(
      '1.10× (1100 ms / 1000 ms) | met',
    );
  });
});
