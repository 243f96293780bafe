// A decoder-only language model (LlamaForCausalLM or GPT2LMHeadModel in Hugging Face semantics), or
// its sequence classifier (LlamaForSequenceClassification, GPT2ForSequenceClassification). Token ids
// [B, T] (right-padded: sequence b is real for t < lengths[b]) →
//   h0 = embed_tokens[ids] (+ wpe[t] for GPT-2);  h_l = layer_l(h_{l−1})
//   causal-lm: logits = FinalNorm(h_L) · headᵀ                 [B, T, V]; head = the token embedding when tied
//   classify:  logits = FinalNorm(h_L[b, lengths[b] − 1]) · scoreᵀ   [B, C]; score [C, E], no bias
// What trains follows the plan: branches beside the targeted projections (the rest frozen, as PEFT's
// adapters), every tensor (`full`), or the head alone (`head`); a classifier's score always trains
// (PEFT's modules_to_save). Backward runs from dLogits down as far as something trains.
// decode is inference with a KV cache: the prompts once, then one token per sequence per call, each
// giving the next token's logits [B, V] (positions from the cache: kv-cache.ts).

import { AdapterConfigError } from '../../adapter/config.js';
import type { Backend, Tensor } from '../../backend.js';
import { rng } from '../../core/random.js';
import type { Weights } from '../../core/weights.js';
import type { AdaptedLayer } from '../linear.js';
import { MemoryLedger, type MemoryReport, tracked } from '../memory.js';
import type { Param } from '../param.js';
import { ropeTables } from '../rope.js';
import { buildLayer } from './build-layer.js';
import { checkDecoderConfig, checkDecoderPlan, type DecoderConfig, type DecoderPlan } from './config.js';
import { KvCache } from './kv-cache.js';
import type { DecoderLayer, Sequence } from './layer.js';
import { DecoderParts } from './parts.js';

/** What the model outputs: next-token logits, or one class score vector per sequence. */
export type DecoderTask = { kind: 'causal-lm' } | { kind: 'classify'; classes: number };

export interface DecoderOptions {
  /** What trains; null: nothing (inference, or a frozen model to generate with) but a classifier's score. */
  plan: DecoderPlan | null;
  /** Seed of fresh branch values (and of a fresh score head). */
  seed: number;
  /** Default causal-lm. */
  task?: DecoderTask;
}

/** A batch of token sequences on the host: ids [B, T] row-major, right-padded to T. */
export interface TokenBatch {
  ids: Int32Array | Uint32Array;
  shape: readonly [number, number];
  /** Real tokens of each sequence (default T each). */
  lengths?: ArrayLike<number>;
}

interface Saved {
  /** The final norm's output, what the head's gradient reads. */
  normed: Tensor;
  logitsShape: readonly number[];
  /** What the pass below the head reads; null when nothing there trains. */
  trunk: Trunk | null;
}

interface Trunk {
  /** Layer inputs, h_0 … h_{L−1}. */
  inputs: Tensor[];
  /** The final norm's input: h_L [B, T, E], or its last real rows [B, E] for a classifier. */
  top: Tensor;
  stats: Tensor[];
  seq: Sequence;
  /** The classifier's row index lengths[b] − 1 (else null). */
  index: Tensor | null;
  /** Token and position ids, kept where the embedding and wpe train (else null). */
  ids: Tensor | null;
  positionIds: Tensor | null;
  /** The padding mask. */
  owned: Tensor[];
}

export class DecoderLM {
  readonly ledger = new MemoryLedger();
  readonly backend: Backend;
  readonly layers: DecoderLayer[] = [];
  readonly task: DecoderTask;
  private readonly parts: DecoderParts;
  private readonly embedding: Tensor;
  private readonly positions: Tensor | null;
  /** lm_head (the embedding when tied) or the classifier's score. */
  private readonly head: Tensor;
  private readonly finalNorm: { w: Tensor; b: Tensor | null };
  private readonly rope: { cos: Tensor; sin: Tensor } | null;
  /** Something below the head trains: the backward pass goes through the layers. */
  private readonly trunkTrains: boolean;
  private saved: Saved | null = null;

