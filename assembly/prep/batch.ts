// One batch of model inputs from uint8 images: for each image b of images [B, C, H, W] u8
//   fromBytes → resize to [C, outH, outW] (skipped when the size is kept) → grayToRgb when C = 1
//   and outC = 3 → normalize → patchify into out[b] = [(outH/p)·(outW/p), outC·p·p] f32.
// mean, std: f64[outC]. Scratch: batchScratchBytes(); every region is 16-byte aligned.

import { fromBytes, grayToRgb, normalize } from './pixels';
import { patchify } from './patchify';
import { resize, resizeScratchBytes } from './resize';

// @ts-ignore: decorator
@inline function align(bytes: usize): usize {
  return (bytes + 15) & ~(<usize>15);
}

export function batchScratchBytes(C: i32, H: i32, W: i32, outC: i32, outH: i32, outW: i32, antialias: i32): usize {
  const n = <usize>outH * <usize>outW;
  return align(<usize>C * <usize>H * <usize>W << 2) + align(<usize>C * n << 2) + align(<usize>outC * n << 2)
    + resizeScratchBytes(H, W, outH, outW, antialias);
}

export function prepareBatch(
  images: usize, B: i32, C: i32, H: i32, W: i32, outC: i32, outH: i32, outW: i32, p: i32,
  mean: usize, std: usize, antialias: i32, out: usize, scratch: usize,
): void {
  const inN = <usize>H * <usize>W;
  const n = <usize>outH * <usize>outW;
  const planeIn = scratch;
  const planeSized = planeIn + align(<usize>C * inN << 2);
  const planeOut = planeSized + align(<usize>C * n << 2);
  const resizeScratch = planeOut + align(<usize>outC * n << 2);
  const per = <usize>outC * n << 2;
  for (let b = 0; b < B; b++) {
    fromBytes(images + <usize>b * <usize>C * inN, C * <i32>inN, planeIn);
    let x = planeIn;
    if (outH != H || outW != W) {
      resize(planeIn, C, H, W, planeSized, outH, outW, antialias, resizeScratch);
      x = planeSized;
    }
    if (outC != C) {
      grayToRgb(x, <i32>n, planeOut);
      x = planeOut;
    }
    normalize(x, outC, <i32>n, mean, std);
    patchify(x, outC, outH, outW, p, out + <usize>b * per);
  }
}
