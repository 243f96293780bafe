// What an image file claims before anything is decoded: its format (by content, checked against the
// file's extension), width, height and sample depth, so that empty, mislabelled, 0×0, oversized or
// unsupported files are refused before a decoder allocates anything.
//   PNG: 8-byte signature, then the IHDR chunk (length 13): width u32 BE, height u32 BE, bit depth,
//        colour type, compression 0, filter 0, interlace 0/1. Valid depths per colour type:
//        0 gray 1/2/4/8/16, 2 RGB 8/16, 3 palette 1/2/4/8, 4 gray+alpha 8/16, 6 RGBA 8/16.
//   JPEG: FF D8, then marker segments up to the frame header SOF0/1/2 (baseline, extended,
//        progressive Huffman): precision 8, height u16 BE (0 = DNL, unsupported), width u16 BE,
//        components 1, 3 or 4. Lossless and arithmetic-coded frames are refused.

export type ImageFormat = 'png' | 'jpeg';

export interface ImageHeader {
  format: ImageFormat;
  width: number;
  height: number;
  /** bits per sample as declared (PNG bit depth, JPEG precision) */
  depth: number;
}

/** A file that cannot be used, with the reason; `file` is the name given to the reader. */
export class ImageFileError extends Error {
  override name = 'ImageFileError';
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`${file}: ${reason}`);
  }
}

/** Pixel limit (width × height) when none is given: 40 megapixels. */
export const DEFAULT_MAX_PIXELS = 40_000_000;

const EXTENSIONS: Record<string, ImageFormat> = { png: 'png', jpg: 'jpeg', jpeg: 'jpeg', jpe: 'jpeg', jfif: 'jpeg' };
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const PNG_DEPTHS: Record<number, number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };

/** The format a file name promises, or null for other extensions. */
export function formatOfName(file: string): ImageFormat | null {
  const dot = file.lastIndexOf('.');
  return dot < 0 ? null : (EXTENSIONS[file.slice(dot + 1).toLowerCase()] ?? null);
}

/** The format the bytes hold (by signature), or null. */
export function sniffFormat(b: Uint8Array): ImageFormat | null {
  if (b.length >= 8 && PNG_SIGNATURE.every((v, i) => b[i] === v)) return 'png';
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  return null;
}

const u16 = (b: Uint8Array, i: number) => (b[i] << 8) | b[i + 1];
const u32 = (b: Uint8Array, i: number) => ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0;

function pngHeader(b: Uint8Array, file: string): ImageHeader {
  const bad = (reason: string) => new ImageFileError(file, `PNG ${reason}`);
  if (b.length < 33) throw bad(`truncated: ${b.length} bytes, shorter than the signature and IHDR chunk (33)`);
  const type = String.fromCharCode(b[12], b[13], b[14], b[15]);
  if (type !== 'IHDR' || u32(b, 8) !== 13) throw bad(`has no IHDR chunk first (found "${type}", length ${u32(b, 8)})`);
  const [width, height, depth, colour] = [u32(b, 16), u32(b, 20), b[24], b[25]];
  const depths = PNG_DEPTHS[colour];
  if (!depths) throw bad(`colour type ${colour} is not a PNG colour type (0, 2, 3, 4, 6)`);
  if (!depths.includes(depth))
    throw bad(`bit depth ${depth} is not supported for colour type ${colour} (allowed: ${depths.join(', ')})`);
  if (b[26] !== 0 || b[27] !== 0) throw bad(`compression ${b[26]} / filter ${b[27]} method is not 0`);
  if (b[28] > 1) throw bad(`interlace method ${b[28]} is not 0 or 1`);
  return { format: 'png', width, height, depth };
}

function jpegHeader(b: Uint8Array, file: string): ImageHeader {
  const bad = (reason: string) => new ImageFileError(file, `JPEG ${reason}`);
  let i = 2;
  for (;;) {
    while (i < b.length && b[i] === 0xff && b[i + 1] === 0xff) i++; // fill bytes
    if (i + 1 >= b.length) throw bad(`truncated before its frame header (${b.length} bytes)`);
    if (b[i] !== 0xff) throw bad(`garbage at byte ${i} (0x${b[i].toString(16).padStart(2, '0')}) where a marker should start`);
    const m = b[i + 1];
    if (m === 0x01 || (m >= 0xd0 && m <= 0xd7)) {
      i += 2; // standalone markers
      continue;
    }
    if (m === 0xd9) throw bad('ends (EOI) before any frame header');
    if (m === 0xda) throw bad('has a scan (SOS) before any frame header');
    if (i + 3 >= b.length) throw bad(`truncated in the segment at byte ${i}`);
    const len = u16(b, i + 2);
    if (len < 2) throw bad(`segment 0x${m.toString(16)} at byte ${i} has length ${len}`);
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
      if (m > 0xc2) throw bad(`frame type SOF${m - 0xc0} (lossless or arithmetic-coded) is not supported`);
      if (i + 9 >= b.length) throw bad('truncated in its frame header');
      const [depth, height, width, components] = [b[i + 4], u16(b, i + 5), u16(b, i + 7), b[i + 9]];
      if (depth !== 8) throw bad(`sample precision ${depth} bits is not supported (8 only)`);
      if (height === 0 && width !== 0) throw bad('declares its height later (DNL marker), which is not supported');
      if (![1, 3, 4].includes(components)) throw bad(`${components} colour components are not supported (1, 3 or 4)`);
      return { format: 'jpeg', width, height, depth };
    }
    i += 2 + len;
  }
}

/**
 * The header of an image file, or an ImageFileError naming the file and the reason: empty, not PNG
 * or JPEG, content not matching the extension, malformed or unsupported header, zero size, or more
 * than `maxPixels` pixels (refused before any pixel memory is allocated).
 */
export function readImageHeader(bytes: Uint8Array, file: string, maxPixels = DEFAULT_MAX_PIXELS): ImageHeader {
  const named = formatOfName(file);
  const dot = file.lastIndexOf('.');
  if (!named)
    throw new ImageFileError(
      file,
      `not an image file name (extension "${dot < 0 ? '' : file.slice(dot)}"; .png, .jpg and .jpeg are read)`,
    );
  if (bytes.length === 0) throw new ImageFileError(file, 'empty file (0 bytes)');
  const format = sniffFormat(bytes);
  if (!format)
    throw new ImageFileError(
      file,
      `not a PNG or JPEG file (first bytes ${Array.from(bytes.subarray(0, 8), (v) => v.toString(16).padStart(2, '0')).join(' ')})`,
    );
  if (format !== named)
    throw new ImageFileError(file, `holds ${format.toUpperCase()} data but is named as ${named.toUpperCase()} (wrong extension)`);
  const h = format === 'png' ? pngHeader(bytes, file) : jpegHeader(bytes, file);
  if (h.width === 0 || h.height === 0) throw new ImageFileError(file, `declares a ${h.width}×${h.height} image (no pixels)`);
  if (h.width * h.height > maxPixels) {
    throw new ImageFileError(
      file,
      `declares ${h.width}×${h.height} = ${((h.width * h.height) / 1e6).toFixed(1)} megapixels, over the limit of ${(maxPixels / 1e6).toFixed(1)} (option maxPixels); refused before decoding`,
    );
  }
  return h;
}
