// Where each adapted layer sits in the pictures: row = its block N, column = its projection (q, k, v,
// proj, fc1, fc2), read from its branch name `blocks.N.attn.additional_q.learnable` (…mlp.additional_fc1…).
// Rows are the blocks that carry a branch, in order; a cell exists only for a layer that is adapted.

import { LINEAR_NAMES, type LinearName } from '../../model/config.js';

export interface GridCell {
  layer: string;
  /** The layer's position in the list the grid was made from (the allocator's layer order). */
  index: number;
  block: number;
  row: number;
  column: number;
}

export interface LayerGrid {
  blocks: number[];
  columns: readonly LinearName[];
  cells: GridCell[];
}

const BRANCH_NAME = /^blocks\.(\d+)\.(?:attn|mlp)\.additional_(q|k|v|proj|fc1|fc2)\.learnable$/;

/** The grid of `layers` (branch names). */
export function layerGrid(layers: readonly string[]): LayerGrid {
  const parsed = layers.map((layer, index) => {
    const m = BRANCH_NAME.exec(layer);
    if (!m) throw new Error(`"${layer}" is not a branch name (blocks.N.attn.additional_q.learnable, …): no grid cell for it`);
    return { layer, index, block: Number(m[1]), column: LINEAR_NAMES.indexOf(m[2] as LinearName) };
  });
  const blocks = [...new Set(parsed.map((p) => p.block))].sort((a, b) => a - b);
  return { blocks, columns: LINEAR_NAMES, cells: parsed.map((p) => ({ ...p, row: blocks.indexOf(p.block) })) };
}
