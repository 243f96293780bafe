// An image classification set in memory (uint8 pixels, [n, C, H, W]) served as ViT patches:
// each image is normalised ((x/255 − mean_c)/std_c) and cut into non-overlapping p×p patches in
// row-major grid order, each patch flattened as (c, ky, kx), the order of a flattened Conv2d weight
// [D, C, p, p], so patches·Wᵀ equals timm's patch embedding.

import type { Dataset } from '../core/dataset.js';

export interface ImageSet {
  count: number;
  channels: number;
  height: number;
  width: number;
  pixels: Uint8Array;
  labels: Uint8Array;
}

export class PatchDataset implements Dataset {
  readonly size: number;
  readonly sampleShape: readonly number[];
  private readonly patchDim: number;

  constructor(
    private readonly set: ImageSet,
    private readonly patch: number,
    private readonly mean: readonly number[],
    private readonly std: readonly number[],
    /** The subset of image indices this dataset serves (default all). */
    private readonly indices: readonly number[] = Array.from({ length: set.count }, (_, i) => i),
  ) {
    if (set.height % patch || set.width % patch)
      throw new Error(`a ${set.height}×${set.width} image does not split into ${patch}×${patch} patches`);
    this.size = indices.length;
    this.patchDim = set.channels * patch * patch;
    this.sampleShape = [(set.height / patch) * (set.width / patch), this.patchDim];
  }

  get(batch: readonly number[]): { inputs: Float32Array; labels: Uint32Array } {
    const { channels: C, height: H, width: W, pixels } = this.set;
    const p = this.patch;
    const per = this.sampleShape[0] * this.patchDim;
    const inputs = new Float32Array(batch.length * per);
    const labels = new Uint32Array(batch.length);
    batch.forEach((k, n) => {
      const img = this.indices[k];
      labels[n] = this.set.labels[img];
      let o = n * per;
      for (let gy = 0; gy < H / p; gy++) {
        for (let gx = 0; gx < W / p; gx++) {
          for (let c = 0; c < C; c++) {
            for (let ky = 0; ky < p; ky++) {
              for (let kx = 0; kx < p; kx++) {
                const v = pixels[((img * C + c) * H + gy * p + ky) * W + gx * p + kx];
                inputs[o++] = (v / 255 - this.mean[c]) / this.std[c];
              }
            }
          }
        }
      }
    });
    return { inputs, labels };
  }
}
