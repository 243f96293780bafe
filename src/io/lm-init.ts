// Fresh LLaMA-family decoder weights under transformers' names (lmWeightShapes), initialised as
// transformers' LlamaPreTrainedModel._init_weights does, seeded: every nn.Linear weight and the token
// embedding ~ N(0, initializerRange²) (default 0.02, untruncated), linear biases 0, every RMSNorm
// weight 1; the embedding's row pad_token_id (nn.Embedding's padding_idx) 0 when the config names one.
// For pretraining from scratch (scripts/pretrain-lm.mjs).

import { rng } from '../core/random.js';
import type { NamedArray } from '../core/weights.js';
import type { LmConfig } from './lm-config.js';
import { lmWeightShapes } from './lm-naming.js';

/** N(0, 1) draws by Box–Muller over a uniform generator. */
function standardNormal(next: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
}

/** Every tensor of a llama/qwen2/mistral config, drawn in lmWeightShapes' order from `seed`. */
export function initDecoderWeights(config: LmConfig, seed: number, initializerRange = 0.02): Map<string, NamedArray> {
  if (config.arch !== 'llama')
    throw new TypeError(
      `initDecoderWeights follows LLaMA's initialisation; a ${config.modelType} model (GPT-2's scaled residual init) is not supported: use a llama config`,
    );
  if (!(initializerRange > 0)) throw new TypeError(`initializerRange must be > 0, got ${initializerRange}`);
  const normal = standardNormal(rng(seed));
  const out = new Map<string, NamedArray>();
  for (const [name, shape] of lmWeightShapes(config)) {
    const size = shape.reduce((a, d) => a * d, 1);
    const data = new Float32Array(size);
    if (name.endsWith('layernorm.weight') || name === 'model.norm.weight') data.fill(1);
    else if (shape.length === 2) for (let i = 0; i < size; i++) data[i] = normal() * initializerRange;
    // else a bias: zeros
    out.set(name, { shape, data });
  }
  const pad = config.padTokenId;
  if (pad !== null && pad >= 0 && pad < config.vocabSize) {
    const E = config.hidden;
    out.get('model.embed_tokens.weight')!.data.fill(0, pad * E, (pad + 1) * E);
  }
  return out;
}
