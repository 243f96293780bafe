// Generated text for the terminal: a prompt's token ids (the tokenizer's special tokens before it, an
// end-of-sequence token after it dropped, so the model continues it), checked against the model's
// positions; samples drawn with generate() (src/text/generate.ts), stopping at EOS; and a decoder that
// turns the tokens drawn so far into the text added since the last call, holding back an incomplete
// UTF-8 character (a byte-level token may end mid-character).

import type { DecoderLM } from '../model/decoder/lm.js';
import { generate } from '../text/generate.js';
import type { SamplingOptions } from '../text/sampler.js';
import type { Tokenizer } from '../text/tokenizer.js';
import { UsageError } from './args.js';

/** The prompts `snell train --samples N` continues when no --prompt is given (the first N, cycled). */
export const SAMPLE_PROMPTS: readonly string[] = ['The', 'Subject: ', 'I think that', 'In the morning'];

/** Sampling of the training run's samples: temperature 0.8 and top-k 40, seeded with --seed + the sample's index. */
export const SAMPLE_SAMPLING = { temperature: 0.8, topK: 40 } as const;

/** The prompt's ids, ready for generate(); a prompt too long for the model is a usage error. */
export function promptIds(
  tokenizer: Tokenizer,
  model: DecoderLM,
  prompt: string,
  maxNewTokens: number,
  newTokensFlag = '--max-new-tokens',
): number[] {
  const ids = tokenizer.encode(prompt);
  if (ids.length > 0 && ids[ids.length - 1] === tokenizer.eosId) ids.pop();
  if (ids.length === 0) {
    const start = tokenizer.bosId ?? tokenizer.eosId;
    if (start === null) throw new UsageError('--prompt is empty and the tokenizer names no BOS or EOS token to start from');
    ids.push(start);
  }
  const P = model.config.maxPositions;
  if (ids.length + maxNewTokens - 1 > P) {
    const room = P - ids.length + 1;
    throw new UsageError(
      `--prompt has ${ids.length} tokens and ${maxNewTokens} new ones need ${ids.length + maxNewTokens - 1} positions; the model has ${P}: ` +
        (room >= 1 ? `ask for at most ${room} new tokens (${newTokensFlag}), or shorten the prompt` : 'shorten the prompt'),
    );
  }
  return ids;
}

/** The text of drawn ids; ids past the tokenizer's (an embedding padded to a round size has them) print nothing. */
export function drawnText(tokenizer: Tokenizer, ids: readonly number[]): string {
  return tokenizer.decode(
    ids.filter((id) => id < tokenizer.vocabSize),
    { skipSpecialTokens: true },
  );
}

/** Turns the tokens drawn so far into the text they add, each call giving only the new part; `last` holds nothing back. */
export function textStream(tokenizer: Tokenizer): (ids: readonly number[], last?: boolean) => string {
  let shown = 0;
  return (ids, last = false) => {
    const text = drawnText(tokenizer, ids);
    // U+FFFD at the end: the last token may have ended inside a character; wait for the next
    const ready = !last && text.endsWith('\uFFFD') ? text.slice(0, text.lastIndexOf('\uFFFD')) : text;
    if (ready.length <= shown) return '';
    const added = ready.slice(shown);
    shown = ready.length;
    return added;
  };
}

export interface Sample {
  prompt: string;
  seed: number;
  text: string;
}

/** `count` samples: the prompts given (else SAMPLE_PROMPTS) cycled, sample i seeded seed + i. */
export async function drawSamples(
  model: DecoderLM,
  tokenizer: Tokenizer,
  prompts: readonly string[],
  count: number,
  o: SamplingOptions & { maxNewTokens: number; seed: number },
): Promise<Sample[]> {
  const list = prompts.length ? prompts : SAMPLE_PROMPTS;
  const out: Sample[] = [];
  for (let i = 0; i < count; i++) {
    const prompt = list[i % list.length]!;
    const ids = promptIds(tokenizer, model, prompt, o.maxNewTokens, '--sample-tokens');
    const seed = o.seed + i;
    const stop = tokenizer.eosId === null ? [] : [tokenizer.eosId];
    const drawn = await generate(model, ids, { ...o, seed, stopTokens: stop });
    out.push({ prompt, seed, text: drawnText(tokenizer, drawn) });
  }
  return out;
}
