// The report's picture pieces against independent computations: the PNG writer read back by pngjs
// (and its Adler-32 against the RFC's definition), the kept-entry pooling against a per-cell scan,
// the grid's placement of branch names, and the heat strip's cells and values.

import pngjs from 'pngjs';
import { describe, expect, it } from 'vitest';
import { adler32, encodePng } from '../src/data/png-write.js';
import { sparsityColour, updateColour } from '../src/train/report/colour.js';
import { keptImage, poolKept } from '../src/train/report/kept-map.js';
import { layerGrid } from '../src/train/report/layer-grid.js';
import { sparsitySvg } from '../src/train/report/sparsity-svg.js';

const names = (blocks: number[], projections: string[]) =>
  blocks.flatMap((b) => projections.map((p) => `blocks.${b}.${p.startsWith('fc') ? 'mlp' : 'attn'}.additional_${p}.learnable`));

describe('PNG writer', () => {
  it('writes RGBA that pngjs reads back byte for byte, across several stored blocks', () => {
    const [w, h] = [300, 70]; // 70·(1 + 1200) bytes of scanlines: two stored blocks
    const rgba = Uint8Array.from({ length: 4 * w * h }, (_, i) => (i * 37 + (i >> 7)) & 0xff);
    const png = pngjs.PNG.sync.read(Buffer.from(encodePng(w, h, rgba)));
    expect([png.width, png.height]).toEqual([w, h]);
    expect(Buffer.compare(png.data, Buffer.from(rgba))).toBe(0);
  });

  it('computes Adler-32 as RFC 1950 defines it', () => {
    const bytes = Uint8Array.from({ length: 20000 }, (_, i) => 255 - (i % 251));
    let [a, b] = [1n, 0n];
    for (const x of bytes) {
      a = (a + BigInt(x)) % 65521n;
      b = (b + a) % 65521n;
    }
    expect(adler32(bytes)).toBe(Number((b << 16n) | a));
    expect(adler32(new TextEncoder().encode('Wikipedia'))).toBe(0x11e60398);
  });

  it('refuses a size that does not match the pixels', () => {
    expect(() => encodePng(2, 2, new Uint8Array(15))).toThrow(/a 2×2 RGBA image has 16 bytes, got 15/);
    expect(() => encodePng(0, 2, new Uint8Array(0))).toThrow(/whole width and height ≥ 1/);
  });
});

describe('kept-entry maps', () => {
  it('max-pools |Ws| into cells of ⌈in/side⌉ × ⌈out/side⌉ entries, keeping the sign', () => {
    const [dIn, dOut, side] = [7, 10, 3];
    const ws = Float32Array.from({ length: dIn * dOut }, (_, j) => (j % 3 === 0 ? 0 : Math.sin(j * 1.7) * (j % 5)));
    const map = poolKept('L', ws, dIn, dOut, side);
    const [fr, fc] = [3, 4];
    expect([map.rows, map.cols]).toEqual([3, 3]);
    for (let r = 0; r < map.rows; r++)
      for (let c = 0; c < map.cols; c++) {
        let best = 0;
        for (let i = r * fr; i < Math.min(dIn, (r + 1) * fr); i++)
          for (let o = c * fc; o < Math.min(dOut, (c + 1) * fc); o++) {
            const w = ws[i * dOut + o]!;
            if (Math.abs(w) > Math.abs(best)) best = w;
          }
        expect(map.values[r * map.cols + c], `cell ${r},${c}`).toBe(Math.fround(best));
      }
    expect(map.kept).toBe(ws.filter((w) => w !== 0).length);
    expect(map.maxAbs).toBe(Math.max(...ws.map(Math.abs)));
  });

  it('draws kept cells opaque, by sign, and dropped ones transparent', () => {
    const map = poolKept('L', Float32Array.from([2, 0, -1, 0.5]), 2, 2);
    const { width, height, rgba } = keptImage(map);
    expect([width, height]).toEqual([2, 2]);
    expect([...rgba.subarray(0, 4)]).toEqual([...updateColour(2, 2), 255]);
    expect(rgba[7]).toBe(0);
    expect([...rgba.subarray(8, 12)]).toEqual([...updateColour(-1, 2), 255]);
    expect(rgba[8]! < rgba[10]!).toBe(true); // negative: blue
    expect(rgba[0]! > rgba[2]!).toBe(true); // positive: red
  });
});

describe('heat strip', () => {
  it('places layers by block and projection', () => {
    const g = layerGrid([...names([2], ['v', 'fc2']), ...names([5], ['q'])]);
    expect(g.blocks).toEqual([2, 5]);
    expect(g.cells.map((c) => [c.row, c.column])).toEqual([
      [0, 2],
      [0, 5],
      [1, 0],
    ]);
    expect(() => layerGrid(['blocks.0.attn.q'])).toThrow(/"blocks.0.attn.q" is not a branch name/);
  });

  it('has one cell per layer per epoch, each with its sparsity and colour', () => {
    const layers = names([0, 1], ['q', 'k', 'v', 'proj', 'fc1', 'fc2']);
    const panels = [0, 1, 2].map((epoch) => ({
      epoch,
      budget: 1000 - 100 * epoch,
      remask: true,
      sparsity: layers.map((_, i) => (i + epoch) / 20),
      layers,
    }));
    const svg = sparsitySvg(panels, { selected: layers[3] });
    const cells = [
      ...svg.matchAll(/<rect class="cell" data-layer="([^"]+)" data-epoch="(\d+)" data-sparsity="([^"]+)"[^>]*fill="([^"]+)"/g),
    ];
    expect(cells).toHaveLength(36);
    for (const [, layer, epoch, s, fill] of cells) {
      const expected = (layers.indexOf(layer!) + Number(epoch)) / 20;
      expect(Number(s)).toBe(expected);
      expect(fill).toBe(`rgb(${sparsityColour(expected).join(',')})`);
    }
    expect(svg.match(/stroke="#000"/g)).toHaveLength(3);
    expect(svg).toContain('epoch 3 · budget 800');
    expect(svg).toContain('sparsity</text>');
    expect(() => sparsitySvg([])).toThrow(/at least one epoch/);
  });
});
