// Batches through a decoder language model: a training step's forward, loss and backward passes, and
// an evaluation over held-out examples. The losses follow transformers:
//   causal    logits [B, T, V], labels already shifted: loss = (1/K)·Σ_{labels ≠ −100} −log softmax(logits[b, t])[label],
//             K the counted labels of the batch (tokenCrossEntropy; LlamaForCausalLM's loss without
//             num_items_in_batch); dLogits = (softmax − onehot)/K on counted positions, 0 elsewhere.
//   classify  logits [B, classes], one label per row: loss = (1/B)·Σ_b −log softmax(logits[b])[label_b]
//             (softmaxCrossEntropy, as the sequence-classification heads' CrossEntropyLoss).
// Evaluation weighs each batch by what it counts, so the result is the mean over every held-out token
// (causal; perplexity = exp of it) or row (classify), whatever the batch size.

import type { AdaptedLayer } from '../model/linear.js';
import type { Backend, Tensor } from '../backend.js';
import type { TokenBatch } from '../model/decoder/lm.js';
import type { MemoryLedger, MemoryReport } from '../model/memory.js';
import type { Param } from '../model/param.js';
import type { LmBatch, LmExamples, LmTask } from './lm-examples.js';

/** What the LM trainer needs of a model: DecoderLM's surface (src/model/decoder/lm.ts). */
export interface LmModel {
  readonly backend: Backend;
  readonly ledger: MemoryLedger;
  readonly config: { readonly vocabSize: number };
  /** A sequence-classification model names its head's classes here (DecoderOptions.task). */
  readonly options: {
    readonly seed: number;
    readonly task?: { readonly kind: string; readonly classes?: number };
    readonly plan: { readonly sparsity: number } | null;
  };
  /** The SNELL-family branches, for SNELLA's allocator. */
  adaptedLayers(): AdaptedLayer[];
  forward(batch: TokenBatch, train: boolean): Tensor;
  backward(dLogits: Tensor): void;
  params(): Param[];
  memory(): MemoryReport;
}

/** Held-out loss: mean over counted tokens (causal) or rows (classify). */
export interface LmEvaluation {
  loss: number;
  /** exp(loss) for causal LM; null for classify. */
  perplexity: number | null;
  /** Top-1 accuracy over the counted tokens (next-token) or rows (class). */
  accuracy: number;
  /** Counted tokens (causal) or rows (classify). */
  count: number;
}

/** The number of outputs each label indexes: the vocabulary, or the classification head's classes. */
export function outputClasses(model: LmModel, task: LmTask): number {
  const t = model.options.task;
  if (task === 'causal') {
    if (t?.kind === 'classify')
      throw new Error(
        'the model is a classifier, the data are causal-LM windows: build the model without a classify task for language modelling',
      );
    return model.config.vocabSize;
  }
  if (t?.kind !== 'classify' || t.classes === undefined)
    throw new Error(
      "the data are classification rows but the model has no classification head: build DecoderLM with task { kind: 'classify', classes }",
    );
  return t.classes;
}

/** The forward pass and the loss (queued); the caller frees all four tensors. */
function lossOf(model: LmModel, batch: LmBatch, task: LmTask, train: boolean) {
  const b = model.backend;
  const logits = model.forward(batch.tokens, train);
  const [B, T] = batch.tokens.shape;
  const expected = task === 'causal' ? [B, T, model.config.vocabSize] : [B, outputClasses(model, task)];
  if (logits.shape.length !== expected.length || logits.shape.some((d, i) => d !== expected[i])) {
    b.free(logits);
    throw new Error(`the model gave logits [${logits.shape.join(', ')}] where the ${task} loss reads [${expected.join(', ')}]`);
  }
  const t = model.ledger.within('scratch', () => ({
    labels: b.upload(batch.labels, [batch.labels.length], 'u32'),
    loss: b.zeros([1]),
    dLogits: b.zeros(logits.shape),
    correct: b.zeros([1], 'u32'),
  }));
  if (task === 'causal') b.tokenCrossEntropy(logits, t.labels, t.loss, t.dLogits, t.correct);
  else b.softmaxCrossEntropy(logits, t.labels, t.loss, t.dLogits, t.correct);
  b.free(t.labels);
  return { logits, loss: t.loss, dLogits: t.dLogits, correct: t.correct };
}

/** One step's forward, loss and backward passes, queued; returns the loss and correct-count tensors (caller frees). */
export function lmForwardBackward(model: LmModel, batch: LmBatch, task: LmTask): { loss: Tensor; correct: Tensor } {
  const { logits, loss, dLogits, correct } = lossOf(model, batch, task, true);
  model.backward(dLogits);
  model.backend.free(logits);
  model.backend.free(dLogits);
  return { loss, correct };
}

/** Mean loss, perplexity (causal) and accuracy over examples, in order, without kept activations. */
export async function lmEvaluate(model: LmModel, examples: LmExamples, batchSize: number): Promise<LmEvaluation> {
  const b = model.backend;
  const classes = outputClasses(model, examples.task);
  let [lossSum, correct, count] = [0, 0, 0];
  for (let i = 0; i < examples.size; i += batchSize) {
    const picks = Array.from({ length: Math.min(batchSize, examples.size - i) }, (_, k) => i + k);
    const batch = examples.batch(picks, classes);
    const t = lossOf(model, batch, examples.task, false);
    const l = ((await b.read(t.loss)) as Float32Array)[0]!;
    correct += (await b.read(t.correct))[0]!;
    lossSum += l * batch.counted;
    count += batch.counted;
    for (const x of Object.values(t)) b.free(x);
  }
  const loss = lossSum / Math.max(1, count);
  return { loss, perplexity: examples.task === 'causal' ? Math.exp(loss) : null, accuracy: correct / Math.max(1, count), count };
}
