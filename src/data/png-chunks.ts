// PNG chunk walk before decoding, so that damage gets a precise reason: after the 8-byte signature,
// chunks of [length u32 BE][type, 4 ASCII letters][data][CRC-32 of type + data, u32 BE] up to IEND.
// Reports a chunk running past the end of the file (truncated), a CRC mismatch (naming the chunk and
// its offset), a missing IDAT, or no IEND.

import { ImageFileError } from './image-header.js';

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (ISO 3309, as PNG) of bytes[from, to). */
export function crc32(bytes: Uint8Array, from = 0, to = bytes.length): number {
  let c = 0xffffffff;
  for (let i = from; i < to; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export function checkPngChunks(b: Uint8Array, file: string): void {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let at = 8;
  let idat = false;
  while (at + 8 <= b.length) {
    const len = view.getUint32(at);
    const type = String.fromCharCode(b[at + 4], b[at + 5], b[at + 6], b[at + 7]);
    if (!/^[A-Za-z]{4}$/.test(type)) throw new ImageFileError(file, `PNG damaged: no valid chunk type at byte ${at}`);
    const end = at + 12 + len;
    if (end > b.length)
      throw new ImageFileError(
        file,
        `PNG truncated: chunk ${type} at byte ${at} needs ${len + 12} bytes, only ${b.length - at} remain`,
      );
    const stored = view.getUint32(at + 8 + len);
    const computed = crc32(b, at + 4, at + 8 + len);
    if (stored !== computed) {
      throw new ImageFileError(
        file,
        `PNG CRC mismatch in chunk ${type} at byte ${at} (stored 0x${stored.toString(16).padStart(8, '0')}, computed 0x${computed.toString(16).padStart(8, '0')}): the file is damaged`,
      );
    }
    if (type === 'IDAT') idat = true;
    if (type === 'IEND') {
      if (!idat) throw new ImageFileError(file, 'PNG has no image data (IDAT chunk)');
      return;
    }
    at = end;
  }
  throw new ImageFileError(file, `PNG truncated: no IEND chunk (the file ends at byte ${b.length})`);
}
