// snell train --report DIR on MNIST VTAB-1k (a fresh model, Wasm): SNELLA's allocation.json holds the
// run's own allocation events, sparsity.svg one cell per layer per epoch with those sparsities, and
// each kept-<layer>.png (read back by pngjs) as many opaque pixels as the update keeps entries, which
// the last re-mask set (k_l; k_l − 1 at s = 0, where SNELLA still drops the minimum); another method writes the maps only.

import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pngjs from 'pngjs';
import { describe, expect, it, vi } from 'vitest';
import { parseFlags } from '../src/cli/args.js';
import { train } from '../src/cli/train.js';
import { nodeHost } from '../runtimes/node/host.js';

const dir = mkdtempSync(join(tmpdir(), 'snell-report-'));
const common = ['--model', 'scratch', '--data', 'mnist', '--split', 'vtab1k', '--backend', 'wasm', '--json', '--select', 'last'];

/** Runs snell train in this process; its exit status and JSON events. */
async function run(args: string[]): Promise<{ code: number; events: Record<string, unknown>[] }> {
  const lines: string[] = [];
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((s) => {
    lines.push(String(s));
    return true;
  });
  try {
    const { flags, positional } = parseFlags(args, train.flags);
    const code = await train.run(flags, positional, nodeHost());
    const events = lines
      .join('')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l));
    return { code, events };
  } finally {
    write.mockRestore();
  }
}

const opaque = (file: string) => {
  const png = pngjs.PNG.sync.read(readFileSync(file));
  let n = 0;
  for (let p = 3; p < png.data.length; p += 4) if (png.data[p] === 255) n++;
  return { width: png.width, height: png.height, opaque: n };
};

describe('snell train --report', () => {
  it('snella: allocation.json, sparsity.svg and the kept maps agree with the allocation events', async () => {
    const report = join(dir, 'snella');
    const r = await run([...common, '--method', 'snella', '--epochs', '2', '--report', report]);
    expect(r.code).toBe(0);
    const events = r.events.filter((e) => e.event === 'allocation').map(({ event: _, ...rest }) => rest);
    expect(events.map((e) => e.epoch)).toEqual([0, 1]);
    const json = JSON.parse(readFileSync(join(report, 'allocation.json'), 'utf8'));
    expect(json.epochs).toEqual(events);
    const layers = Object.keys(events[0]!.sparsity as object);
    expect(json.layers).toEqual(layers);
    expect(layers).toHaveLength(24); // 4 blocks × q, k, v, proj, fc1, fc2

    const svg = readFileSync(join(report, 'sparsity.svg'), 'utf8');
    const cells = [...svg.matchAll(/<rect class="cell" data-layer="([^"]+)" data-epoch="(\d+)" data-sparsity="([^"]+)"/g)];
    expect(cells).toHaveLength(2 * 24);
    for (const [, layer, epoch, s] of cells) {
      expect(Number(s), `${layer}, epoch ${epoch}`).toBe((events[Number(epoch)]!.sparsity as Record<string, number>)[layer!]);
    }

    const last = events[1]!;
    expect(last.remask).toBe(true);
    const kept = last.kept as Record<string, number>;
    for (const layer of layers) {
      const m = json.maps[layer];
      const fc = /fc1|fc2/.exec(layer)?.[0];
      expect(m.shape).toEqual(fc === 'fc1' ? [96, 192] : fc === 'fc2' ? [192, 96] : [96, 96]);
      expect(m.pooled).toEqual(m.shape); // under 256 a side: one pixel per entry
      // the last re-mask's k_l, except that at s = 0 (k = N) SNELLA still drops the minimum
      const volume = m.shape[0] * m.shape[1];
      expect(m.kept, layer).toBe(kept[layer] === volume ? volume - 1 : kept[layer]);
      const png = opaque(join(report, m.file));
      expect([png.height, png.width]).toEqual(m.pooled);
      expect(png.opaque, m.file).toBe(m.kept);
    }
    expect(r.events.find((e) => e.event === 'report')).toMatchObject({ dir: report });
  }, 300_000);

  it('snell: the kept maps only', async () => {
    const report = join(dir, 'snell');
    const r = await run([...common, '--method', 'snell', '--epochs', '1', '--sparsity', '0.9', '--report', report]);
    expect(r.code).toBe(0);
    const files = readdirSync(report).sort();
    expect(files).toHaveLength(24);
    expect(files.every((f) => /^kept-blocks\.\d\.(attn\.(q|k|v|proj)|mlp\.fc[12])\.png$/.test(f))).toBe(true);
    expect(existsSync(join(report, 'allocation.json'))).toBe(false);
    // sparsity 0.9 of 96·96 entries: a tenth kept
    const q = opaque(join(report, 'kept-blocks.0.attn.q.png'));
    expect(q.opaque / (96 * 96)).toBeCloseTo(0.1, 2);
  }, 300_000);
});
