// An image-classification folder: one sub-folder per class (names sorted: label = rank, as
// torchvision's ImageFolder), PNG and JPEG files inside. Host-neutral: the entries come from a file
// system (folder-tree.ts) or a browser's file list (runtimes/browser/image-folder.ts), and the host
// supplies the decoder (decoder.ts).
// Every image is checked (image-header.ts; PNG chunks and CRCs by png-chunks.ts), decoded to interleaved 8-bit samples, converted to
//   planar [C, h, w]: C = 3 drops alpha and replicates gray; C = 1 takes gray as is and converts
//   colour with PIL's "L" luma ((19595 R + 38470 G + 7471 B + 2^15) >> 16)
// and resized to the stored size [C, H, W] u8 (prep.ts resizeBytes: bilinear, antialiased when
// downscaling, rounded half to even). A file that cannot be used is reported through onSkip with
// its name and the reason, counted in `skipped`, and left out; nothing is dropped silently.

import type { DecodedImage, ImageDecoder } from './decoder.js';
import { DEFAULT_MAX_PIXELS, ImageFileError, readImageHeader } from './image-header.js';
import { checkPngChunks } from './png-chunks.js';
import type { ImagePrep, LabeledImages } from './prep.js';

export interface FolderEntry {
  /** the class (sub-folder) name */
  label: string;
  /** the name reports use (a path relative to the folder) */
  file: string;
  read(): Promise<Uint8Array>;
}

export interface SkippedFile {
  file: string;
  reason: string;
}

export interface FolderOptions {
  /** Stored size: n for n×n or [height, width]. */
  size: number | readonly [number, number];
  /** Stored channels, 3 (default) or 1. */
  channels?: 1 | 3;
  antialias?: boolean;
  /** Files declaring more pixels are refused before decoding (default 40 megapixels). */
  maxPixels?: number;
  /** Called for each file left out (default: console.warn). */
  onSkip?: (s: SkippedFile) => void;
}

export interface FolderImages extends LabeledImages {
  classes: readonly string[];
  labels: Uint32Array;
  /** the file of each image */
  files: string[];
  /** files left out, with reasons */
  skipped: SkippedFile[];
  /** classes without a usable image */
  emptyClasses: string[];
}

/** Planar [C, h, w] from interleaved samples (see the header for the conversions). */
export function toPlanar(d: DecodedImage, C: 1 | 3): Uint8Array {
  const n = d.width * d.height;
  const { data, channels: k } = d;
  const out = new Uint8Array(C * n);
  const colour = k >= 3;
  for (let i = 0; i < n; i++) {
    const s = i * k;
    if (C === 1) out[i] = colour ? (19595 * data[s] + 38470 * data[s + 1] + 7471 * data[s + 2] + 0x8000) >>> 16 : data[s];
    else {
      out[i] = data[s];
      out[n + i] = data[colour ? s + 1 : s];
      out[2 * n + i] = data[colour ? s + 2 : s];
    }
  }
  return out;
}

export async function loadFolderEntries(
  entries: readonly FolderEntry[],
  classes: readonly string[],
  decode: ImageDecoder,
  prep: ImagePrep,
  o: FolderOptions,
): Promise<FolderImages> {
  const [H, W] = typeof o.size === 'number' ? [o.size, o.size] : o.size;
  const C = o.channels ?? 3;
  const per = C * H * W;
  const onSkip = o.onSkip ?? ((s: SkippedFile) => console.warn(`snell: skipped ${s.file}: ${s.reason}`));
  const classIndex = new Map(classes.map((c, i) => [c, i]));
  const pixels = new Uint8Array(entries.length * per);
  const labels: number[] = [];
  const files: string[] = [];
  const skipped: SkippedFile[] = [];
  for (const e of entries) {
    try {
      const label = classIndex.get(e.label);
      if (label === undefined) throw new ImageFileError(e.file, `is not inside a class folder (${classes.join(', ')})`);
      const bytes = await e.read();
      const header = readImageHeader(bytes, e.file, o.maxPixels ?? DEFAULT_MAX_PIXELS);
      if (header.format === 'png') checkPngChunks(bytes, e.file);
      let img: DecodedImage;
      try {
        img = await decode(bytes, e.file, header);
      } catch (err) {
        const eoi = header.format === 'jpeg' && !(bytes[bytes.length - 2] === 0xff && bytes[bytes.length - 1] === 0xd9);
        const hint = eoi ? ' (truncated? no end-of-image marker FF D9)' : '';
        throw new ImageFileError(
          e.file,
          `${header.format.toUpperCase()} cannot be decoded${hint}: ${(err as Error)?.message ?? String(err)}`,
        );
      }
      if (img.width !== header.width || img.height !== header.height) {
        throw new ImageFileError(
          e.file,
          `decoded to ${img.width}×${img.height}, but the header declares ${header.width}×${header.height}`,
        );
      }
      if (img.data.length < img.width * img.height * img.channels)
        throw new ImageFileError(e.file, 'decoded to fewer samples than its size holds');
      const planar = prep.resizeBytes(toPlanar(img, C), C, img.height, img.width, H, W, o.antialias ?? true);
      pixels.set(planar, labels.length * per);
      labels.push(label);
      files.push(e.file);
    } catch (err) {
      const s =
        err instanceof ImageFileError
          ? { file: err.file, reason: err.reason }
          : { file: e.file, reason: String((err as Error)?.message ?? err) };
      skipped.push(s);
      onSkip(s);
    }
  }
  const count = labels.length;
  if (count === 0)
    throw new ImageFileError('(folder)', `no usable image among ${entries.length} files (${skipped.length} skipped)`);
  const used = new Set(labels);
  return {
    count,
    channels: C,
    height: H,
    width: W,
    pixels: pixels.subarray(0, count * per),
    labels: Uint32Array.from(labels),
    classes,
    files,
    skipped,
    emptyClasses: classes.filter((_, i) => !used.has(i)),
  };
}
