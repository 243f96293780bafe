// What the layers of one decoder forward pass share, and the layer interface both arches implement.

import type { AttentionOptions, Backend, Tensor } from '../../backend.js';
import type { Linear } from '../linear.js';
import type { CacheStep, KvCache } from './kv-cache.js';

export interface Sequence {
  B: number;
  T: number;
  /** u32 [B, T]: 1 = real token, 0 = right padding; null when every token is real. */
  keyMask: Tensor | null;
  /** RoPE tables [P, D/2] (LLaMA family), or null. */
  rope: { cos: Tensor; sin: Tensor } | null;
}

export interface DecoderLayer {
  /** The layer's projections in their arch's order (config.ts PROJECTIONS). */
  readonly linears: readonly Linear[];
  /** y [B, T, E] for x [B, T, E]; with `keep`, activations stay for backward (x is kept, not copied). */
  forward(x: Tensor, seq: Sequence, keep: boolean): Tensor;
  /**
   * Inference with a KV cache: y [B, T, E] for the step's tokens x [B, T, E], attending everything the
   * cache holds; writes this layer's (l's) keys and values of the step into it. Keeps nothing.
   */
  decode(x: Tensor, cache: KvCache, l: number, step: CacheStep): Tensor;
  /** dx from dy; sets the branches' gradients (and accumulates trainable norms'); frees the kept activations. */
  backward(dy: Tensor): Tensor;
  release(): void;
}

/** Causal attention over the real keys of each sequence. */
export function attentionOptions(seq: Sequence, kvHeads: number): AttentionOptions {
  return { causal: true, kvHeads, ...(seq.keyMask && { keyMask: seq.keyMask }) };
}

/** acc += part, then part is freed (the sum of a layer input's gradients from its several consumers). */
export function addFrom(b: Backend, acc: Tensor, part: Tensor): void {
  b.addInto(acc, part);
  b.free(part);
}
