// The images a checkpoint takes: their size, patch and channels, read from its stored patch embedding
// [D, C, p, p] and its token count (a square grid of patches plus the class token).

import type { LoadedCheckpoint } from './checkpoint.js';

export interface Geometry {
  size: number;
  patch: number;
  channels: 1 | 3;
}

/** A checkpoint that cannot take images as this engine feeds them. */
export class GeometryError extends Error {
  override name = 'GeometryError';
}

/** Image size, patch and channels a checkpoint expects, from its stored patch embedding [D, C, p, p]. */
export function geometryOf(c: LoadedCheckpoint): Geometry {
  const shape = c.layout.patchShape;
  if (shape?.length !== 4) throw new GeometryError('the model has no patch embedding: it cannot take images');
  const [, channels, patch] = shape;
  const side = Math.round(Math.sqrt(c.config.tokens - 1));
  if (side * side !== c.config.tokens - 1)
    throw new GeometryError(`the model's ${c.config.tokens - 1} patches do not form a square image`);
  if (channels !== 1 && channels !== 3)
    throw new GeometryError(`the model takes ${channels}-channel images; 1 or 3 are supported`);
  return { size: side * patch, patch, channels };
}
