// A Dataset (core/dataset.ts) over uint8 images in memory: get(indices) prepares the batch on
// build/prep.wasm (prep.ts) with a configurable size, channels, normalisation and patch size:
//   inputs [B, (H/p)·(W/p), C·p·p] f32, labels [B] u32.

import type { Dataset } from '../core/dataset.js';
import { type ImagePrep, type LabeledImages, type Prep, type PrepOptions, PrepError, resolvePrep, sampleShape } from './prep.js';

/** Images and the subset of them a split serves. */
export interface ImageView {
  images: LabeledImages;
  indices: readonly number[];
}

export class ImageDataset implements Dataset {
  readonly size: number;
  readonly sampleShape: readonly number[];
  readonly prep: Prep;

  constructor(
    private readonly engine: ImagePrep,
    readonly images: LabeledImages,
    options: PrepOptions,
    /** The image indices this dataset serves, in order (default all). */
    readonly indices: readonly number[] = Array.from({ length: images.count }, (_, i) => i),
  ) {
    this.prep = resolvePrep(images, options);
    this.size = indices.length;
    this.sampleShape = sampleShape(this.prep);
  }

  static of(engine: ImagePrep, view: ImageView, options: PrepOptions): ImageDataset {
    return new ImageDataset(engine, view.images, options, view.indices);
  }

  get classes(): readonly string[] | undefined {
    return this.images.classes;
  }

  get(batch: readonly number[]): { inputs: Float32Array; labels: Uint32Array } {
    const picked = batch.map((k) => {
      const i = this.indices[k];
      if (i === undefined) throw new PrepError(`sample ${k} is outside this dataset's 0..${this.size - 1}`);
      return i;
    });
    const labels = Uint32Array.from(picked, (i) => this.images.labels[i]);
    return { inputs: this.engine.batch(this.images, picked, this.prep), labels };
  }
}
