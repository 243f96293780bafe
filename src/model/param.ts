// A trainable tensor: its value, whether weight decay applies, and the gradient of the last backward pass.

import type { Tensor } from '../backend.js';

export interface Param {
  name: string;
  tensor: Tensor;
  decay: boolean;
  grad: Tensor | null;
}
