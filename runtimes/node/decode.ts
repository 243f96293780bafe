// Image decoding in Node and Deno with pure-JS decoders: pngjs (PNG, CRC checked, every depth and
// colour type → 8-bit RGBA) and jpeg-js (baseline/progressive JPEG → RGB). Called only after
// readImageHeader() accepted the file, so sizes are already bounded.

import { Buffer } from 'node:buffer';
import jpeg from 'jpeg-js';
import pngjs from 'pngjs';
import type { DecodedImage, ImageDecoder } from '../../src/data/decoder.js';

export const decodeNode: ImageDecoder = (bytes, _file, header): DecodedImage => {
  if (header.format === 'png') {
    const png = pngjs.PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { checkCRC: true });
    return {
      width: png.width,
      height: png.height,
      channels: 4,
      data: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength),
    };
  }
  const pixels = header.width * header.height;
  const img = jpeg.decode(bytes, {
    useTArray: true,
    formatAsRGBA: false,
    tolerantDecoding: false,
    maxResolutionInMP: Math.ceil(pixels / 1e6) + 1,
    maxMemoryUsageInMB: Math.ceil((pixels * 8) / 2 ** 20) + 64,
  });
  return { width: img.width, height: img.height, channels: 3, data: img.data };
};
