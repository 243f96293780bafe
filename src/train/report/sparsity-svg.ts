// The heat strip of SNELLA's allocation as an SVG document: one panel per epoch, each a grid of the
// adapted layers (rows: blocks, columns: q, k, v, proj, fc1, fc2; layer-grid.ts), every cell coloured
// by the layer's sparsity that epoch (colour.ts), titled with the epoch's budget in kept entries; a
// colour scale from 0 to 1 underneath. Each cell carries data-layer, data-epoch and data-sparsity (a
// page can find and click them) and a <title> with the exact value.

import { cssColour, sparsityColour } from './colour.js';
import { layerGrid } from './layer-grid.js';

/** What one panel shows: an epoch's allocation (the trainer's LayerAllocation has these fields). */
export interface SparsityPanel {
  epoch: number;
  budget: number;
  remask: boolean;
  sparsity: readonly number[];
  layers: readonly string[];
}

export interface SparsitySvgOptions {
  /** A layer to outline in every panel. */
  selected?: string | null;
  /** Panels side by side before the next row (default 6). */
  perRow?: number;
}

const CELL = { w: 22, h: 16 };
const LEFT = 30;
const TOP = 34;
const GAP = 18;
const SCALE = { h: 10, top: 16, ticks: [0, 0.25, 0.5, 0.75, 1] };

const xml = (s: string) => s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The SVG text of `panels` (all over the same layers, in the same order). */
export function sparsitySvg(panels: readonly SparsityPanel[], options: SparsitySvgOptions = {}): string {
  if (panels.length === 0) throw new Error('the heat strip needs at least one epoch of allocation');
  const layers = panels[0]!.layers;
  for (const p of panels) {
    if (p.layers.length !== layers.length || p.layers.some((l, i) => l !== layers[i]) || p.sparsity.length !== layers.length)
      throw new Error(
        `epoch ${p.epoch + 1}'s allocation is over other layers than epoch ${panels[0]!.epoch + 1}'s: one run per picture`,
      );
  }
  const grid = layerGrid(layers);
  const perRow = Math.max(1, Math.min(options.perRow ?? 6, panels.length));
  const panelW = LEFT + grid.columns.length * CELL.w;
  const panelH = TOP + grid.blocks.length * CELL.h;
  const rowsOfPanels = Math.ceil(panels.length / perRow);
  const width = Math.max(perRow * (panelW + GAP), 240);
  const scaleTop = rowsOfPanels * (panelH + GAP) + SCALE.top;
  const height = scaleTop + SCALE.h + 28;
  const parts: string[] = [];
  panels.forEach((p, k) => {
    const x0 = (k % perRow) * (panelW + GAP);
    const y0 = Math.floor(k / perRow) * (panelH + GAP);
    const title = `epoch ${p.epoch + 1} · budget ${Math.round(p.budget)}${p.remask ? '' : ' (kept)'}`;
    parts.push(`<g class="epoch" data-epoch="${p.epoch}" data-budget="${p.budget}" transform="translate(${x0},${y0})">`);
    parts.push(`<text x="0" y="11" font-weight="bold">${xml(title)}</text>`);
    grid.columns.forEach((c, j) => {
      parts.push(`<text x="${LEFT + (j + 0.5) * CELL.w}" y="${TOP - 5}" text-anchor="middle">${c}</text>`);
    });
    grid.blocks.forEach((b, r) => {
      parts.push(`<text x="${LEFT - 4}" y="${TOP + (r + 0.7) * CELL.h}" text-anchor="end">b${b}</text>`);
    });
    for (const cell of grid.cells) {
      const s = p.sparsity[cell.index]!;
      const outline = cell.layer === options.selected ? ' stroke="#000" stroke-width="2"' : ' stroke="#fff" stroke-width="1"';
      parts.push(
        `<rect class="cell" data-layer="${xml(cell.layer)}" data-epoch="${p.epoch}" data-sparsity="${s}" ` +
          `x="${LEFT + cell.column * CELL.w}" y="${TOP + cell.row * CELL.h}" width="${CELL.w}" height="${CELL.h}" ` +
          `fill="${cssColour(sparsityColour(s))}"${outline}><title>${xml(cell.layer)}: sparsity ${s.toFixed(4)}</title></rect>`,
      );
    }
    parts.push('</g>');
  });
  const scaleW = Math.min(width - 20, 200);
  const stops = Array.from(
    { length: 11 },
    (_, i) => `<stop offset="${i / 10}" stop-color="${cssColour(sparsityColour(i / 10))}"/>`,
  );
  parts.push(
    `<defs><linearGradient id="sparsity-scale">${stops.join('')}</linearGradient></defs>`,
    `<g class="scale" transform="translate(${LEFT},${scaleTop})">`,
    `<rect width="${scaleW}" height="${SCALE.h}" fill="url(#sparsity-scale)" stroke="#999"/>`,
    ...SCALE.ticks.map((t) => `<text x="${t * scaleW}" y="${SCALE.h + 11}" text-anchor="middle">${t}</text>`),
    `<text x="${scaleW + 8}" y="${SCALE.h - 1}">sparsity</text>`,
    '</g>',
  );
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
    `font-family="system-ui, sans-serif" font-size="10" fill="#222">\n${parts.join('\n')}\n</svg>\n`
  );
}
