// IDX files (the MNIST format): big-endian magic 0x00000800 | dtype << 8 | rank, then `rank` u32
// dimension sizes, then the data. Only unsigned bytes (dtype 0x08) occur in MNIST.

export class IdxError extends Error {
  override name = 'IdxError';
}

export interface IdxArray {
  shape: number[];
  data: Uint8Array;
}

export function readIdx(bytes: Uint8Array, file: string): IdxArray {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 4) throw new IdxError(`${file}: ${bytes.length} bytes is too short for an IDX header`);
  const magic = view.getUint32(0);
  const rank = magic & 0xff;
  if (magic >>> 16 !== 0 || ((magic >> 8) & 0xff) !== 0x08) {
    throw new IdxError(`${file}: magic 0x${magic.toString(16).padStart(8, '0')} is not an unsigned-byte IDX file`);
  }
  if (rank < 1 || bytes.length < 4 + 4 * rank) throw new IdxError(`${file}: truncated IDX header (rank ${rank})`);
  const shape = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i));
  const size = shape.reduce((a, d) => a * d, 1);
  const start = 4 + 4 * rank;
  if (bytes.length - start < size)
    throw new IdxError(`${file}: holds ${bytes.length - start} data bytes, shape [${shape.join(', ')}] needs ${size}`);
  return { shape, data: bytes.subarray(start, start + size) };
}
