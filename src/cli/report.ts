// snell train --report DIR: the run in pictures, written when training ends (after selection, so the
// maps show the model that was kept).
//   DIR/kept-<linear>.png   every adapted layer's kept-entry map (train/report/kept-map.ts: Ws [in, out]
//                           max-pooled by |Ws| to at most 256 × 256, red > 0, blue < 0, transparent
//                           where dropped), one per branch, named by the linear (kept-blocks.0.attn.q.png);
//   with SNELLA's allocator also
//   DIR/allocation.json     { layers, epochs: each epoch's allocation event as --json prints it
//                           (budget, remask, sparsity and kept by layer name, unsplit, skipped),
//                           maps: { <layer>: { file, shape [in, out], pooled [rows, cols], kept } } };
//   DIR/sparsity.svg        the block × projection heat strip of every epoch, with its colour scale.
// A resumed run holds the allocations of the epochs it ran itself.

import type { FileSystem } from '../io/file-system.js';
import { writeText } from '../io/source.js';
import { encodePng } from '../data/png-write.js';
import type { ViT } from '../model/vit.js';
import type { LayerAllocation } from '../train/allocation.js';
import { keptImage } from '../train/report/kept-map.js';
import { branchLayers, keptMapOf } from '../train/report/layer-updates.js';
import { sparsitySvg } from '../train/report/sparsity-svg.js';
import { allocationRecord } from './progress.js';

export interface ReportSummary {
  dir: string;
  files: string[];
}

/** Collects each epoch's allocation (the latest for an epoch run twice, after a lost device). */
export class AllocationLog {
  private readonly byEpoch = new Map<number, LayerAllocation>();

  add(a: LayerAllocation): void {
    this.byEpoch.set(a.epoch, a);
  }

  get epochs(): LayerAllocation[] {
    return [...this.byEpoch.values()].sort((a, b) => a.epoch - b.epoch);
  }
}

/** Writes the report of `model` and its allocations into `dir` (created when missing). */
export async function writeReport(
  files: FileSystem,
  dir: string,
  model: ViT,
  allocations: readonly LayerAllocation[],
): Promise<ReportSummary> {
  await files.mkdir(dir);
  const folder = files.folder(dir);
  const written: string[] = [];
  const maps: Record<string, { file: string; shape: [number, number]; pooled: [number, number]; kept: number }> = {};
  for (const l of branchLayers(model)) {
    const map = await keptMapOf(model, l.layer);
    const { width, height, rgba } = keptImage(map);
    const file = `kept-${l.linear}.png`;
    const png = encodePng(width, height, rgba);
    await folder.write(file, (sink) => sink(png));
    written.push(file);
    maps[l.layer] = { file, shape: [map.dIn, map.dOut], pooled: [map.rows, map.cols], kept: map.kept };
  }
  if (allocations.length > 0) {
    const json = { layers: allocations[0]!.layers, epochs: allocations.map(allocationRecord), maps };
    await writeText(folder, 'allocation.json', `${JSON.stringify(json, null, 2)}\n`);
    await writeText(folder, 'sparsity.svg', sparsitySvg(allocations));
    written.push('allocation.json', 'sparsity.svg');
  }
  return { dir, files: written };
}
