// Train/test sources and the VTAB-1k protocol: from the training set, a seeded selection of 1000
// images (the first 1000 of `shuffled(trainCount, seed)`, Fisher–Yates with mulberry32): 800 for
// training, 200 for validation, the 1000 together for the final fit; the full test set for testing.

import { shuffled } from '../core/dataset.js';
import type { ImageView } from './dataset.js';
import type { LabeledImages } from './prep.js';

/** A data set with its official splits (test is null where there is none, e.g. a single folder). */
export interface SplitSet {
  name: string;
  classes: readonly string[];
  train: LabeledImages;
  test: LabeledImages | null;
}

export interface Vtab1k {
  /** 800 training images */
  train: ImageView;
  /** 200 validation images, disjoint from train */
  val: ImageView;
  /** train and val together (1000), for the final fit */
  trainval: ImageView;
  /** the whole test set, or null where the set has none */
  test: ImageView | null;
}

export const VTAB_TRAIN = 800;
export const VTAB_VAL = 200;

export function vtab1k(set: SplitSet, seed: number): Vtab1k {
  const n = set.train.count;
  if (n < VTAB_TRAIN + VTAB_VAL)
    throw new Error(`${set.name}: VTAB-1k needs ${VTAB_TRAIN + VTAB_VAL} training images, the set has ${n}`);
  const order = shuffled(n, seed).slice(0, VTAB_TRAIN + VTAB_VAL);
  const all = (images: LabeledImages): ImageView => ({ images, indices: Array.from({ length: images.count }, (_, i) => i) });
  return {
    train: { images: set.train, indices: order.slice(0, VTAB_TRAIN) },
    val: { images: set.train, indices: order.slice(VTAB_TRAIN) },
    trainval: { images: set.train, indices: order },
    test: set.test ? all(set.test) : null,
  };
}
