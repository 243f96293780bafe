// Layer l of a decoder from its parts: the arch's projections (with their branches) and norms.

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
  if (c.arch === 'llama') {
    const norms = {
      input: parts.frozen(`${prefix}input_layernorm.weight`, [E]),
      post: parts.frozen(`${prefix}post_attention_layernorm.weight`, [E]),
    };
    return new LlamaLayer(b, ledger, c, norms, linears as unknown as ConstructorParameters<typeof LlamaLayer>[4]);
  }
  const norm = (name: string) => ({
    w: parts.frozen(`${prefix}${name}.weight`, [E]),
    b: parts.frozen(`${prefix}${name}.bias`, [E]),
  });
  return new Gpt2Block(
    b,
    ledger,
    c,
    { ln1: norm('ln_1'), ln2: norm('ln_2') },
    linears as unknown as ConstructorParameters<typeof Gpt2Block>[4],
  );
}
