// What the worker trains on: the base model (the embedded ViT or a dropped .safetensors + config.json),
// and the images (the built-in MNIST asset, or a dropped folder with one sub-folder per class), split
// into training and validation sets.

import {
  blobFolder,
  embeddedCheckpoint,
  type Geometry,
  type ImagePrep,
  type LabeledImages,
  loadCheckpoint,
  type LoadedCheckpoint,
  loadImageFolderFiles,
  mnistSet,
  shuffled,
} from 'snell-js';
import type { PathFile } from './protocol.js';

export interface Images {
  name: string;
  classes: readonly string[];
  images: LabeledImages;
  train: number[];
  val: number[];
  /** A held-out test set (the built-in data's 1000 MNIST test images), or null. */
  test: LabeledImages | null;
}

/** The embedded ViT, or the picked files: one .safetensors and (optionally) its config.json. */
export async function loadBase(files: File[] | null): Promise<LoadedCheckpoint> {
  if (!files) return loadCheckpoint(embeddedCheckpoint(), { seed: 0 });
  const weights = files.filter((f) => f.name.endsWith('.safetensors'));
  const config = files.find((f) => f.name.endsWith('.json'));
  if (weights.length !== 1) throw new Error(`pick exactly one .safetensors file (with its config.json); got ${weights.length}`);
  const named: Record<string, Blob> = { 'model.safetensors': weights[0] };
  if (config) named['config.json'] = config;
  return loadCheckpoint(blobFolder(named, weights[0].name), { seed: 0 });
}

const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);

/** The built-in set (web/build-data.mjs): MNIST's VTAB-1k 1000 (800 train, then 200 val) and 1000 test images. */
export async function loadBuiltin(): Promise<Images> {
  const get = async (name: string) => {
    const r = await fetch(new URL(`./data/${name}`, import.meta.url));
    if (!r.ok) throw new Error(`the built-in data file data/${name} is missing (HTTP ${r.status}): run npm run web:build`);
    return new Uint8Array(await r.arrayBuffer());
  };
  const [trainImages, trainLabels, testImages, testLabels] = await Promise.all(
    ['vtab1k-images.idx', 'vtab1k-labels.idx', 'test-images.idx', 'test-labels.idx'].map(get),
  );
  const set = mnistSet({ trainImages, trainLabels, testImages, testLabels });
  return {
    name: 'MNIST (VTAB-1k)',
    classes: set.classes,
    images: set.train,
    train: range(0, 800),
    val: range(800, 1000),
    test: set.test,
  };
}

/** A dropped folder: a seeded 80/20 split into training and validation images. */
export async function loadFolder(
  files: PathFile[],
  prep: ImagePrep,
  g: Geometry,
  onSkip: (text: string) => void,
): Promise<Images> {
  // Structured cloning drops webkitRelativePath: give the reader the path it looks for.
  const withPaths = files.map(
    ({ path, file }) => ({ name: path, webkitRelativePath: path, arrayBuffer: () => file.arrayBuffer() }) as unknown as File,
  );
  const images = await loadImageFolderFiles(withPaths, prep, {
    size: g.size,
    channels: g.channels,
    onSkip: (s) => onSkip(`skipped ${s.file}: ${s.reason}`),
  });
  if (images.classes.length < 2) throw new Error('the folder needs at least two sub-folders of images, one per class');
  if (images.count < 2) throw new Error('the folder has fewer than two usable images');
  const order = shuffled(images.count, 0);
  const nVal = Math.max(1, Math.round(images.count * 0.2));
  return {
    name: files[0]?.path.split('/')[0] ?? 'folder',
    classes: images.classes,
    images,
    train: order.slice(nVal),
    val: order.slice(0, nVal),
    test: null,
  };
}
