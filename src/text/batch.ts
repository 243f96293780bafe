// Packing token sequences into one rectangular batch for a model: the options of encodeBatch checked,
// each text cut to fit when truncation allows it, then every row padded to the batch's length on the
// chosen side, with an attention mask of 1 over real tokens and 0 over padding.

import { TokenizerError } from './errors.js';

/** Which end of a sequence padding is added to, or tokens are cut from. */
export type Side = 'left' | 'right';

export interface BatchOptions {
  /** The most tokens a row may hold, special tokens included. Required by `padding: 'max'`. */
  maxLength?: number;
  /** 'longest' (the default) pads to the longest row; 'max' pads every row to maxLength. */
  padding?: 'longest' | 'max';
  /**
   * Cut texts longer than maxLength instead of throwing: true or 'right' keeps the start of the text,
   * 'left' keeps its end. The special tokens around the text are kept either way. Default false.
   */
  truncation?: boolean | Side;
  /** The side padding goes on: 'right' (the default) for training, 'left' for generation. */
  side?: Side;
  /** Add the tokenizer's special tokens (BOS, EOS) around each text, as encode does. Default true. */
  addSpecialTokens?: boolean;
  /** The id padding positions hold; defaults to the tokenizer's padId. */
  padId?: number;
}

/** A batch of B texts as a row-major [B, T] grid. */
export interface EncodedBatch {
  /** Token ids, [B, T]; padding positions hold the pad id. */
  ids: Int32Array;
  /** 1 where ids holds a token of the text, 0 where it holds padding, [B, T]. */
  attentionMask: Uint8Array;
  /** The number of real tokens in each row, [B]. */
  lengths: Int32Array;
  /** [B, T]. */
  shape: [number, number];
}

/** The options with their defaults, checked. */
export interface Packing {
  maxLength: number | null;
  padding: 'longest' | 'max';
  truncation: Side | null;
  side: Side;
}

function oneOf<T extends string>(name: string, value: unknown, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value as T)) {
    throw new TypeError(
      `encodeBatch's ${name} must be ${allowed.map((a) => `'${a}'`).join(' or ')}, got ${JSON.stringify(value)}`,
    );
  }
  return value as T;
}

export function readPacking(options: BatchOptions): Packing {
  const { maxLength } = options;
  if (maxLength !== undefined && (!Number.isInteger(maxLength) || maxLength < 1)) {
    throw new TypeError(`encodeBatch's maxLength must be a positive integer, got ${JSON.stringify(maxLength)}`);
  }
  const padding = oneOf('padding', options.padding, ['longest', 'max'], 'longest');
  if (padding === 'max' && maxLength === undefined) {
    throw new TypeError("encodeBatch's padding: 'max' pads to maxLength: give maxLength too");
  }
  const cut = options.truncation;
  if (cut !== undefined && typeof cut !== 'boolean' && cut !== 'left' && cut !== 'right') {
    throw new TypeError(`encodeBatch's truncation must be true, false, 'left' or 'right', got ${JSON.stringify(cut)}`);
  }
  const truncation = cut === true ? 'right' : cut === false || cut === undefined ? null : cut;
  if (truncation !== null && maxLength === undefined) {
    throw new TypeError("encodeBatch's truncation cuts texts to maxLength: give maxLength too");
  }
  return { maxLength: maxLength ?? null, padding, truncation, side: oneOf('side', options.side, ['left', 'right'], 'right') };
}

/**
 * The tokens of text `index` with its special tokens, cut to maxLength where truncation allows it.
 * `prefix` and `suffix` are the special tokens that go around the text's own `tokens`.
 */
export function fitRow(tokens: number[], prefix: number[], suffix: number[], packing: Packing, index: number): number[] {
  const total = prefix.length + tokens.length + suffix.length;
  const { maxLength, truncation } = packing;
  if (maxLength === null || total <= maxLength) return [...prefix, ...tokens, ...suffix];
  if (truncation === null) {
    throw new TokenizerError(
      `text ${index} is ${total} tokens, longer than maxLength ${maxLength}: pass truncation: true (or 'left') to cut it, or raise maxLength`,
    );
  }
  const room = maxLength - prefix.length - suffix.length;
  if (room < 0) {
    throw new TokenizerError(
      `maxLength ${maxLength} leaves no room for the ${prefix.length + suffix.length} special tokens around each text: raise maxLength`,
    );
  }
  const kept = truncation === 'right' ? tokens.slice(0, room) : tokens.slice(tokens.length - room);
  return [...prefix, ...kept, ...suffix];
}

/** Rows padded with padId to one length on packing.side; padId is needed only where a row is short. */
export function packRows(rows: number[][], padId: number | null, packing: Packing): EncodedBatch {
  const width =
    packing.padding === 'max' ? (packing.maxLength as number) : rows.reduce((longest, row) => Math.max(longest, row.length), 0);
  const ids = new Int32Array(rows.length * width);
  const attentionMask = new Uint8Array(rows.length * width);
  const lengths = new Int32Array(rows.length);
  rows.forEach((row, b) => {
    if (row.length < width && padId === null) {
      throw new TokenizerError(
        'padding needs a pad token and this tokenizer has none (its tokenizer_config.json names no pad_token): pass { padId }, for example tokenizer.eosId',
      );
    }
    const start = b * width + (packing.side === 'left' ? width - row.length : 0);
    ids.fill(padId ?? 0, b * width, (b + 1) * width);
    ids.set(row, start);
    attentionMask.fill(1, start, start + row.length);
    lengths[b] = row.length;
  });
  return { ids, attentionMask, lengths, shape: [rows.length, width] };
}
