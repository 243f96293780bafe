// The next token from one row of logits [V]: greedy, or a seeded draw after temperature, top-k and
// top-p (nucleus), applied in that order as transformers' generate does.
//
//   greedy (temperature 0, or topK 1): argmax, the lowest id among equal maxima.
//   otherwise, with ids ordered by logit, highest first, equal logits by lower id:
//     top-k   keep the first k ids of that order (all when k is 0 or ≥ V);
//     ids whose logit is −∞ are dropped (probability 0);
//     temperature T: p(i) = exp((ℓᵢ − ℓ_max)/T) / Σ_kept exp((ℓⱼ − ℓ_max)/T), in float64;
//     top-p   keep the shortest prefix of the order whose probabilities sum to at least p (p = 1 keeps
//             all), and renormalise over it;
//     draw    u uniform in [0, 1) from the seeded generator (src/core/random.ts, one value per token):
//             the first kept id whose cumulative probability exceeds u (greedy choices draw none).
// Logits must be finite or −∞, with at least one finite; anything else is a RangeError.

import { rng } from '../core/random.js';

export interface SamplingOptions {
  /** Divides the logits before the softmax; 0 is greedy. Default 1. */
  temperature?: number;
  /** Keep only the k most likely tokens; 0 (the default) keeps all. */
  topK?: number;
  /** Keep the smallest set of most likely tokens whose probability reaches p, in (0, 1]. Default 1. */
  topP?: number;
  /** Seed of the draws. Default 0. */
  seed?: number;
}

/** The tokens a draw can pick, most likely first, with their probabilities (summing to 1). */
export interface TokenDistribution {
  ids: Int32Array;
  probs: Float64Array;
}

type Logits = ArrayLike<number>;

function checkLogits(logits: Logits): void {
  if (logits.length === 0) throw new RangeError('the logits row is empty: pass one value per vocabulary entry');
  let finite = false;
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i];
    if (Number.isFinite(v)) finite = true;
    else if (v !== -Infinity)
      throw new RangeError(`logit ${i} is ${v}: logits must be finite, or −Infinity for a token that may not be chosen`);
  }
  if (!finite) throw new RangeError('every logit is −Infinity: no token can be chosen');
}

/** The id of the largest logit (the lowest id among equal maxima). */
export function greedyToken(logits: Logits): number {
  checkLogits(logits);
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  return best;
}

interface Settings {
  temperature: number;
  topK: number;
  topP: number;
}

function readSettings(options: SamplingOptions): Settings {
  const { temperature = 1, topK = 0, topP = 1 } = options;
  if (!(Number.isFinite(temperature) && temperature >= 0))
    throw new RangeError(`temperature must be a finite number ≥ 0 (0 is greedy), got ${temperature}`);
  if (!(Number.isInteger(topK) && topK >= 0))
    throw new RangeError(`topK must be an integer ≥ 0 (0 keeps every token), got ${topK}`);
  if (!(topP > 0 && topP <= 1)) throw new RangeError(`topP must be in (0, 1] (1 keeps every token), got ${topP}`);
  return { temperature, topK, topP };
}

/** The distribution a draw with these options picks from (temperature > 0; greedy is greedyToken). */
export function tokenDistribution(logits: Logits, options: SamplingOptions = {}): TokenDistribution {
  checkLogits(logits);
  const { temperature, topK, topP } = readSettings(options);
  if (temperature === 0) throw new RangeError('temperature 0 is greedy: it has no distribution (use greedyToken)');
  const order = Array.from({ length: logits.length }, (_, i) => i).sort((a, b) => logits[b] - logits[a] || a - b);
  const kept = order.slice(0, topK === 0 ? order.length : topK).filter((i) => logits[i] !== -Infinity);
  const top = logits[kept[0]];
  const weights = kept.map((i) => Math.exp((logits[i] - top) / temperature));
  const total = weights.reduce((a, w) => a + w, 0);
  let count = kept.length;
  if (topP < 1) {
    let sum = 0;
    count = 0;
    while (count < kept.length && sum < topP) sum += weights[count++] / total;
  }
  const mass = weights.slice(0, count).reduce((a, w) => a + w, 0);
  return { ids: Int32Array.from(kept.slice(0, count)), probs: Float64Array.from(weights.slice(0, count), (w) => w / mass) };
}

/** Picks next tokens from logits rows with fixed options and its own seeded stream of draws. */
export class TokenSampler {
  readonly #settings: Settings;
  readonly #options: SamplingOptions;
  readonly #uniform: () => number;

  constructor(options: SamplingOptions = {}) {
    this.#settings = readSettings(options);
    this.#options = options;
    const seed = options.seed ?? 0;
    if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
    this.#uniform = rng(seed);
  }

  /** The next token id for one row of logits [V]. */
  next(logits: Logits): number {
    if (this.#settings.temperature === 0 || this.#settings.topK === 1) return greedyToken(logits);
    const { ids, probs } = tokenDistribution(logits, this.#options);
    const u = this.#uniform();
    let cumulative = 0;
    for (let i = 0; i < ids.length; i++) {
      cumulative += probs[i];
      if (u < cumulative) return ids[i];
    }
    return ids[ids.length - 1];
  }
}
