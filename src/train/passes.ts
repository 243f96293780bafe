// Batches through the model: a training step's forward and backward passes (softmax cross-entropy
// on logits [n, classes], its gradient into backward) and an evaluation pass over a dataset (mean
// loss and top-1 accuracy, no noise, no kept activations). Labels are checked on the host first.

import type { Tensor } from '../backend.js';
import type { Dataset } from '../core/dataset.js';
import type { ViT } from '../model/vit.js';
import type { Evaluation } from './fit-options.js';

/** A step's forward and backward passes, queued; returns the loss and correct count tensors (caller frees). */
export function forwardBackward(
  model: ViT,
  batch: { inputs: Float32Array; labels: Uint32Array },
  sampleShape: readonly number[],
  noiseSeed: number,
): { loss: Tensor; correct: Tensor } {
  const b = model.backend;
  const n = batch.labels.length;
  const x = model.ledger.within('activations', () => b.upload(batch.inputs, [n, ...sampleShape]));
  const labels = model.ledger.within('scratch', () => b.upload(batch.labels, [n], 'u32'));
  const logits = model.forward(x, true, noiseSeed >>> 0);
  const [loss, dLogits, correct] = model.ledger.within('scratch', () => [
    b.zeros([1]),
    b.zeros(logits.shape),
    b.zeros([1], 'u32'),
  ]);
  b.softmaxCrossEntropy(logits, labels, loss, dLogits, correct);
  model.backward(dLogits);
  for (const t of [x, labels, logits, dLogits]) b.free(t);
  return { loss, correct };
}

/** Mean loss and top-1 accuracy over a dataset, without dropout or kept activations. */
export async function evaluate(model: ViT, data: Dataset, batchSize: number): Promise<Evaluation> {
  const b = model.backend;
  let [lossSum, correct] = [0, 0];
  for (let i = 0; i < data.size; i += batchSize) {
    const idx = Array.from({ length: Math.min(batchSize, data.size - i) }, (_, k) => i + k);
    const batch = checkedLabels(data.get(idx), model.config.classes);
    const n = idx.length;
    const tensors = model.ledger.within('scratch', () => {
      const x = b.upload(batch.inputs, [n, ...data.sampleShape]);
      const labels = b.upload(batch.labels, [n], 'u32');
      const logits = model.forward(x, false);
      const [loss, dLogits, ok] = [b.zeros([1]), b.zeros(logits.shape), b.zeros([1], 'u32')];
      b.softmaxCrossEntropy(logits, labels, loss, dLogits, ok);
      return { x, labels, logits, loss, dLogits, ok };
    });
    lossSum += ((await b.read(tensors.loss)) as Float32Array)[0] * n;
    correct += (await b.read(tensors.ok))[0];
    for (const t of Object.values(tensors)) b.free(t);
  }
  return { loss: lossSum / data.size, accuracy: correct / data.size, samples: data.size };
}

/**
 * The batch, once every label is checked against the head's class count: on the host, before upload, so
 * every backend refuses the same labels (a GPU kernel cannot throw; it would give NaN).
 */
export function checkedLabels<T extends { labels: Uint32Array }>(batch: T, classes: number): T {
  const bad = batch.labels.findIndex((label) => label >= classes);
  if (bad >= 0) {
    throw new Error(
      `label ${batch.labels[bad]} (sample ${bad} of the batch) is out of range for the model's ${classes}-class head: ` +
        `labels must be in [0, ${classes}); replace the head for this data's class count (replaceHead) or fix the labels`,
    );
  }
  return batch;
}
