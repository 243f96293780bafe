// Seeded test inputs for the float64 references and the backend tests.

import { rng } from '../core/random.js';

/** `size` float32 values uniform in [lo, hi). */
export function uniform(size: number, seed: number, lo = -1, hi = 1): Float32Array {
  const next = rng(seed);
  return Float32Array.from({ length: size }, () => lo + (hi - lo) * next());
}
