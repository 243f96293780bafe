// Folding a decoder's trained adapter into its base: each branch adds y += x·Ws with Ws [in, out], so
// the merged weight is W0 + Wsᵀ for an nn.Linear (stored [out, in]) and W0 + Ws for a GPT-2 Conv1D
// (stored [in, out]); other trainable tensors (modules_to_save) replace the base's. The result is a
// plain Hugging Face checkpoint (saveLmCheckpoint), which runs without the adapter.

import type { NamedArray, Weights } from '../core/weights.js';
import { PROJECTIONS } from '../model/decoder/config.js';
import type { DecoderLM } from '../model/decoder/lm.js';
import { CheckpointError } from './errors.js';
import { LM_BRANCH_TENSOR, lmBranchLinears } from './lm-adapter.js';
import { saveLmCheckpoint, type SaveLmOptions } from './lm-checkpoint.js';
import type { LmConfig } from './lm-config.js';
import type { LmLayout } from './lm-naming.js';
import type { Folder } from './source.js';

/** The merged weight map of a trained model over the base weights it was built from (branch tensors dropped). */
export async function mergeLmAdapter(model: DecoderLM, base: Weights): Promise<Map<string, NamedArray>> {
  const out = new Map([...base].filter(([name]) => !LM_BRANCH_TENSOR.test(name)));
  for (const p of model.params())
    if (!LM_BRANCH_TENSOR.test(p.name))
      out.set(p.name, { shape: [...p.tensor.shape], data: (await model.backend.read(p.tensor)) as Float32Array });
  const projections = PROJECTIONS[model.config.arch];
  for (const l of lmBranchLinears(model)) {
    const conv1d = projections.find((p) => l.name.endsWith(`.${p.path}`))!.conv1d;
    const key = `${l.name}.weight`;
    const [n, m] = [l.dIn, l.dOut];
    const w0 = out.get(key);
    if (!w0 || w0.data.length !== n * m)
      throw new CheckpointError(
        'merge',
        `the base weights have no ${conv1d ? `${n}×${m}` : `${m}×${n}`} "${key}" for this model (got [${w0?.shape.join(', ') ?? 'none'}])`,
      );
    const ws = (await l.branchUpdate())!;
    const merged = w0.data.slice();
    if (conv1d) for (let j = 0; j < merged.length; j++) merged[j] += ws[j];
    else for (let o = 0; o < m; o++) for (let i = 0; i < n; i++) merged[o * n + i] += ws[i * m + o];
    out.set(key, { shape: [...w0.shape], data: merged });
  }
  return out;
}

/** Merges and writes a plain checkpoint in `base.layout`'s names, with config.json. */
export async function saveMergedLm(
  folder: Folder,
  model: DecoderLM,
  base: { weights: Weights; config: LmConfig; layout: LmLayout; sourceConfig?: Record<string, unknown> | null },
  options: Omit<SaveLmOptions, 'sourceConfig'> = {},
): Promise<void> {
  const merged = await mergeLmAdapter(model, base.weights);
  await saveLmCheckpoint(folder, merged, base.config, base.layout, { ...options, sourceConfig: base.sourceConfig ?? null });
}
