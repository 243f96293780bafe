// A tiny LLaMA checkpoint folder for the page's text mode, written with the built package: a byte-level
// BPE tokenizer trained on the given text (trainBpe; tokenizer.json and tokenizer_config.json), and a
// 2-layer LLaMA (grouped-query attention, tied embeddings) over that vocabulary whose every tensor is
// seeded uniform noise (norm weights in [0.9, 1.1], the rest in [−0.3, 0.3]): config.json and
// model.safetensors as transformers saves them.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The config.json of the tiny LLaMA over a vocabulary of `vocabSize` ids. */
export const tinyLlamaConfig = (vocabSize) => ({
  model_type: 'llama',
  architectures: ['LlamaForCausalLM'],
  vocab_size: vocabSize,
  hidden_size: 32,
  intermediate_size: 64,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  rms_norm_eps: 1e-5,
  rope_theta: 10000.0,
  max_position_embeddings: 128,
  tie_word_embeddings: true,
});

/** Uniform floats in [lo, hi) from a 32-bit xorshift seeded by `seed`. */
function noise(size, seed, lo, hi) {
  let x = (seed * 2654435761) >>> 0 || 1;
  const out = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = lo + ((hi - lo) * x) / 2 ** 32;
  }
  return out;
}

/** Writes the folder into `dir`; resolves to the names of its four files. */
export async function writeTinyLm(pkg, dir, text, vocabSize = 320) {
  const bpe = pkg.trainBpe([text], { vocabSize, specialTokens: ['<|endoftext|>'] });
  await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(bpe.json));
  await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify(bpe.config));
  const tokenizer = pkg.Tokenizer.fromJSON(bpe.json, bpe.config);
  const sourceConfig = tinyLlamaConfig(tokenizer.vocabSize);
  const config = pkg.parseLmConfig(sourceConfig);
  const weights = new Map();
  [...pkg.lmWeightShapes(config)].forEach(([name, shape], i) => {
    const norm = /norm/.test(name);
    const size = shape.reduce((a, d) => a * d, 1);
    weights.set(name, { shape, data: noise(size, 100 + i, norm ? 0.9 : -0.3, norm ? 1.1 : 0.3) });
  });
  await pkg.saveLmCheckpoint(pkg.nodeFolder(dir), weights, config, { arch: 'llama', prefix: 'model.' }, { sourceConfig });
  return ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'];
}
