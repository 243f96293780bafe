// A language model's training examples, one per row of a text grid [N, T], as the LM trainer takes
// them from src/text/lm-data.ts:
//   causal    causalLmWindows' windows: labels [N, T] already shifted (labels[n, t] is the token after
//             position t, −100 where nothing is predicted); the loss reads logits [B, T, V].
//   classify  classificationBatch's rows: one class per row, labels [N]; the loss reads logits [B, classes].
// A causal window without a single counted label (a last window of one token) teaches nothing and
// would still move AdamW's moments, so it is left out; `rows` says which of the given rows remain.

import { IGNORE_LABEL } from '../backend.js';
import type { TokenBatch } from '../model/decoder/lm.js';
import { IGNORE_INDEX } from '../text/lm-data.js';

export type LmTask = 'causal' | 'classify';

/** causalLmWindows' output (src/text/lm-data.ts). */
export interface CausalRows {
  inputIds: Int32Array;
  labels: Int32Array;
  lengths: Int32Array;
  shape: readonly [number, number];
}

/** classificationBatch's output (src/text/lm-data.ts). */
export interface ClassifyRows {
  ids: Int32Array;
  lengths: Int32Array;
  labels: Uint32Array;
  shape: readonly [number, number];
}

export type LmRows = CausalRows | ClassifyRows;

/** A batch ready for the model and the loss: labels u32 (IGNORE_LABEL for −100), `counted` labels that count. */
export interface LmBatch {
  tokens: TokenBatch & { lengths: Int32Array };
  labels: Uint32Array;
  counted: number;
  /** Real tokens in the batch (the sum of lengths). */
  realTokens: number;
}

export class LmExamples {
  readonly task: LmTask;
  /** The given rows kept (all for classify; causal windows with at least one counted label). */
  readonly rows: readonly number[];
  readonly seqLen: number;
  private readonly ids: Int32Array;
  private readonly lengths: Int32Array;
  private readonly labels: Int32Array | Uint32Array;

  constructor(data: LmRows) {
    const [N, T] = data.shape;
    this.seqLen = T;
    this.lengths = data.lengths;
    if ('inputIds' in data) {
      this.task = 'causal';
      this.ids = data.inputIds;
      this.labels = data.labels;
      if (data.labels.length !== N * T)
        throw new RangeError(`causal-LM labels hold ${data.labels.length} values, the windows [${N}, ${T}] need ${N * T}`);
      this.rows = Array.from({ length: N }, (_, n) => n).filter((n) =>
        data.labels.subarray(n * T, (n + 1) * T).some((l) => l !== IGNORE_INDEX),
      );
    } else {
      this.task = 'classify';
      this.ids = data.ids;
      this.labels = data.labels;
      if (data.labels.length !== N) throw new RangeError(`${data.labels.length} class labels for ${N} rows: give one per row`);
      this.rows = Array.from({ length: N }, (_, n) => n);
    }
    if (this.ids.length !== N * T)
      throw new RangeError(`ids hold ${this.ids.length} tokens, the shape [${N}, ${T}] needs ${N * T}`);
    if (this.lengths.length !== N) throw new RangeError(`lengths has ${this.lengths.length} entries for ${N} rows`);
  }

  get size(): number {
    return this.rows.length;
  }

  /**
   * The examples at positions `picks` of `rows`, with every counted label checked against `classes`
   * (the vocabulary, or the classifier's classes) on the host: a GPU kernel cannot refuse one.
   */
  batch(picks: readonly number[], classes: number): LmBatch {
    const T = this.seqLen;
    const B = picks.length;
    const ids = new Int32Array(B * T);
    const lengths = new Int32Array(B);
    const causal = this.task === 'causal';
    const labels = new Uint32Array(causal ? B * T : B);
    let counted = 0;
    picks.forEach((pick, i) => {
      const n = this.rows[pick]!;
      ids.set(this.ids.subarray(n * T, (n + 1) * T), i * T);
      lengths[i] = this.lengths[n]!;
      const own = causal ? this.labels.subarray(n * T, (n + 1) * T) : this.labels.subarray(n, n + 1);
      own.forEach((label, k) => {
        const at = i * own.length + k;
        if (causal && label === IGNORE_INDEX) {
          labels[at] = IGNORE_LABEL;
          return;
        }
        if (!(Number.isInteger(label) && label >= 0 && label < classes)) {
          const what = causal ? `token label ${label} at position ${k} of window ${n}` : `class label ${label} of row ${n}`;
          const range = causal
            ? `a token id below the model's vocabulary of ${classes}, or ${IGNORE_INDEX}`
            : `in [0, ${classes})`;
          throw new RangeError(`${what} is out of range: a label is ${range}`);
        }
        labels[at] = label;
        counted++;
      });
    });
    const realTokens = lengths.reduce((a, n) => a + n, 0);
    return { tokens: { ids, shape: [B, T], lengths }, labels, counted, realTokens };
  }
}
