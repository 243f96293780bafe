// The kept-entry map of an adapted layer: its update Ws [in, out] (zero where the sparsification drops
// an entry) max-pooled by |Ws| to at most maxSide × maxSide cells. With f_r = ⌈in / maxSide⌉ and
// f_c = ⌈out / maxSide⌉, cell (r, c) covers rows [r·f_r, (r+1)·f_r) and columns [c·f_c, (c+1)·f_c) and
// holds the entry of largest |Ws| there, sign kept (0: every entry of the cell was dropped). As an
// image: one pixel per cell, coloured by colour.ts's diverging scale, transparent where nothing is kept.

import { updateColour } from './colour.js';

export interface KeptMap {
  /** The branch name. */
  layer: string;
  dIn: number;
  dOut: number;
  rows: number;
  cols: number;
  /** Entries of Ws that are kept (nonzero). */
  kept: number;
  /** max |Ws| over the layer (0 when nothing is kept). */
  maxAbs: number;
  /** [rows, cols], row-major: each cell's entry of largest |Ws|. */
  values: Float32Array;
}

export const KEPT_MAP_SIDE = 256;

/** The map of `ws` [dIn, dOut] (row-major). */
export function poolKept(layer: string, ws: Float32Array, dIn: number, dOut: number, maxSide = KEPT_MAP_SIDE): KeptMap {
  if (ws.length !== dIn * dOut)
    throw new Error(`${layer}: an update of ${dIn}×${dOut} has ${dIn * dOut} entries, got ${ws.length}`);
  if (!(Number.isInteger(maxSide) && maxSide >= 1)) throw new Error(`the map's side must be a whole number ≥ 1, got ${maxSide}`);
  const [fr, fc] = [Math.ceil(dIn / maxSide), Math.ceil(dOut / maxSide)];
  const [rows, cols] = [Math.ceil(dIn / fr), Math.ceil(dOut / fc)];
  const values = new Float32Array(rows * cols);
  let [kept, maxAbs] = [0, 0];
  for (let i = 0; i < dIn; i++) {
    const base = Math.floor(i / fr) * cols;
    for (let o = 0; o < dOut; o++) {
      const w = ws[i * dOut + o]!;
      if (w === 0) continue;
      kept++;
      const a = Math.abs(w);
      if (a > maxAbs) maxAbs = a;
      const cell = base + Math.floor(o / fc);
      if (a > Math.abs(values[cell]!)) values[cell] = w;
    }
  }
  return { layer, dIn, dOut, rows, cols, kept, maxAbs, values };
}

/** The map as RGBA pixels [rows, cols, 4]: kept cells by sign and size, dropped ones transparent. */
export function keptImage(map: KeptMap): { width: number; height: number; rgba: Uint8ClampedArray<ArrayBuffer> } {
  const rgba = new Uint8ClampedArray(4 * map.values.length);
  map.values.forEach((w, p) => {
    if (w === 0) return;
    rgba.set(updateColour(w, map.maxAbs), 4 * p);
    rgba[4 * p + 3] = 255;
  });
  return { width: map.cols, height: map.rows, rgba };
}
