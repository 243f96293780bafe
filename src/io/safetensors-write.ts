// safetensors writer: header JSON padded with spaces to a multiple of 8 bytes, then the tensors'
// little-endian bytes in the order given. Float32Array data is written as F32 (default) or F16
// (round to nearest even, subnormals, overflow → ±inf: see float16.ts); Uint32Array data as U32
// (flat indices). `encodeSafetensors` builds the file in memory; `writeSafetensors` streams it to a
// sink in chunks of at most CHUNK bytes, so a checkpoint is never encoded whole in memory.

import { floatToHalf } from './float16.js';
import type { ChunkSink } from './source.js';

export interface NamedTensor {
  shape: readonly number[];
  data: Float32Array | Uint32Array;
}

export type TensorSet = Record<string, NamedTensor> | ReadonlyMap<string, NamedTensor>;

export interface WriteOptions {
  /** How float tensors are stored (default F32). */
  dtype?: 'F32' | 'F16';
}

const CHUNK = 1 << 20;
const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

interface Layout {
  header: Uint8Array;
  items: Array<{ name: string; t: NamedTensor; dtype: 'F32' | 'F16' | 'U32'; bytes: number }>;
  total: number;
}

function layout(tensors: TensorSet, metadata: Record<string, string> | undefined, options: WriteOptions): Layout {
  const header: Record<string, unknown> = metadata ? { __metadata__: metadata } : {};
  if (metadata) {
    for (const [k, v] of Object.entries(metadata))
      if (typeof v !== 'string') throw new Error(`metadata "${k}" must be a string (safetensors stores strings only)`);
  }
  const items: Layout['items'] = [];
  let offset = 0;
  const list: Array<[string, NamedTensor]> =
    tensors instanceof Map ? [...tensors] : Object.entries(tensors as Record<string, NamedTensor>);
  for (const [name, t] of list) {
    if (!name || name === '__metadata__') throw new Error(`"${name}" cannot name a tensor`);
    const expected = t.shape.reduce((a, d) => a * d, 1);
    if (expected !== t.data.length)
      throw new Error(`tensor "${name}": shape [${t.shape.join(', ')}] needs ${expected} values, got ${t.data.length}`);
    const dtype = t.data instanceof Uint32Array ? 'U32' : (options.dtype ?? 'F32');
    const bytes = t.data.length * (dtype === 'F16' ? 2 : 4);
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    items.push({ name, t, dtype, bytes });
    offset += bytes;
  }
  let json = JSON.stringify(header);
  const head = new TextEncoder().encode(json);
  json += ' '.repeat((8 - ((head.length + 8) % 8)) % 8);
  const padded = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + padded.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded.length), true);
  out.set(padded, 8);
  return { header: out, items, total: out.length + offset };
}

/** Encodes values [from, to) of one tensor into `out` (which holds exactly their bytes). */
function encodeRange(item: Layout['items'][number], from: number, to: number, out: Uint8Array): void {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const d = item.t.data;
  if (item.dtype === 'F16') {
    for (let i = from; i < to; i++) view.setUint16((i - from) * 2, floatToHalf(d[i]), true);
  } else if (item.dtype === 'U32') {
    for (let i = from; i < to; i++) view.setUint32((i - from) * 4, d[i], true);
  } else {
    for (let i = from; i < to; i++) view.setFloat32((i - from) * 4, d[i], true);
  }
}

export function encodeSafetensors(tensors: TensorSet, metadata?: Record<string, string>, options: WriteOptions = {}): Uint8Array {
  const l = layout(tensors, metadata, options);
  const out = new Uint8Array(l.total);
  out.set(l.header, 0);
  let at = l.header.length;
  for (const item of l.items) {
    encodeRange(item, 0, item.t.data.length, out.subarray(at, at + item.bytes));
    at += item.bytes;
  }
  return out;
}

/**
 * Streams the file to `sink`; returns its size in bytes. Chunks are handed over one at a time and
 * may be reused once the sink's promise resolves (a sink that keeps them must copy).
 */
export async function writeSafetensors(
  sink: ChunkSink,
  tensors: TensorSet,
  metadata?: Record<string, string>,
  options: WriteOptions = {},
): Promise<number> {
  const l = layout(tensors, metadata, options);
  await sink(l.header);
  let buffer: Uint8Array | null = null;
  for (const item of l.items) {
    const d = item.t.data;
    const width = item.dtype === 'F16' ? 2 : 4;
    if (item.dtype !== 'F16' && LITTLE_ENDIAN) {
      // already the file's bytes: hand over views
      const bytes = new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
      for (let at = 0; at < bytes.length; at += CHUNK) await sink(bytes.subarray(at, Math.min(bytes.length, at + CHUNK)));
      continue;
    }
    buffer ??= new Uint8Array(CHUNK);
    const per = CHUNK / width;
    for (let from = 0; from < d.length; from += per) {
      const to = Math.min(d.length, from + per);
      const chunk = buffer.subarray(0, (to - from) * width);
      encodeRange(item, from, to, chunk);
      await sink(chunk);
    }
  }
  return l.total;
}
