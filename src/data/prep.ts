// CPU data preparation on build/prep.wasm (assembly/prep/): resize, grayscale → 3 channels,
// normalise, patchify, seeded shuffle, whole batches.
//
// Images are planar uint8, [n, C, H, W] with C = 1 or 3 (the ImageSet layout of images.ts);
// decoders' interleaved RGBA is converted at load (folder.ts). A batch is
//   [B, (outH/p)·(outW/p), outC·p·p] f32, each patch flattened (c, ky, kx),
// computed per image as u8 → f32 (0..255) → resize to outH×outW (torchvision Resize, bilinear,
// antialiased when downscaling; skipped when the size is kept) → replicate a gray plane when
// outC = 3 → (x/255 − mean_c)/std_c in float32 steps, as torchvision's ToTensor + Normalize (a few
// ulps from PatchDataset's float64) → patches. The resize runs on floats (Resize after ToTensor);
// resizeBytes() rounds half to even back to u8 (a stored copy; torch's own uint8 Resize uses
// fixed-point weights and may differ by 1).
// permutation(n, seed) is Fisher–Yates with mulberry32: the same order as `shuffled` (trainer.ts).
//
// Memory: each call lays its buffers out from heapBase() upward (nothing persists between calls)
// and grows the module's memory when they do not fit.

import prepBytes from '../../build/prep.wasm';
import { instantiate, type WasmSource } from '../wasm/instance.js';

interface PrepExports {
  readonly memory: WebAssembly.Memory;
  heapBase(): number;
  resizeScratchBytes(H: number, W: number, outH: number, outW: number, antialias: number): number;
  resize(
    src: number,
    C: number,
    H: number,
    W: number,
    dst: number,
    outH: number,
    outW: number,
    antialias: number,
    scratch: number,
  ): void;
  fromBytes(src: number, n: number, dst: number): void;
  toBytes(src: number, n: number, dst: number): void;
  shuffle(a: number, n: number, seed: number): void;
  batchScratchBytes(C: number, H: number, W: number, outC: number, outH: number, outW: number, antialias: number): number;
  prepareBatch(
    images: number,
    B: number,
    C: number,
    H: number,
    W: number,
    outC: number,
    outH: number,
    outW: number,
    p: number,
    mean: number,
    std: number,
    antialias: number,
    out: number,
    scratch: number,
  ): void;
}

/** ImageNet channel statistics (torchvision / timm defaults), on the 0..1 scale. */
export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

/** Uint8 planar images with labels: ImageSet (images.ts) with labels of any width and class names. */
export interface LabeledImages {
  count: number;
  channels: number;
  height: number;
  width: number;
  /** [count, channels, height, width] */
  pixels: Uint8Array;
  labels: ArrayLike<number>;
  classes?: readonly string[];
}

export interface PrepOptions {
  /** Patch side p; the output size must be a multiple of it. */
  patch: number;
  /** Output size: n for n×n (like Resize((n, n)), not Resize(n)) or [height, width]; default the source size. */
  size?: number | readonly [number, number];
  /** 1 or 3 (a gray source is replicated); default the source's. A colour source cannot become gray here. */
  channels?: 1 | 3;
  /** Per-channel mean and std on the 0..1 scale; default ImageNet's for 3 channels, 0.5 and 0.5 for 1. */
  mean?: readonly number[];
  std?: readonly number[];
  /** Antialias when downscaling (torchvision ≥ 0.17 default); default true. */
  antialias?: boolean;
}

export interface Prep {
  patch: number;
  height: number;
  width: number;
  channels: number;
  mean: readonly number[];
  std: readonly number[];
  antialias: boolean;
}

export class PrepError extends Error {
  override name = 'PrepError';
}

/** Fills in the defaults of `o` for a source of the given shape and checks them. */
export function resolvePrep(source: { channels: number; height: number; width: number }, o: PrepOptions): Prep {
  const [height, width] =
    o.size === undefined ? [source.height, source.width] : typeof o.size === 'number' ? [o.size, o.size] : o.size;
  const channels = o.channels ?? source.channels;
  const { patch: p } = o;
  if (source.channels !== 1 && source.channels !== 3)
    throw new PrepError(`images have ${source.channels} channels; 1 or 3 are supported`);
  if (channels !== source.channels && !(source.channels === 1 && channels === 3)) {
    throw new PrepError(`cannot turn ${source.channels}-channel images into ${channels}: load them with channels: ${channels}`);
  }
  if (!(Number.isInteger(p) && p > 0)) throw new PrepError(`patch size ${p} must be a positive integer`);
  if (!(Number.isInteger(height) && Number.isInteger(width) && height > 0 && width > 0))
    throw new PrepError(`image size ${height}×${width} must be positive integers`);
  if (height % p || width % p)
    throw new PrepError(`a ${height}×${width} image does not split into ${p}×${p} patches (choose size a multiple of ${p})`);
  const mean = o.mean ?? (channels === 3 ? IMAGENET_MEAN : [0.5]);
  const std = o.std ?? (channels === 3 ? IMAGENET_STD : [0.5]);
  if (mean.length !== channels || std.length !== channels)
    throw new PrepError(`mean and std need ${channels} values each (got ${mean.length} and ${std.length})`);
  if (std.some((s) => !(s > 0))) throw new PrepError(`std [${std.join(', ')}] must be positive`);
  return { patch: p, height, width, channels, mean, std, antialias: o.antialias ?? true };
}

