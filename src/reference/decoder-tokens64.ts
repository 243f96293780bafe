// Float64 plain-loop reference of the decoder's token primitives (src/backend.ts): the embedding
// lookup and its gradient, the row gather of a sequence-classification head and its gradient, and
// Hugging Face's causal-LM cross-entropy with ignored labels (IGNORE_LABEL).

import { IGNORE_LABEL } from '../backend.js';

type Arr = ArrayLike<number>;

/** out[n] = table[ids[n]] (a zero row for an id ≥ V); table [V, D]. */
export function embed64(ids: Arr, table: Arr, V: number, D: number): Float64Array {
  const out = new Float64Array(ids.length * D);
  for (let n = 0; n < ids.length; n++) {
    if (ids[n] < V) for (let d = 0; d < D; d++) out[n * D + d] = table[ids[n] * D + d];
  }
  return out;
}

/** dTable[ids[n]] += dOut[n] over n (ids ≥ V add nothing), onto a copy of `start` [V, D]. */
export function embedBackward64(dOut: Arr, ids: Arr, start: Arr, V: number, D: number): Float64Array {
  const dTable = Float64Array.from(start);
  for (let n = 0; n < ids.length; n++) {
    if (ids[n] < V) for (let d = 0; d < D; d++) dTable[ids[n] * D + d] += dOut[n * D + d];
  }
  return dTable;
}

/** out[b] = x[b, index[b]] (zero for an index ≥ T); x [B, T, D]. */
export function gatherRows64(x: Arr, index: Arr, B: number, T: number, D: number): Float64Array {
  const out = new Float64Array(B * D);
  for (let b = 0; b < B; b++) if (index[b] < T) for (let d = 0; d < D; d++) out[b * D + d] = x[(b * T + index[b]) * D + d];
  return out;
}

/** dx [B, T, D]: dOut[b] at row index[b] of sequence b, 0 elsewhere. */
export function gatherRowsBackward64(dOut: Arr, index: Arr, B: number, T: number, D: number): Float64Array {
  const dx = new Float64Array(B * T * D);
  for (let b = 0; b < B; b++) if (index[b] < T) for (let d = 0; d < D; d++) dx[(b * T + index[b]) * D + d] = dOut[b * D + d];
  return dx;
}

/** Mean token cross-entropy over the counted rows, its gradient and the correct count (first max wins). */
export function tokenCrossEntropy64(logits: Arr, labels: Arr, N: number, V: number) {
  const dLogits = new Float64Array(N * V);
  let count = 0;
  for (let n = 0; n < N; n++) if (labels[n] !== IGNORE_LABEL) count++;
  let loss = 0;
  let correct = 0;
  for (let n = 0; n < N; n++) {
    const y = labels[n];
    if (y === IGNORE_LABEL) continue;
    let [max, arg] = [-Infinity, 0];
    for (let c = 0; c < V; c++) {
      if (logits[n * V + c] > max) [max, arg] = [logits[n * V + c], c];
    }
    let sum = 0;
    for (let c = 0; c < V; c++) sum += Math.exp(logits[n * V + c] - max);
    loss += (Math.log(sum) + max - logits[n * V + y]) / count;
    for (let c = 0; c < V; c++) dLogits[n * V + c] = (Math.exp(logits[n * V + c] - max) / sum - (c === y ? 1 : 0)) / count;
    if (arg === y) correct++;
  }
  return { loss, dLogits, correct, count };
}