  constructor(
    backend: Backend,
    readonly config: DecoderConfig,
    weights: Weights,
    readonly options: DecoderOptions,
  ) {
    checkDecoderConfig(config);
    const plan = options.plan;
    if (plan) checkDecoderPlan(plan, config);
    const task: DecoderTask = options.task ?? { kind: 'causal-lm' };
    this.task = task;
    const classify = task.kind === 'classify';
    if (classify && !(Number.isInteger(task.classes) && task.classes >= 1)) {
      throw new AdapterConfigError(`a classifier needs a positive integer number of classes, got ${task.classes}`);
    }
    const c = config;
    if (plan?.method === 'head' && !classify && c.tieWordEmbeddings) {
      throw new AdapterConfigError(
        "method 'head' on a model with tied word embeddings would train the token embedding (lm_head is that tensor): " +
          "use method 'full' to train it with everything else, or a branch method to leave it frozen",
      );
    }
    this.trunkTrains = plan !== null && plan.method !== 'head';
    this.backend = tracked(backend, this.ledger);
    const E = c.hidden;
    const parts = new DecoderParts(this.backend, this.ledger, weights, c, plan, rng(options.seed));
    this.parts = parts;
    const llama = c.arch === 'llama';
    this.embedding = parts.weight(llama ? 'model.embed_tokens.weight' : 'transformer.wte.weight', [c.vocabSize, E]);
    this.positions = llama ? null : parts.weight('transformer.wpe.weight', [c.maxPositions, E]);
    const b = this.backend;
    if (llama) {
      const t = ropeTables(c.headDim, c.maxPositions, c.ropeTheta!);
      this.rope = this.ledger.within('frozen', () => ({ cos: b.upload(t.cos, t.shape), sin: b.upload(t.sin, t.shape) }));
    } else this.rope = null;
    for (let l = 0; l < c.layers; l++) this.layers.push(buildLayer(parts, l));
    this.finalNorm = llama
      ? { w: parts.weight('model.norm.weight', [E]), b: null }
      : { w: parts.weight('transformer.ln_f.weight', [E]), b: parts.weight('transformer.ln_f.bias', [E]) };
    // a fresh score draws after the branches, so they start as a causal LM's of the same seed
    if (classify) this.head = this.scoreHead(task.classes);
    else if (c.tieWordEmbeddings) this.head = this.embedding;
    else this.head = parts.weight('lm_head.weight', [c.vocabSize, E], parts.full || plan?.method === 'head');
  }

  /**
   * Every trainable tensor, each once (a tied embedding once), under its Hugging Face name: whole
   * tensors (embeddings, norms, lm_head, score) first, then the projections' weights and biases
   * (method full) and branch tensors. A GPT-2 Conv1D weight is held as [out, in], the transpose of
   * its stored [in, out].
   */
  params(): Param[] {
    return [...this.parts.trainable.params, ...this.layers.flatMap((l) => l.linears.flatMap((lin) => lin.params))];
  }

  /** The SNELL-family branches, layer by layer, each layer's projections in their arch's order. */
  adaptedLayers(): AdaptedLayer[] {
    return this.layers.flatMap((l) => l.linears.flatMap((lin) => lin.adapted ?? []));
  }

  memory(): MemoryReport {
    return this.ledger.report();
  }

