// Model selection's copies of the trainable tensors: read every parameter's values by name when an
// epoch's validation is the best so far, and write them back at the end of the run.

import type { ViT } from '../model/vit.js';

/** Every trainable tensor's current values, by name. */
export async function readParams(model: ViT): Promise<Map<string, Float32Array>> {
  const values = new Map<string, Float32Array>();
  for (const p of model.params()) values.set(p.name, (await model.backend.read(p.tensor)) as Float32Array);
  return values;
}

/** Writes kept values back into every trainable tensor; each must be present with the tensor's size. */
export function writeParams(model: ViT, values: Map<string, Float32Array>): void {
  for (const p of model.params()) {
    const data = values.get(p.name);
    if (!data || data.length !== p.tensor.size)
      throw new Error(
        `the kept best model has ${data ? `${data.length} values` : 'no entry'} for ${p.name}, the model ${p.tensor.size}`,
      );
    model.backend.write(p.tensor, data);
  }
}
