// A PNG writer for 8-bit RGBA images without a compressor: the signature, IHDR (width, height, bit
// depth 8, colour type 6, no interlace), one IDAT holding a zlib stream of 'stored' deflate blocks
// (each [BFINAL | BTYPE 00] LEN NLEN then up to 65535 raw bytes) over the scanlines, each prefixed by
// filter type 0, and its Adler-32; then IEND. Every chunk ends with the CRC-32 of its type and data.
// Size: 4·w·h + h bytes of pixels, plus 5 bytes per 65535 and 57 bytes of framing.

import { crc32 } from './png-chunks.js';

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const STORED_MAX = 65535;

/** Adler-32 (RFC 1950) of `bytes`. */
export function adler32(bytes: Uint8Array): number {
  let [a, b] = [1, 0];
  // reduced every 5552 bytes (zlib's NMAX), so that both sums stay exact integers
  for (let at = 0; at < bytes.length; at += 5552) {
    const end = Math.min(bytes.length, at + 5552);
    for (let i = at; i < end; i++) {
      a += bytes[i]!;
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  return ((b << 16) | a) >>> 0;
}

/** `raw` as a zlib stream of stored deflate blocks. */
function storedZlib(raw: Uint8Array): Uint8Array {
  const blocks = Math.max(1, Math.ceil(raw.length / STORED_MAX));
  const out = new Uint8Array(2 + 5 * blocks + raw.length + 4);
  const view = new DataView(out.buffer);
  out[0] = 0x78; // deflate, 32 KiB window
  out[1] = 0x01; // no dictionary, fastest level; (0x78·256 + 0x01) % 31 = 0
  let at = 2;
  for (let k = 0; k < blocks; k++) {
    const part = raw.subarray(k * STORED_MAX, Math.min(raw.length, (k + 1) * STORED_MAX));
    out[at] = k === blocks - 1 ? 1 : 0;
    view.setUint16(at + 1, part.length, true);
    view.setUint16(at + 3, part.length ^ 0xffff, true);
    out.set(part, at + 5);
    at += 5 + part.length;
  }
  view.setUint32(at, adler32(raw));
  return out;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out, 4, 8 + data.length));
  return out;
}

/** The PNG file of an image with `rgba` [height, width, 4] (row-major, 8 bits per channel). */
export function encodePng(width: number, height: number, rgba: Uint8Array | Uint8ClampedArray): Uint8Array {
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0))
    throw new Error(`a PNG needs a whole width and height ≥ 1, got ${width}×${height}`);
  if (rgba.length !== 4 * width * height)
    throw new Error(`a ${width}×${height} RGBA image has ${4 * width * height} bytes, got ${rgba.length}`);
  const row = 4 * width;
  const raw = new Uint8Array(height * (row + 1));
  for (let y = 0; y < height; y++) raw.set(rgba.subarray(y * row, (y + 1) * row), y * (row + 1) + 1);
  const header = new Uint8Array(13);
  const hv = new DataView(header.buffer);
  hv.setUint32(0, width);
  hv.setUint32(4, height);
  header.set([8, 6, 0, 0, 0], 8);
  const parts = [
    new Uint8Array(SIGNATURE),
    chunk('IHDR', header),
    chunk('IDAT', storedZlib(raw)),
    chunk('IEND', new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
