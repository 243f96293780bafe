// Training data as the trainer reads it (samples by index), and the seeded order it reads them in.

import { rng } from './random.js';

/** Samples by index: inputs [n, ...sampleShape] and labels in [0, classes). */
export interface Dataset {
  readonly size: number;
  readonly sampleShape: readonly number[];
  get(indices: readonly number[]): { inputs: Float32Array; labels: Uint32Array };
}

/** A seeded permutation of 0..n−1 (Fisher–Yates). */
export function shuffled(n: number, seed: number): number[] {
  const next = rng(seed);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}
