// Layer l of a decoder from its parts: the arch's projections (with their branches) and norms (trainable
// with method full: the layer accumulates their gradients into what `parts.trainable` holds).

import type { Tensor } from '../../backend.js';
import { layerPrefix, PROJECTIONS } from './config.js';
import { Gpt2Block } from './gpt2-block.js';
import type { DecoderLayer } from './layer.js';
import { LlamaLayer } from './llama-layer.js';
import type { DecoderParts } from './parts.js';

export function buildLayer(parts: DecoderParts, l: number): DecoderLayer {
  const { backend: b, ledger, config: c } = parts;
  const E = c.hidden;
  const prefix = layerPrefix(c.arch, l);
  const linears = PROJECTIONS[c.arch].map((p) => parts.projection(l, p));
  const gradOf = (t: Tensor) => parts.trainable.grad(t);
  if (c.arch === 'llama') {
    const norms = {
      input: parts.weight(`${prefix}input_layernorm.weight`, [E]),
      post: parts.weight(`${prefix}post_attention_layernorm.weight`, [E]),
    };
    return new LlamaLayer(b, ledger, c, norms, linears as unknown as ConstructorParameters<typeof LlamaLayer>[4], gradOf);
  }
  const norm = (name: string) => ({
    w: parts.weight(`${prefix}${name}.weight`, [E]),
    b: parts.weight(`${prefix}${name}.bias`, [E]),
  });
  return new Gpt2Block(
    b,
    ledger,
    c,
    { ln1: norm('ln_1'), ln2: norm('ln_2') },
    linears as unknown as ConstructorParameters<typeof Gpt2Block>[4],
    gradOf,
  );
}
