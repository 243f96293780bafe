// The keys and values a decoder has computed for the tokens it has seen, kept for generation: per
// layer, keys and values [B, capacity, KV·D] (keys already rotated by RoPE), zero in slots not yet
// written. Slots are shared by the batch: the prompts, right-padded to T0, fill slots 0 … T0−1, and each
// decode step fills the next slot of every sequence. Sequence b's prompt has L_b real tokens, so its
// slots L_b … T0−1 are padding and stay masked (keyMask 0); its token in slot s ≥ T0 sits at position
// L_b + s − T0. Positions, not slots, feed RoPE and GPT-2's learned positions; RoPE's scores depend only
// on position differences, so the masked gap changes nothing. A step of T tokens at slot `start`:
//   attention  q [B, T, H·D] against the whole cache, causal with offset = start (later slots are
//              unwritten and forbidden), keyMask [B, capacity] as above
//   write      rows [B·T, KV·D] → tmp = embed(scatter, rows), scatter[b, s] = b·T + s − start for
//              start ≤ s < start + T and B·T (a zero row) elsewhere; cache += tmp (the slots were 0)

import type { AttentionOptions, Backend, Tensor } from '../../backend.js';
import type { MemoryLedger } from '../memory.js';
import type { DecoderConfig } from './config.js';

/** One call's tokens: T per sequence, in slots start … start + T − 1. */
export interface CacheStep {
  B: number;
  T: number;
  start: number;
  /** Position of each token, [B·T] row-major. */
  positions: Uint32Array;
  /** u32 [B, capacity]: each token's slot, for the write (see the header). */
  scatter: Tensor;
  /** RoPE's cos and sin rows at each token's position, [B·T, D/2] (LLaMA family), or null. */
  rope: { cos: Tensor; sin: Tensor } | null;
}

export class KvCache {
  readonly keys: Tensor[] = [];
  readonly values: Tensor[] = [];
  /** Real prompt tokens per sequence, once the prompts are in. */
  private lengths: number[] | null = null;
  private promptSlots = 0;
  private next = 0;
  private keyMask: Tensor | null = null;
  private readonly maxPositions: number;

  constructor(
    private readonly b: Backend,
    private readonly ledger: MemoryLedger,
    config: DecoderConfig,
    readonly batch: number,
    readonly capacity: number,
  ) {
    if (!(Number.isInteger(batch) && batch >= 1)) throw new RangeError(`a KV cache needs a batch of ≥ 1 sequences, got ${batch}`);
    if (!(Number.isInteger(capacity) && capacity >= 1))
      throw new RangeError(`a KV cache needs room for ≥ 1 token per sequence, got ${capacity}`);
    this.maxPositions = config.maxPositions;
    const shape = [batch, capacity, config.kvHeads * config.headDim];
    ledger.within('activations', () => {
      for (let l = 0; l < config.layers; l++) {
        this.keys.push(b.zeros(shape));
        this.values.push(b.zeros(shape));
      }
    });
  }

  /** Slots written so far (the same for every sequence). */
  get filled(): number {
    return this.next;
  }

  /**
   * The next T tokens' slots and positions: the first call takes the prompts (T = T0, `lengths` their
   * real tokens, default T each), every later one a single token per sequence.
   */
  begin(T: number, lengths?: ArrayLike<number>): CacheStep {
    const B = this.batch;
    const prompts = this.lengths === null;
    const real = prompts ? Array.from(lengths ?? Array<number>(B).fill(T)) : this.lengths!;
    if (prompts) {
      if (real.length !== B) throw new RangeError(`lengths has ${real.length} entries for ${B} sequences`);
      const bad = real.findIndex((n) => !(Number.isInteger(n) && n >= 1 && n <= T));
      if (bad >= 0) throw new RangeError(`lengths[${bad}] = ${real[bad]} must be an integer in [1, ${T}]`);
    } else if (T !== 1 || lengths) {
      throw new RangeError(`after the prompts a KV cache takes one token per sequence (shape [${B}, 1]), got ${T}`);
    }
    const start = this.next;
    if (start + T > this.capacity) {
      throw new RangeError(
        `the KV cache holds ${this.capacity} tokens per sequence and ${start} are in: ${T} more do not fit (make it larger)`,
      );
    }
    const promptSlots = prompts ? T : this.promptSlots;
    const positions = Uint32Array.from({ length: B * T }, (_, i) => {
      const [s, t] = [Math.floor(i / T), start + (i % T)];
      return t < promptSlots ? t : real[s]! + t - promptSlots;
    });
    const last = positions.reduce((a, p) => Math.max(a, p), 0);
    if (last >= this.maxPositions) {
      throw new RangeError(
        `token position ${last} is past the model's ${this.maxPositions} positions: shorten the prompt or generate fewer tokens`,
      );
    }
    if (prompts) {
      this.lengths = real;
      this.promptSlots = T;
      if (real.some((n) => n < T)) this.keyMask = this.ledger.within('activations', () => this.paddingMask(real, T));
    }
    const scatter = new Uint32Array(B * this.capacity).fill(B * T);
    for (let s = 0; s < B; s++) for (let t = 0; t < T; t++) scatter[s * this.capacity + start + t] = s * T + t;
    const upload = this.ledger.within('scratch', () => this.b.upload(scatter, [B, this.capacity], 'u32'));
    return { B, T, start, positions, scatter: upload, rope: null };
  }

  /** Attention of a step's queries over the cache (causal from slot `start`, the prompts' padding masked). */
  attentionOptions(step: CacheStep, kvHeads: number): AttentionOptions {
    return { causal: true, kvHeads, offset: step.start, ...(this.keyMask && { keyMask: this.keyMask }) };
  }

  /** Writes layer l's keys and values of a step (B·T·KV·D elements each, row (b, t) in order). */
  write(l: number, keys: Tensor, values: Tensor, step: CacheStep): void {
    const b = this.b;
    const width = this.keys[l]!.shape[2]!;
    this.ledger.within('scratch', () => {
      const [rows, tmp] = [b.zeros([step.B * step.T, width]), b.zeros(this.keys[l]!.shape)];
      for (const [src, cache] of [
        [keys, this.keys[l]!],
        [values, this.values[l]!],
      ] as const) {
        b.copy(src, rows);
        b.embed(step.scatter, rows, tmp);
        b.addInto(cache, tmp);
      }
      b.free(rows);
      b.free(tmp);
    });
  }

  /** Ends a step: its slots count as written. */
  end(step: CacheStep): void {
    this.b.free(step.scatter);
    if (step.rope) for (const t of [step.rope.cos, step.rope.sin]) this.b.free(t);
    this.next = step.start + step.T;
  }

  /** Frees the cache's tensors. */
  dispose(): void {
    for (const t of [...this.keys, ...this.values, ...(this.keyMask ? [this.keyMask] : [])]) this.b.free(t);
    this.keys.length = 0;
    this.values.length = 0;
    this.keyMask = null;
  }

  /** u32 [B, capacity]: 0 on the padding slots L_b … T0−1, 1 elsewhere. */
  private paddingMask(lengths: number[], T0: number): Tensor {
    const mask = new Uint32Array(this.batch * this.capacity).fill(1);
    lengths.forEach((n, s) => mask.fill(0, s * this.capacity + n, s * this.capacity + T0));
    return this.b.upload(mask, [this.batch, this.capacity], 'u32');
  }
}