  /**
   * logits [B, T, V] (causal-lm) or [B, classes] (classify) of a batch; with `train`, activations are
   * kept for `backward`. The caller owns the logits.
   */
  forward(batch: TokenBatch, train: boolean): Tensor {
    const b = this.backend;
    const c = this.config;
    const [B, T] = batch.shape;
    if (batch.ids.length !== B * T)
      throw new RangeError(`ids hold ${batch.ids.length} tokens, the shape [${B}, ${T}] needs ${B * T}`);
    if (T > c.maxPositions)
      throw new RangeError(`sequences of ${T} tokens exceed the model's ${c.maxPositions} positions: cut them`);
    const bad = batch.ids.findIndex((id) => !(id >= 0 && id < c.vocabSize));
    if (bad >= 0) throw new RangeError(`token id ${batch.ids[bad]} at ${bad} is outside the vocabulary of ${c.vocabSize}`);
    const trainable = this.parts.trainable;
    const deep = train && this.trunkTrains;
    const pool = train ? 'activations' : 'scratch';
    const { seq, owned, h0, ids, positionIds } = this.ledger.within(pool, () => {
      const ids = b.upload(Uint32Array.from(batch.ids), [B, T], 'u32');
      const keyMask = paddingMask(b, B, T, batch.lengths);
      const h = b.zeros([B, T, c.hidden]);
      b.embed(ids, this.embedding, h);
      let positionIds: Tensor | null = null;
      if (this.positions) {
        const pos = b.upload(
          Uint32Array.from({ length: B * T }, (_, i) => i % T),
          [B, T],
          'u32',
        );
        const pe = b.zeros([B, T, c.hidden]);
        b.embed(pos, this.positions, pe);
        b.addInto(h, pe);
        b.free(pe);
        if (deep && trainable.has(this.positions)) positionIds = pos;
        else b.free(pos);
      }
      const keptIds = deep && trainable.has(this.embedding) ? ids : null;
      if (!keptIds) b.free(ids);
      return { seq: { B, T, keyMask, rope: this.rope }, owned: keyMask ? [keyMask] : [], h0: h, ids: keptIds, positionIds };
    });
    let x = h0;
    const inputs: Tensor[] = [];
    for (const layer of this.layers) {
      if (deep) inputs.push(x);
      const y = layer.forward(x, seq, deep);
      if (!deep) b.free(x);
      x = y;
    }
    return this.ledger.within(pool, () => {
      let top = x;
      let index: Tensor | null = null;
      if (this.task.kind === 'classify') {
        index = b.upload(
          Uint32Array.from({ length: B }, (_, s) => (batch.lengths?.[s] ?? T) - 1),
          [B],
          'u32',
        );
        top = b.zeros([B, c.hidden]);
        b.gatherRows(x, index, top);
        b.free(x);
      }
      const R = top.size / c.hidden;
      const normed = b.zeros(top.shape);
      const stats = this.finalNorm.b ? [b.zeros([R]), b.zeros([R])] : [b.zeros([R])];
      if (this.finalNorm.b) b.layerNorm(top, this.finalNorm.w, this.finalNorm.b, c.normEps, normed, stats[0]!, stats[1]!);
      else b.rmsNorm(top, this.finalNorm.w, c.normEps, normed, stats[0]!);
      const logitsShape = this.task.kind === 'classify' ? [B, this.task.classes] : [B, T, c.vocabSize];
      const logits = this.ledger.within('scratch', () => b.zeros(logitsShape));
      b.matmul(normed, this.head, logits, { transB: true });
      const trunk = deep ? { inputs, top, stats, seq, index, ids, positionIds, owned } : null;
      if (!trunk) for (const t of [top, ...stats, ...owned, ...(index ? [index] : [])]) b.free(t);
      if (train) this.saved = { normed, logitsShape, trunk };
      else b.free(normed);
      return logits;
    });
  }