/** The shape of one prepared sample: [patches, C·p·p]. */
export function sampleShape(p: Prep): [number, number] {
  return [(p.height / p.patch) * (p.width / p.patch), p.channels * p.patch * p.patch];
}

const PAGE = 65536;
const MAX_BYTES = 2 ** 32;
const align = (n: number) => Math.ceil(n / 16) * 16;

export class ImagePrep {
  private readonly base: number;

  private constructor(private readonly x: PrepExports) {
    this.base = x.heapBase() >>> 0;
  }

  /** From the module's bytes or, where the runtime compiles none at run time (the edge), the module itself. */
  static async create(source: WasmSource = prepBytes): Promise<ImagePrep> {
    return new ImagePrep((await instantiate(source, {})).exports as unknown as PrepExports);
  }

  /** Offsets of consecutive 16-aligned regions of the given byte sizes, growing memory to fit. */
  private layout(...sizes: number[]): number[] {
    let end = this.base;
    const offsets = sizes.map((s) => {
      const at = end;
      end += align(s);
      return at;
    });
    const { memory } = this.x;
    if (end > MAX_BYTES)
      throw new PrepError(`data preparation needs ${end} bytes of wasm memory, over the 4 GiB limit: use smaller batches`);
    const have = memory.buffer.byteLength;
    if (end > have) memory.grow(Math.ceil((end - have) / PAGE));
    return offsets;
  }

  private u8(off: number, n: number): Uint8Array {
    return new Uint8Array(this.x.memory.buffer, off, n);
  }

  private f32(off: number, n: number): Float32Array {
    return new Float32Array(this.x.memory.buffer, off, n);
  }

  /** One image [C, H, W] (u8, or f32 on the 0..255 scale) resized to [C, outH, outW] f32. */
  resize(
    pixels: Uint8Array | Float32Array,
    C: number,
    H: number,
    W: number,
    outH: number,
    outW: number,
    antialias = true,
  ): Float32Array {
    const n = C * H * W;
    if (pixels.length !== n) throw new PrepError(`${pixels.length} values do not form a [${C}, ${H}, ${W}] image`);
    const outN = C * outH * outW;
    const aa = antialias ? 1 : 0;
    const [src, raw, dst, scratch] = this.layout(4 * n, n, 4 * outN, this.x.resizeScratchBytes(H, W, outH, outW, aa) >>> 0);
    if (pixels instanceof Uint8Array) {
      this.u8(raw, n).set(pixels);
      this.x.fromBytes(raw, n, src);
    } else this.f32(src, n).set(pixels);
    this.x.resize(src, C, H, W, dst, outH, outW, aa, scratch);
    return this.f32(dst, outN).slice();
  }

  /** As resize(), rounded half to even and clamped to u8. */
  resizeBytes(pixels: Uint8Array, C: number, H: number, W: number, outH: number, outW: number, antialias = true): Uint8Array {
    if (H === outH && W === outW) return pixels.slice();
    const f = this.resize(pixels, C, H, W, outH, outW, antialias);
    const [src, dst] = this.layout(4 * f.length, f.length);
    this.f32(src, f.length).set(f);
    this.x.toBytes(src, f.length, dst);
    return this.u8(dst, f.length).slice();
  }

  /**
   * The inputs of images[indices]: [B, patches, C·p·p] f32 (see the header), written into `out` when
   * given (reusing one array spares the page faults of a fresh large allocation), else a new array.
   */
  batch(images: LabeledImages, indices: readonly number[], p: Prep, out?: Float32Array): Float32Array {
    const { channels: C, height: H, width: W } = images;
    const B = indices.length;
    const per = C * H * W;
    const outPer = p.channels * p.height * p.width;
    const aa = p.antialias ? 1 : 0;
    const scratchBytes = this.x.batchScratchBytes(C, H, W, p.channels, p.height, p.width, aa) >>> 0;
    if (out && out.length !== B * outPer)
      throw new PrepError(`the output array holds ${out.length} values, the batch needs ${B * outPer}`);
    const [imgs, mean, std, dst, scratch] = this.layout(B * per, 8 * p.channels, 8 * p.channels, 4 * B * outPer, scratchBytes);
    const mem = this.u8(imgs, B * per);
    indices.forEach((k, b) => {
      if (!(Number.isInteger(k) && k >= 0 && k < images.count))
        throw new PrepError(`image index ${k} is outside 0..${images.count - 1}`);
      mem.set(images.pixels.subarray(k * per, (k + 1) * per), b * per);
    });
    new Float64Array(this.x.memory.buffer, mean, p.channels).set(p.mean);
    new Float64Array(this.x.memory.buffer, std, p.channels).set(p.std);
    this.x.prepareBatch(imgs, B, C, H, W, p.channels, p.height, p.width, p.patch, mean, std, aa, dst, scratch);
    const result = this.f32(dst, B * outPer);
    if (!out) return result.slice();
    out.set(result);
    return out;
  }

  /** A seeded permutation of 0..n−1 (the same as `shuffled(n, seed)`). */
  permutation(n: number, seed: number): Uint32Array {
    const [a] = this.layout(4 * n);
    const view = new Uint32Array(this.x.memory.buffer, a, n);
    for (let i = 0; i < n; i++) view[i] = i;
    this.x.shuffle(a, n, seed >>> 0);
    return view.slice();
  }
}
