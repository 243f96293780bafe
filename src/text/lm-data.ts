// Text training data for the language models, from strings (no host): causal-LM windows, padded
// classification batches and seeded train/test splits.
//
// Causal-LM windows [N, T]: every document is tokenized (with the tokenizer's own special tokens
// unless told otherwise) and followed by EOS (unless it already ends with it); the documents, in order,
// make one token stream, cut into consecutive windows of T tokens. Window n holds stream[n·T ..];
// the last, shorter one is right-padded (or dropped with keepLast: false). Labels are already
// shifted, as the model's loss reads them: labels[n, t] = input_ids[n, t+1] for t+1 < lengths[n],
// else −100 (the last real position and all padding), so each window predicts its own next tokens.
// Classification [B, T]: each text's tokens (special tokens included), cut to T keeping the start,
// right-padded; lengths[b] real tokens; one integer label per text.
// Splits: a seeded permutation (src/core/dataset.ts) decides; stratified by label, each class c of
// n_c items sends round(f·n_c) to the test side, at most n_c − 1 (a class of one stays in training).
// Both sides keep the items' original order.

import { shuffled } from '../core/dataset.js';
import { TokenizerError } from './errors.js';
import type { Tokenizer } from './tokenizer.js';

/** The label causal-LM losses skip. */
export const IGNORE_INDEX = -100;

export interface CausalLmOptions {
  /** Tokens per window T, at least 2. */
  seqLen: number;
  /** Put the tokenizer's special tokens (BOS, for LLaMA-style tokenizers) around each document. Default true. */
  addSpecialTokens?: boolean;
  /** Keep the last window, shorter than T, right-padded. Default true. */
  keepLast?: boolean;
  /** The id padding holds; default the tokenizer's pad token, else its EOS. */
  padId?: number;
}

/** N windows of T tokens, row-major [N, T]. */
export interface CausalLmWindows {
  inputIds: Int32Array;
  /** input_ids shifted left by one within each window, −100 where nothing is predicted. */
  labels: Int32Array;
  /** 1 over real tokens, 0 over padding. */
  attentionMask: Uint8Array;
  /** Real tokens of each window, [N]. */
  lengths: Int32Array;
  shape: [number, number];
}

type TextTokenizer = Pick<Tokenizer, 'encode' | 'encodeBatch' | 'eosId' | 'padId'>;

function checkLength(name: string, value: number, least: number): void {
  if (!Number.isInteger(value) || value < least)
    throw new TypeError(`${name} must be an integer ≥ ${least}, got ${JSON.stringify(value)}`);
}

function padIdOf(tokenizer: TextTokenizer, padId: number | undefined): number {
  const id = padId ?? tokenizer.padId ?? tokenizer.eosId;
  if (id === null) throw new TokenizerError('this tokenizer names no pad or EOS token to pad with: pass { padId }');
  return id;
}

/** The documents as one token stream cut into [N, T] windows with shifted labels. */
export function causalLmWindows(
  tokenizer: TextTokenizer,
  documents: readonly string[],
  options: CausalLmOptions,
): CausalLmWindows {
  if (!Array.isArray(documents)) throw new TypeError(`causalLmWindows takes an array of strings, got ${typeof documents}`);
  const T = options.seqLen;
  checkLength('seqLen', T, 2);
  const eos = tokenizer.eosId;
  if (eos === null)
    throw new TokenizerError(
      'this tokenizer names no EOS token to end documents with: its tokenizer_config.json needs an eos_token',
    );
  const stream: number[] = [];
  for (const document of documents) {
    const ids = tokenizer.encode(document, { addSpecialTokens: options.addSpecialTokens !== false });
    for (const id of ids) stream.push(id);
    if (ids[ids.length - 1] !== eos) stream.push(eos);
  }
  const full = Math.floor(stream.length / T);
  const N = options.keepLast === false || stream.length % T === 0 ? full : full + 1;
  const pad = padIdOf(tokenizer, options.padId);
  const inputIds = new Int32Array(N * T).fill(pad);
  const labels = new Int32Array(N * T).fill(IGNORE_INDEX);
  const attentionMask = new Uint8Array(N * T);
  const lengths = new Int32Array(N);
  for (let n = 0; n < N; n++) {
    const tokens = stream.slice(n * T, (n + 1) * T);
    lengths[n] = tokens.length;
    inputIds.set(tokens, n * T);
    attentionMask.fill(1, n * T, n * T + tokens.length);
    labels.set(tokens.slice(1), n * T);
  }
  return { inputIds, labels, attentionMask, lengths, shape: [N, T] };
}

