// Text generation with a decoder LM and a KV cache: the prompts go through the model once (the
// prefill), then each step feeds every sequence's last token and draws the next from its logits with
// the sampler (sampler.ts: greedy, temperature, top-k, top-p, seeded).
//
// A batch of prompts of different lengths is right-padded and generated together: each sequence's
// padding is masked and its new tokens sit at positions L_b, L_b + 1, … (model/decoder/kv-cache.ts),
// so every prompt gets what it would get alone. Prompt b draws from its own stream, seeded seed + b: a
// prompt's tokens do not depend on the others in the batch. A sequence stops after a stop token (which
// it keeps) or maxNewTokens tokens; the batch stops when every sequence has.
// The prompt and every new token but the last need a position: L + maxNewTokens − 1 ≤ maxPositions.

import type { DecoderLM } from '../model/decoder/lm.js';
import { type SamplingOptions, TokenSampler } from './sampler.js';

export interface GenerateOptions extends SamplingOptions {
  /** How many tokens to add to each prompt, at most. */
  maxNewTokens: number;
  /** Tokens that end a sequence (its end-of-sequence ids); the stop token is kept in the output. */
  stopTokens?: readonly number[];
  /** Called after each step with the token each sequence drew, null for a sequence that had stopped. */
  onStep?: (tokens: readonly (number | null)[], step: number) => void;
}

/** The new token ids of one prompt. */
export function generate(model: DecoderLM, prompt: readonly number[], options: GenerateOptions): Promise<number[]>;
/** The new token ids of each prompt. */
export function generate(
  model: DecoderLM,
  prompts: readonly (readonly number[])[],
  options: GenerateOptions,
): Promise<number[][]>;
export async function generate(
  model: DecoderLM,
  input: readonly number[] | readonly (readonly number[])[],
  options: GenerateOptions,
): Promise<number[] | number[][]> {
  const single = input.length > 0 && !Array.isArray(input[0]);
  const prompts = (single ? [input] : input) as readonly (readonly number[])[];
  const { maxNewTokens, stopTokens = [], onStep, seed = 0 } = options;
  checkPrompts(model, prompts, maxNewTokens);
  const samplers = prompts.map((_, p) => new TokenSampler({ ...options, seed: seed + p }));
  const stops = new Set(stopTokens);
  const B = prompts.length;
  const T = Math.max(...prompts.map((p) => p.length));
  const ids = new Int32Array(B * T);
  prompts.forEach((p, s) => ids.set(p, s * T));
  const out: number[][] = prompts.map(() => []);
  const done = prompts.map(() => false);
  const cache = model.kvCache(B, T + maxNewTokens - 1);
  try {
    let batch: Parameters<DecoderLM['decode']>[1] = { ids, shape: [B, T], lengths: prompts.map((p) => p.length) };
    for (let step = 0; step < maxNewTokens; step++) {
      const logits = model.decode(cache, batch);
      const rows = (await model.backend.read(logits)) as Float32Array;
      model.backend.free(logits);
      const V = model.config.vocabSize;
      const drawn = samplers.map((sampler, s) => {
        if (done[s]) return null;
        const token = sampler.next(rows.subarray(s * V, (s + 1) * V));
        out[s]!.push(token);
        done[s] = stops.has(token);
        return token;
      });
      onStep?.(drawn, step);
      if (step === maxNewTokens - 1 || done.every(Boolean)) break;
      batch = { ids: Int32Array.from(out, (o) => o[o.length - 1]!), shape: [B, 1] };
    }
  } finally {
    cache.dispose();
  }
  return single ? out[0]! : out;
}

function checkPrompts(model: DecoderLM, prompts: readonly (readonly number[])[], maxNewTokens: number): void {
  const { vocabSize: V, maxPositions: P } = model.config;
  if (prompts.length === 0) throw new RangeError('generate needs at least one prompt: pass token ids, or a list of them');
  if (!(Number.isInteger(maxNewTokens) && maxNewTokens >= 1))
    throw new RangeError(`maxNewTokens must be an integer ≥ 1, got ${maxNewTokens}`);
  prompts.forEach((p, s) => {
    if (p.length === 0) throw new RangeError(`prompt ${s} is empty: start it with at least one token (e.g. the BOS id)`);
    const bad = p.findIndex((id) => !(Number.isInteger(id) && id >= 0 && id < V));
    if (bad >= 0) throw new RangeError(`prompt ${s} has token id ${p[bad]} at ${bad}, outside the vocabulary of ${V}`);
    if (p.length > P)
      throw new RangeError(`prompt ${s} has ${p.length} tokens, more than the model's ${P} positions: shorten it`);
    if (p.length + maxNewTokens - 1 > P) {
      throw new RangeError(
        `prompt ${s} has ${p.length} tokens: ${maxNewTokens} new ones need ${p.length + maxNewTokens - 1} positions and the ` +
          `model has ${P}: ask for at most ${P - p.length + 1} new tokens, or shorten the prompt`,
      );
    }
  });
}