  /**
   * Backpropagates dLogits (the logits' shape); sets every trainable tensor's grad (accumulated once
   * per pass: a tied embedding's lookup and head gradients land in its one grad); frees the kept
   * activations.
   */
  backward(dLogits: Tensor): void {
    const s = this.saved;
    if (!s) throw new Error('DecoderLM.backward needs forward(…, train = true) first');
    if (dLogits.size !== s.logitsShape.reduce((a, d) => a * d, 1)) {
      throw new RangeError(`dLogits has shape [${dLogits.shape.join(', ')}]; the logits were [${s.logitsShape.join(', ')}]`);
    }
    const b = this.backend;
    const trainable = this.parts.trainable;
    trainable.zeroGrads();
    this.ledger.within('scratch', () => {
      const dHead = trainable.grad(this.head);
      if (dHead) b.matmul(dLogits, s.normed, dHead, { transA: true, accumulate: true });
      const k = s.trunk;
      if (k) {
        const dNormed = b.zeros(s.normed.shape);
        b.matmul(dLogits, this.head, dNormed);
        this.trunkBackward(k, dNormed);
      }
      b.free(s.normed);
    });
    this.saved = null;
  }

  /** From the final norm's output gradient down to the embeddings; frees what the trunk kept. */
  private trunkBackward(k: Trunk, dNormed: Tensor): void {
    const b = this.backend;
    const trainable = this.parts.trainable;
    const dTop = b.zeros(k.top.shape);
    const norm = this.finalNorm;
    if (norm.b) {
      const [mean, rstd] = k.stats;
      b.layerNormBackward(dNormed, k.top, norm.w, mean!, rstd!, dTop, trainable.grad(norm.w), trainable.grad(norm.b));
    } else b.rmsNormBackward(dNormed, k.top, norm.w, k.stats[0]!, dTop, trainable.grad(norm.w));
    b.free(dNormed);
    for (const t of [k.top, ...k.stats]) b.free(t);
    let dx = dTop;
    if (k.index) {
      dx = b.zeros([k.seq.B, k.seq.T, this.config.hidden]);
      b.gatherRowsBackward(dTop, k.index, dx);
      b.free(dTop);
      b.free(k.index);
    }
    for (let l = this.layers.length - 1; l >= 0; l--) {
      const dPrev = this.layers[l]!.backward(dx);
      b.free(dx);
      dx = dPrev;
      b.free(k.inputs[l]!);
    }
    const dEmbedding = trainable.grad(this.embedding);
    if (k.ids && dEmbedding) b.embedBackward(dx, k.ids, dEmbedding);
    const dPositions = this.positions && trainable.grad(this.positions);
    if (k.positionIds && dPositions) b.embedBackward(dx, k.positionIds, dPositions);
    b.free(dx);
    for (const t of [...k.owned, k.ids, k.positionIds]) if (t) b.free(t);
  }

  /** An empty KV cache for `batch` sequences of up to `capacity` tokens each (prompt included). */
  kvCache(batch: number, capacity: number): KvCache {
    return new KvCache(this.backend, this.ledger, this.config, batch, capacity);
  }

