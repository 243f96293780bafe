// The image decoder a host supplies (runtimes/node/decode.ts: pure-JS PNG and JPEG decoders;
// runtimes/browser/decode.ts: the platform's). Contract: it is called only after readImageHeader()
// accepted the bytes (so the size is bounded and the format known), and returns the image as
// interleaved 8-bit samples of the header's width and height, or throws (or rejects) with the reason.

import type { ImageHeader } from './image-header.js';

/** Interleaved samples [height, width, channels] u8 (channels 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA). */
export interface DecodedImage {
  width: number;
  height: number;
  channels: number;
  data: Uint8Array;
}

export type ImageDecoder = (bytes: Uint8Array, file: string, header: ImageHeader) => DecodedImage | Promise<DecodedImage>;
