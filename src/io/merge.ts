// Folding a trained adapter into its base: each branch adds y += x·Ws with Ws [in, out], so the
// merged frozen weight is W0' = W0 + Wsᵀ [out, in]; the trained head, cls_token (and, under full
// fine-tuning, every weight) replace the base's. The result is a plain checkpoint, written in the
// base's naming (a timm base gets its fused qkv back) by saveMerged.
// Sparse delta file: per adapted linear L (engine name, e.g. blocks.0.attn.q), "L.values" F32 [nnz]
// and "L.indices" U32 [nnz], the nonzero entries of Wsᵀ at flat row-major indices of the [out, in]
// weight (o·in + i), ascending; head.weight, head.bias and cls_token dense beside them. Metadata:
// format "snell-sparse-delta", shapes (JSON { L: [out, in] }).

import type { NamedArray, Weights } from '../core/weights.js';
import type { ViT } from '../model/vit.js';
import { branchLinears, readTrainables } from './adapter.js';
import { type SaveCheckpointOptions, saveCheckpoint } from './checkpoint.js';
import { CheckpointError } from './errors.js';
import type { SafetensorsFile } from './safetensors.js';
import { type NamedTensor, writeSafetensors } from './safetensors-write.js';
import type { Folder } from './source.js';
import { BRANCH_TENSOR, type CheckpointLayout, splitQkvWeights } from './vit-naming.js';

/** Merged engine weights (q, k, v split) of a trained model over the base weights it was built from. */
export async function mergeAdapter(model: ViT, base: Weights): Promise<Map<string, NamedArray>> {
  const out = splitQkvWeights(base);
  for (const name of [...out.keys()]) if (BRANCH_TENSOR.test(name)) out.delete(name);
  for (const [name, t] of await readTrainables(model)) if (!BRANCH_TENSOR.test(name)) out.set(name, t);
  for (const l of branchLinears(model)) {
    const key = `${l.name}.weight`;
    const w0 = out.get(key);
    if (!w0 || w0.data.length !== l.dIn * l.dOut)
      throw new CheckpointError('merge', `the base weights have no ${l.dOut}×${l.dIn} "${key}" for this model`);
    const ws = (await l.branchUpdate())!;
    const merged = w0.data.slice();
    const [n, m] = [l.dIn, l.dOut];
    for (let o = 0; o < m; o++) for (let i = 0; i < n; i++) merged[o * n + i] += ws[i * m + o];
    out.set(key, { shape: [m, n], data: merged });
  }
  return out;
}

/** Merges and writes a plain checkpoint in `base.layout`'s naming, with config.json. */
export async function saveMerged(
  folder: Folder,
  model: ViT,
  base: { weights: Weights; layout: CheckpointLayout; sourceConfig?: Record<string, unknown> | null },
  options: Omit<SaveCheckpointOptions, 'sourceConfig'> = {},
): Promise<void> {
  const merged = await mergeAdapter(model, base.weights);
  await saveCheckpoint(folder, merged, model.config, base.layout, { ...options, sourceConfig: base.sourceConfig ?? null });
}

/** The sparse delta of a trained model (see the header). */
export async function sparseDelta(model: ViT): Promise<{ tensors: Map<string, NamedTensor>; metadata: Record<string, string> }> {
  const tensors = new Map<string, NamedTensor>();
  const shapes: Record<string, [number, number]> = {};
  for (const l of branchLinears(model)) {
    const ws = (await l.branchUpdate())!;
    const [n, m] = [l.dIn, l.dOut];
    let nnz = 0;
    for (let j = 0; j < ws.length; j++) if (ws[j] !== 0) nnz++;
    const values = new Float32Array(nnz);
    const indices = new Uint32Array(nnz);
    let at = 0;
    for (let o = 0; o < m; o++) {
      for (let i = 0; i < n; i++) {
        const v = ws[i * m + o];
        if (v === 0) continue;
        values[at] = v;
        indices[at++] = o * n + i;
      }
    }
    tensors.set(`${l.name}.values`, { shape: [nnz], data: values });
    tensors.set(`${l.name}.indices`, { shape: [nnz], data: indices });
    shapes[l.name] = [m, n];
  }
  for (const [name, t] of await readTrainables(model)) if (!BRANCH_TENSOR.test(name)) tensors.set(name, t);
  return {
    tensors,
    metadata: {
      format: 'snell-sparse-delta',
      layout: 'flat row-major index into the [out, in] weight',
      shapes: JSON.stringify(shapes),
    },
  };
}

export async function saveSparseDelta(folder: Folder, file: string, model: ViT): Promise<void> {
  const { tensors, metadata } = await sparseDelta(model);
  await folder.write(file, (sink) => writeSafetensors(sink, tensors, metadata).then(() => {}));
}

/** Base weights with a sparse delta file applied (q, k, v split; copies only what changes). */
export async function applySparseDelta(base: Weights, delta: SafetensorsFile): Promise<Map<string, NamedArray>> {
  if (delta.metadata.format !== 'snell-sparse-delta')
    throw new CheckpointError(delta.file, 'is not a sparse delta (metadata format "snell-sparse-delta")');
  let shapes: Record<string, [number, number]>;
  try {
    shapes = JSON.parse(delta.metadata.shapes ?? '');
  } catch {
    throw new CheckpointError(delta.file, 'metadata "shapes" is not JSON');
  }
  const out = splitQkvWeights(base);
  for (const [layer, [m, n]] of Object.entries(shapes)) {
    const key = `${layer}.weight`;
    const w0 = out.get(key);
    if (!w0 || w0.data.length !== m * n)
      throw new CheckpointError(
        delta.file,
        `layer "${layer}" is ${m}×${n}, but the base's "${key}" is [${w0?.shape.join(', ') ?? 'missing'}]`,
      );
    const values = (await delta.read(`${layer}.values`)).data;
    const indices = (await delta.readIndices(`${layer}.indices`)).data;
    if (values.length !== indices.length)
      throw new CheckpointError(delta.file, `layer "${layer}" has ${values.length} values but ${indices.length} indices`);
    const merged = w0.data.slice();
    for (let j = 0; j < values.length; j++) {
      if (indices[j] >= merged.length)
        throw new CheckpointError(delta.file, `layer "${layer}" index ${indices[j]} is outside its ${m}×${n} weight`);
      merged[indices[j]] += values[j];
    }
    out.set(key, { shape: [m, n], data: merged });
  }
  for (const name of delta.names) {
    if (/\.(values|indices)$/.test(name) && shapes[name.replace(/\.(values|indices)$/, '')]) continue;
    out.set(name, await delta.read(name));
  }
  return out;
}
