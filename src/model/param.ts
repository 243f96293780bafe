// A trainable tensor: its value, whether weight decay applies, and the gradient of the last backward pass.
// Weight decay follows the reference's groups (timm's param_groups_weight_decay with the ViT's
// no_weight_decay()): none on 1-D tensors (LayerNorms, SNELLA's α, γ, β), on biases, on cls_token and
// pos_embed; every other tensor decays.

import type { Tensor } from '../backend.js';

export interface Param {
  name: string;
  tensor: Tensor;
  decay: boolean;
  grad: Tensor | null;
}

const NO_WEIGHT_DECAY = new Set(['cls_token', 'pos_embed', 'dist_token']);

/** Whether AdamW's weight decay applies to the tensor `name` of this shape. */
export function decays(name: string, shape: readonly number[]): boolean {
  return shape.length > 1 && !name.endsWith('.bias') && !NO_WEIGHT_DECAY.has(name);
}

export function param(name: string, tensor: Tensor): Param {
  return { name, tensor, decay: decays(name, tensor.shape), grad: null };
}
