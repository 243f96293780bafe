// The embedded language model's files as bytes (config.json, model.safetensors, tokenizer.json,
// tokenizer_config.json), imported only by index.ts's dynamic import so they form a chunk of their own.

import config from './config.json';
import weights from './model.safetensors';
import tokenizer from './tokenizer.json';
import tokenizerConfig from './tokenizer_config.json';

const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

export const EMBEDDED_LM_FILES: Record<string, Uint8Array> = {
  'config.json': json(config),
  'model.safetensors': weights,
  'tokenizer.json': json(tokenizer),
  'tokenizer_config.json': json(tokenizerConfig),
};