export interface LabeledText {
  text: string;
  /** The class, an integer from 0. */
  label: number;
}

export interface ClassificationOptions {
  /** Tokens per row T; longer texts keep their first tokens (and the special tokens around them). */
  seqLen: number;
  /** Labels must be below this, when given. */
  classes?: number;
  /** Put the tokenizer's special tokens around each text. Default true. */
  addSpecialTokens?: boolean;
  /** The id padding holds; default the tokenizer's pad token, else its EOS. */
  padId?: number;
}

/** B texts as right-padded token rows [B, T] with their labels. */
export interface ClassificationBatch {
  ids: Int32Array;
  attentionMask: Uint8Array;
  /** Real tokens of each row, [B], each at least 1. */
  lengths: Int32Array;
  labels: Uint32Array;
  shape: [number, number];
}

export function classificationBatch(
  tokenizer: TextTokenizer,
  samples: readonly LabeledText[],
  options: ClassificationOptions,
): ClassificationBatch {
  if (!Array.isArray(samples))
    throw new TypeError(`classificationBatch takes an array of { text, label }, got ${typeof samples}`);
  checkLength('seqLen', options.seqLen, 1);
  if (options.classes !== undefined) checkLength('classes', options.classes, 1);
  const labels = Uint32Array.from(samples, ({ label }, i) => {
    if (!Number.isInteger(label) || label < 0 || (options.classes !== undefined && label >= options.classes)) {
      const range = options.classes === undefined ? 'an integer ≥ 0' : `an integer from 0 to ${options.classes - 1}`;
      throw new TypeError(`sample ${i}'s label is ${JSON.stringify(label)}: a label is ${range}`);
    }
    return label;
  });
  const batch = tokenizer.encodeBatch(
    samples.map((s) => s.text),
    {
      maxLength: options.seqLen,
      padding: 'max',
      truncation: 'right',
      side: 'right',
      addSpecialTokens: options.addSpecialTokens !== false,
      padId: padIdOf(tokenizer, options.padId),
    },
  );
  const empty = batch.lengths.indexOf(0);
  if (empty >= 0) throw new TokenizerError(`sample ${empty}'s text has no tokens: a classifier needs at least one`);
  return { ids: batch.ids, attentionMask: batch.attentionMask, lengths: batch.lengths, labels, shape: batch.shape };
}

export interface SplitOptions<T> {
  /** The share of items on the test side, in (0, 1). */
  testFraction: number;
  /** Seed of the permutation. Default 0. */
  seed?: number;
  /** Stratify by this label: every class splits in the same proportion. */
  labelOf?: (item: T) => number | string;
}

/** The items split in two by a seeded permutation, each side in the items' original order. */
export function splitTrainTest<T>(items: readonly T[], options: SplitOptions<T>): { train: T[]; test: T[] } {
  const f = options.testFraction;
  if (!(f > 0 && f < 1)) throw new TypeError(`testFraction must be in (0, 1), got ${JSON.stringify(f)}`);
  const order = shuffled(items.length, options.seed ?? 0);
  const label = options.labelOf ?? (() => 0);
  const sizes = new Map<number | string, number>();
  for (const item of items) sizes.set(label(item), (sizes.get(label(item)) ?? 0) + 1);
  const wanted = new Map([...sizes].map(([c, n]) => [c, Math.min(n - 1, Math.round(f * n))]));
  const toTest = new Uint8Array(items.length);
  for (const i of order) {
    const c = label(items[i]);
    const left = wanted.get(c)!;
    if (left > 0) {
      toTest[i] = 1;
      wanted.set(c, left - 1);
    }
  }
  return { train: items.filter((_, i) => !toTest[i]), test: items.filter((_, i) => toTest[i]) };
}
