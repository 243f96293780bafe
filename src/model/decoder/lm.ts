// A decoder-only language model (LlamaForCausalLM or GPT2LMHeadModel in Hugging Face semantics) with
// trainable branches beside its projections. Token ids [B, T] (right-padded: sequence b is real for
// t < lengths[b]) →
//   h0 = embed_tokens[ids] (+ wpe[t] for GPT-2);  h_l = layer_l(h_{l−1})
//   logits = FinalNorm(h_L) · headᵀ        [B, T, V]; head = the token embedding when tied
// Only the branches train; the embedding, the norms, the projections and the head stay frozen
// (as PEFT's causal-LM adapters). Backward runs from dLogits down to the first layer's branches.
// decode is inference with a KV cache: the prompts once, then one token per sequence per call, each
// giving the next token's logits [B, V] (positions from the cache: kv-cache.ts).

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

export interface DecoderOptions {
  /** What trains; null: nothing (inference, or a frozen model to generate with). */
  plan: DecoderPlan | null;
  /** Seed of fresh branch values. */
  seed: number;
}

/** A batch of token sequences on the host: ids [B, T] row-major, right-padded to T. */
export interface TokenBatch {
  ids: Int32Array | Uint32Array;
  shape: readonly [number, number];
  /** Real tokens of each sequence (default T each). */
  lengths?: ArrayLike<number>;
}

interface Saved {
  inputs: Tensor[];
  last: Tensor;
  normed: Tensor;
  stats: Tensor[];
  seq: Sequence;
  owned: Tensor[];
}

export class DecoderLM {
  readonly ledger = new MemoryLedger();
  readonly backend: Backend;
  readonly layers: DecoderLayer[] = [];
  private readonly embedding: Tensor;
  private readonly positions: Tensor | null;
  private readonly head: Tensor;
  private readonly finalNorm: { w: Tensor; b: Tensor | null };
  private readonly rope: { cos: Tensor; sin: Tensor } | null;
  private saved: Saved | null = null;

  constructor(
    backend: Backend,
    readonly config: DecoderConfig,
    weights: Weights,
    readonly options: DecoderOptions,
  ) {
    checkDecoderConfig(config);
    if (options.plan) checkDecoderPlan(options.plan, config);
    this.backend = tracked(backend, this.ledger);
    const c = config;
    const E = c.hidden;
    const parts = new DecoderParts(this.backend, this.ledger, weights, c, options.plan, rng(options.seed));
    const llama = c.arch === 'llama';
    this.embedding = parts.frozen(llama ? 'model.embed_tokens.weight' : 'transformer.wte.weight', [c.vocabSize, E]);
    this.positions = llama ? null : parts.frozen('transformer.wpe.weight', [c.maxPositions, E]);
    this.head = c.tieWordEmbeddings ? this.embedding : parts.frozen('lm_head.weight', [c.vocabSize, E]);
    this.finalNorm = llama
      ? { w: parts.frozen('model.norm.weight', [E]), b: null }
      : { w: parts.frozen('transformer.ln_f.weight', [E]), b: parts.frozen('transformer.ln_f.bias', [E]) };
    const b = this.backend;
    if (llama) {
      const t = ropeTables(c.headDim, c.maxPositions, c.ropeTheta!);
      this.rope = this.ledger.within('frozen', () => ({ cos: b.upload(t.cos, t.shape), sin: b.upload(t.sin, t.shape) }));
    } else this.rope = null;
    for (let l = 0; l < c.layers; l++) this.layers.push(buildLayer(parts, l));
  }

  /** Every trainable tensor (the branches' factors and SNELLA's scalars), each once. */
  params(): Param[] {
    return this.layers.flatMap((l) => l.linears.flatMap((lin) => lin.params));
  }

  /** The SNELL-family branches, layer by layer, each layer's projections in their arch's order. */
  adaptedLayers(): AdaptedLayer[] {
    return this.layers.flatMap((l) => l.linears.flatMap((lin) => lin.adapted ?? []));
  }

  memory(): MemoryReport {
    return this.ledger.report();
  }

  /**
   * logits [B, T, V] of a batch; with `train`, activations are kept for `backward`. The caller owns
   * the logits.
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
    const pool = train ? 'activations' : 'scratch';
    const { seq, owned, h0 } = this.ledger.within(pool, () => {
      const ids = b.upload(Uint32Array.from(batch.ids), [B, T], 'u32');
      const keyMask = paddingMask(b, B, T, batch.lengths);
      const h = b.zeros([B, T, c.hidden]);
      b.embed(ids, this.embedding, h);
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
        b.free(pos);
      }
      b.free(ids);
      return { seq: { B, T, keyMask, rope: this.rope }, owned: keyMask ? [keyMask] : [], h0: h };
    });
    let x = h0;
    const inputs: Tensor[] = [];
    for (const layer of this.layers) {
      inputs.push(x);
      const y = layer.forward(x, seq, train);
      if (!train) b.free(x);
      x = y;
    }
    return this.ledger.within(pool, () => {
      const R = B * T;
      const normed = b.zeros([B, T, c.hidden]);
      const stats = this.finalNorm.b ? [b.zeros([R]), b.zeros([R])] : [b.zeros([R])];
      if (this.finalNorm.b) b.layerNorm(x, this.finalNorm.w, this.finalNorm.b, c.normEps, normed, stats[0]!, stats[1]!);
      else b.rmsNorm(x, this.finalNorm.w, c.normEps, normed, stats[0]!);
      const logits = this.ledger.within('scratch', () => b.zeros([B, T, c.vocabSize]));
      b.matmul(normed, this.head, logits, { transB: true });
      if (train) this.saved = { inputs, last: x, normed, stats, seq, owned };
      else for (const t of [x, normed, ...stats, ...owned]) b.free(t);
      return logits;
    });
  }

  /** Backpropagates dLogits [B, T, V]; sets every trainable tensor's grad; frees the kept activations. */
  backward(dLogits: Tensor): void {
    const s = this.saved;
    if (!s) throw new Error('DecoderLM.backward needs forward(…, train = true) first');
    const b = this.backend;
    this.ledger.within('scratch', () => {
      const dNormed = b.zeros(s.normed.shape);
      b.matmul(dLogits, this.head, dNormed);
      let dx = b.zeros(s.last.shape);
      if (this.finalNorm.b) b.layerNormBackward(dNormed, s.last, this.finalNorm.w, s.stats[0]!, s.stats[1]!, dx, null, null);
      else b.rmsNormBackward(dNormed, s.last, this.finalNorm.w, s.stats[0]!, dx, null);
      for (const t of [dNormed, s.normed, s.last, ...s.stats]) b.free(t);
      for (let l = this.layers.length - 1; l >= 0; l--) {
        const dPrev = this.layers[l]!.backward(dx);
        b.free(dx);
        dx = dPrev;
        b.free(s.inputs[l]!);
      }
      b.free(dx);
      for (const t of s.owned) b.free(t);
    });
    this.saved = null;
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
