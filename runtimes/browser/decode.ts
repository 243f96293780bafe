// Image decoding in browsers (and workers) with the platform decoder: createImageBitmap on a Blob,
// drawn on an OffscreenCanvas and read back as 8-bit RGBA (no colour-space conversion, alpha not
// premultiplied). Called only after readImageHeader() accepted the file.

import type { DecodedImage, ImageDecoder } from '../../src/data/decoder.js';

export const decodeBrowser: ImageDecoder = async (bytes, _file, header): Promise<DecodedImage> => {
  const blob = new Blob([bytes as Uint8Array<ArrayBuffer>], { type: header.format === 'png' ? 'image/png' : 'image/jpeg' });
  const bitmap = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  try {
    const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
    const ctx = canvas.getContext('2d');
    if (!ctx) throw new Error('no 2d context on OffscreenCanvas');
    ctx.drawImage(bitmap, 0, 0);
    const { data } = ctx.getImageData(0, 0, bitmap.width, bitmap.height);
    return {
      width: bitmap.width,
      height: bitmap.height,
      channels: 4,
      data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    };
  } finally {
    bitmap.close();
  }
};