  /**
   * Logits [B, V] of each sequence's next token, with `cache` holding the keys and values of all its
   * earlier tokens (kv-cache.ts). The first call takes the prompts, ids [B, T] right-padded as in
   * forward, and gives the logits after each one's last real token; every later call takes one token
   * per sequence, ids [B, 1]. The branches run without noise. The caller owns the logits.
   */
  decode(cache: KvCache, batch: TokenBatch): Tensor {
    const b = this.backend;
    const c = this.config;
    const [B, T] = batch.shape;
    if (this.task.kind === 'classify')
      throw new Error('a sequence classifier has no language-model head to generate with: build the model with task causal-lm');
    if (B !== cache.batch) throw new RangeError(`the batch has ${B} sequences, the KV cache ${cache.batch}`);
    if (batch.ids.length !== B * T)
      throw new RangeError(`ids hold ${batch.ids.length} tokens, the shape [${B}, ${T}] needs ${B * T}`);
    const bad = batch.ids.findIndex((id) => !(id >= 0 && id < c.vocabSize));
    if (bad >= 0) throw new RangeError(`token id ${batch.ids[bad]} at ${bad} is outside the vocabulary of ${c.vocabSize}`);
    const step = cache.begin(T, batch.lengths);
    const x0 = this.ledger.within('scratch', () => {
      const [ids, pos] = [b.upload(Uint32Array.from(batch.ids), [B, T], 'u32'), b.upload(step.positions, [B, T], 'u32')];
      const h = b.zeros([B, T, c.hidden]);
      b.embed(ids, this.embedding, h);
      if (this.positions) {
        const pe = b.zeros([B, T, c.hidden]);
        b.embed(pos, this.positions, pe);
        b.addInto(h, pe);
        b.free(pe);
      }
      if (this.rope) {
        const rows = [B * T, c.headDim / 2];
        step.rope = { cos: b.zeros(rows), sin: b.zeros(rows) };
        b.embed(pos, this.rope.cos, step.rope.cos);
        b.embed(pos, this.rope.sin, step.rope.sin);
      }
      b.free(ids);
      b.free(pos);
      return h;
    });
    let x = x0;
    this.layers.forEach((layer, l) => {
      const y = layer.decode(x, cache, l, step);
      b.free(x);
      x = y;
    });
    cache.end(step);
    return this.ledger.within('scratch', () => {
      const lengths = batch.lengths ?? Array<number>(B).fill(T);
      const index = b.upload(
        Uint32Array.from({ length: B }, (_, s) => lengths[s]! - 1),
        [B],
        'u32',
      );
      const final = b.zeros([B, c.hidden]);
      b.gatherRows(x, index, final);
      const normed = b.zeros([B, c.hidden]);
      const stats = this.finalNorm.b ? [b.zeros([B]), b.zeros([B])] : [b.zeros([B])];
      if (this.finalNorm.b) b.layerNorm(final, this.finalNorm.w, this.finalNorm.b, c.normEps, normed, stats[0]!, stats[1]!);
      else b.rmsNorm(final, this.finalNorm.w, c.normEps, normed, stats[0]!);
      const logits = b.zeros([B, c.vocabSize]);
      b.matmul(normed, this.head, logits, { transB: true });
      for (const t of [x, index, final, normed, ...stats]) b.free(t);
      return logits;
    });
  }

  /** Frees every tensor the model allocated. */
  dispose(): void {
    for (const layer of this.layers) layer.release();
    for (const t of this.ledger.liveTensors()) this.backend.free(t);
    this.saved = null;
  }

  /** score.weight [classes, E]: the stored one, else N(0, 0.02²) from the model's seed; always trains. */
  private scoreHead(classes: number): Tensor {
    const parts = this.parts;
    const shape = [classes, this.config.hidden];
    const name = 'score.weight';
    let t: Tensor;
    if (parts.weights.get(name)) t = parts.frozen(name, shape);
    else {
      const next = parts.next;
      const data = Float32Array.from(
        { length: classes * this.config.hidden },
        () => 0.02 * Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next()),
      );
      t = this.ledger.within('frozen', () => this.backend.upload(data, shape));
    }
    parts.trainable.add(name, t);
    return t;
  }
}

/** u32 [B, T] with 1 on the real tokens, or null when every sequence is full. */
function paddingMask(b: Backend, B: number, T: number, lengths: ArrayLike<number> | undefined): Tensor | null {
  if (!lengths) return null;
  if (lengths.length !== B) throw new RangeError(`lengths has ${lengths.length} entries for ${B} sequences`);
  const bad = Array.from(lengths).findIndex((n) => !(Number.isInteger(n) && n >= 1 && n <= T));
  if (bad >= 0) throw new RangeError(`lengths[${bad}] = ${lengths[bad]} must be an integer in [1, ${T}]`);
  if (Array.from(lengths).every((n) => n === T)) return null;
  const mask = new Uint32Array(B * T);
  for (let s = 0; s < B; s++) mask.fill(1, s * T, s * T + lengths[s]!);
  return b.upload(mask, [B, T], 'u32');
}
