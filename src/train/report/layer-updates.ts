// Each adapted layer's current update Ws [in, out] (Linear.branchUpdate: recomputed without noise,
// zeros where the sparsification drops an entry), in the model's order: block by block, q, k, v, proj,
// fc1, fc2; pooled into kept-entry maps for the pictures.

import type { ViT } from '../../model/vit.js';
import { KEPT_MAP_SIDE, type KeptMap, poolKept } from './kept-map.js';

/** The layers that carry a branch: the branch name, the linear's own name (blocks.0.attn.q) and its shape. */
export function branchLayers(model: ViT): { layer: string; linear: string; dIn: number; dOut: number }[] {
  return model.blocks
    .flatMap((b) => b.linears)
    .filter((l) => l.branchSpec !== null)
    .map((l) => ({ layer: l.branchName, linear: l.name, dIn: l.dIn, dOut: l.dOut }));
}

/** The kept-entry map of the layer whose branch is named `layer`. */
export async function keptMapOf(model: ViT, layer: string, maxSide = KEPT_MAP_SIDE): Promise<KeptMap> {
  const l = model.blocks.flatMap((b) => b.linears).find((x) => x.branchSpec !== null && x.branchName === layer);
  if (!l) {
    const names = branchLayers(model).map((x) => x.layer);
    throw new Error(`the model has no branch "${layer}"; its branches: ${names.join(', ') || 'none'}`);
  }
  return poolKept(layer, (await l.branchUpdate())!, l.dIn, l.dOut, maxSide);
}
