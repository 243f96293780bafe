// safetensors reader: an 8-byte little-endian header length N, N bytes of JSON
// ({ name: { dtype, shape, data_offsets: [begin, end] }, __metadata__?: { key: string } }),
// then the raw little-endian tensor bytes, offsets relative to the end of the header.
// `parse` takes the whole file in memory; `open` takes a ByteSource and reads the header alone, then
// each tensor's byte range when asked (`read`), so a checkpoint is never held twice in memory.
// Decoding: F32, F16, BF16, F64 → Float32Array (aligned little-endian F32 is a view, not a copy);
// U32, I32, I64 → Uint32Array indices (`readIndices`, range-checked). Other standard dtypes are
// accepted in the header (sizes checked) but not decoded.
// Every structural fault becomes a SafetensorsError that names the file and the problem: nothing is
// allocated from a size the file has not backed, duplicate names and overlapping ranges are refused.

import { halfToFloat } from './float16.js';
import type { ByteSource } from './source.js';

export type SafetensorsDType = 'F32' | 'F16' | 'BF16' | 'F64' | 'U32' | 'I32' | 'I64';
type AnyDType = SafetensorsDType | 'BOOL' | 'U8' | 'I8' | 'U16' | 'I16' | 'U64' | 'F8_E4M3' | 'F8_E5M2';

const BYTES_PER: Record<AnyDType, number> = {
  F32: 4,
  F16: 2,
  BF16: 2,
  F64: 8,
  U32: 4,
  I32: 4,
  I64: 8,
  BOOL: 1,
  U8: 1,
  I8: 1,
  U16: 2,
  I16: 2,
  U64: 8,
  F8_E4M3: 1,
  F8_E5M2: 1,
};
const FLOATS: ReadonlySet<string> = new Set(['F32', 'F16', 'BF16', 'F64']);
const INDICES: ReadonlySet<string> = new Set(['U32', 'I32', 'I64']);
/** Headers larger than this are refused before parsing (real headers are kilobytes to a few megabytes). */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;
const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

export interface TensorEntry {
  dtype: SafetensorsDType;
  shape: number[];
  /** Byte range inside the data section. */
  begin: number;
  end: number;
}

export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`${file}: ${problem}`);
  }
}

export class SafetensorsFile {
  private constructor(
    readonly file: string,
    readonly metadata: Readonly<Record<string, string>>,
    readonly entries: ReadonlyMap<string, TensorEntry>,
    /** The data section when the whole file is in memory, else null. */
    private readonly data: Uint8Array | null,
    private readonly source: ByteSource | null,
    /** Offset of the data section in the source. */
    private readonly dataStart: number,
  ) {}

  /** Parses and validates the header of `bytes`; `file` names the source in errors. */
  static parse(bytes: Uint8Array, file: string): SafetensorsFile {
    const fail = failer(file);
    const headerLen = checkHeaderLength(bytes, bytes.length, fail);
    const { metadata, entries } = parseHeader(bytes.subarray(8, 8 + headerLen), bytes.length - 8 - headerLen, fail);
    return new SafetensorsFile(file, metadata, entries, bytes.subarray(8 + headerLen), null, 8 + headerLen);
  }

  /** Reads and validates the header of `source` alone; tensors are read later, one at a time. */
  static async open(source: ByteSource, file: string): Promise<SafetensorsFile> {
    const fail = failer(file);
    const first = await source.read(0, Math.min(8, source.size));
    const headerLen = checkHeaderLength(first, source.size, fail);
    const head = await source.read(8, headerLen);
    if (head.length !== headerLen)
      fail(`the file ended after ${8 + head.length} bytes while reading its ${headerLen}-byte header: it is truncated`);
    const { metadata, entries } = parseHeader(head, source.size - 8 - headerLen, fail);
    return new SafetensorsFile(file, metadata, entries, null, source, 8 + headerLen);
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /** Tensor names in file order (by offset). */
  get names(): string[] {
    return [...this.entries].sort((a, b) => a[1].begin - b[1].begin).map(([n]) => n);
  }

  /** The tensor `name` decoded to float32, with its shape (files from `parse` only; use `read` for sources). */
  tensor(name: string): { shape: number[]; data: Float32Array } {
    const e = this.entry(name);
    if (!this.data)
      throw new SafetensorsError(this.file, `tensor "${name}": this file was opened from a source; use await read()`);
    return { shape: e.shape, data: decodeFloats(e, this.data.subarray(e.begin, e.end), false, name, this.file) };
  }

  /** The tensor `name` decoded to float32, reading only its bytes from the source. */
  async read(name: string): Promise<{ shape: number[]; data: Float32Array }> {
    const e = this.entry(name);
    return { shape: e.shape, data: decodeFloats(e, await this.bytes(name, e), this.source !== null, name, this.file) };
  }

  /** An integer tensor (U32, I32 or I64) as unsigned 32-bit indices; negative or ≥ 2^32 values are refused. */
  async readIndices(name: string): Promise<{ shape: number[]; data: Uint32Array }> {
    const e = this.entry(name);
    if (!INDICES.has(e.dtype))
      throw new SafetensorsError(this.file, `tensor "${name}" is ${e.dtype}, not an integer index tensor (U32, I32 or I64)`);
    const bytes = await this.bytes(name, e);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const n = bytes.length / BYTES_PER[e.dtype];
    const out = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      const v =
        e.dtype === 'U32'
          ? view.getUint32(i * 4, true)
          : e.dtype === 'I32'
            ? view.getInt32(i * 4, true)
            : Number(view.getBigInt64(i * 8, true));
      if (!(v >= 0 && v < 2 ** 32))
        throw new SafetensorsError(this.file, `tensor "${name}" holds ${v} at flat index ${i}, outside [0, 2^32)`);
      out[i] = v;
    }
    return { shape: e.shape, data: out };
  }

  /** Releases the source, when it has a handle. */
  async close(): Promise<void> {
    await this.source?.close?.();
  }

  private entry(name: string): TensorEntry {
    const e = this.entries.get(name);
    if (!e) throw new SafetensorsError(this.file, `tensor "${name}" is missing`);
    return e;
  }

  private async bytes(name: string, e: TensorEntry): Promise<Uint8Array> {
    if (this.data) return this.data.subarray(e.begin, e.end);
    const bytes = await this.source!.read(this.dataStart + e.begin, e.end - e.begin);
    if (bytes.length !== e.end - e.begin) {
      throw new SafetensorsError(
        this.file,
        `tensor "${name}": the file ended ${bytes.length} bytes into its ${e.end - e.begin}: it is truncated or changed while open`,
      );
    }
    return bytes;
  }
}

function failer(file: string): (problem: string) => never {
  return (problem) => {
    throw new SafetensorsError(file, problem);
  };
}

/** Validates the 8-byte header length against the file size; returns it. */
function checkHeaderLength(first: Uint8Array, size: number, fail: (p: string) => never): number {
  if (size < 8 || first.length < 8)
    fail(`${size} bytes is too short for a safetensors file (it starts with an 8-byte header length)`);
  const headerLen = Number(new DataView(first.buffer, first.byteOffset, 8).getBigUint64(0, true));
  if (headerLen > MAX_HEADER_BYTES) fail(`header length ${headerLen} exceeds ${MAX_HEADER_BYTES} bytes: not a safetensors file`);
  if (8 + headerLen > size)
    fail(`header length ${headerLen} runs past the end of the ${size}-byte file: the file is truncated or not safetensors`);
  return headerLen;
}

function parseHeader(head: Uint8Array, dataBytes: number, fail: (p: string) => never) {
  let text = '';
  let header: unknown;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(head);
    header = JSON.parse(text);
  } catch (e) {
    fail(`header is not valid UTF-8 JSON (${(e as Error).message}): the file is corrupt or not safetensors`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('header JSON is not an object');
  const dup = duplicateKey(text);
  if (dup !== null) fail(`the header names "${dup}" twice`);
  const metadata: Record<string, string> = {};
  const entries = new Map<string, TensorEntry>();
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('__metadata__ is not an object of strings');
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`__metadata__.${k} is not a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    entries.set(name, checkEntry(name, raw, dataBytes, fail));
  }
  checkOverlaps(entries, fail);
  return { metadata, entries };
}

function checkEntry(name: string, raw: unknown, dataBytes: number, fail: (p: string) => never): TensorEntry {
  const r = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
  if (typeof r !== 'object' || r === null || Array.isArray(r)) fail(`tensor "${name}" has no descriptor object`);
  if (typeof r.dtype !== 'string' || !Object.hasOwn(BYTES_PER, r.dtype)) {
    fail(`tensor "${name}" has dtype ${JSON.stringify(r.dtype)}; supported: ${Object.keys(BYTES_PER).join(', ')}`);
  }
  const dtype = r.dtype as SafetensorsDType;
  if (!Array.isArray(r.shape) || r.shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
    fail(`tensor "${name}" has an invalid shape ${JSON.stringify(r.shape)}`);
  }
  const shape = r.shape as number[];
  const offs = r.data_offsets;
  if (!Array.isArray(offs) || offs.length !== 2 || offs.some((o) => !Number.isSafeInteger(o) || o < 0) || offs[0] > offs[1]) {
    fail(`tensor "${name}" has invalid data_offsets ${JSON.stringify(offs)}`);
  }
  const [begin, end] = offs as [number, number];
  if (end > dataBytes) fail(`tensor "${name}" ends at byte ${end} of a ${dataBytes}-byte data section: the file is truncated`);
  const expected = shape.reduce((a, d) => a * d, 1) * BYTES_PER[dtype];
  if (end - begin !== expected)
    fail(`tensor "${name}" spans ${end - begin} bytes but ${dtype} [${shape.join(', ')}] needs ${expected}`);
  return { dtype, shape, begin, end };
}

function checkOverlaps(entries: Map<string, TensorEntry>, fail: (p: string) => never): void {
  const spans = [...entries].filter(([, e]) => e.end > e.begin).sort((a, b) => a[1].begin - b[1].begin);
  for (let i = 1; i < spans.length; i++) {
    if (spans[i][1].begin < spans[i - 1][1].end) fail(`tensors "${spans[i - 1][0]}" and "${spans[i][0]}" overlap`);
  }
}

/** The first top-level key of a valid JSON object text that appears twice (JSON.parse keeps the last silently). */
function duplicateKey(text: string): string | null {
  const seen = new Set<string>();
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      const start = i;
      for (i++; text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c) i++;
      if (depth !== 1) continue;
      let j = i + 1;
      while (j < text.length && /\s/.test(text[j])) j++;
      if (text[j] !== ':') continue;
      const key = JSON.parse(text.slice(start, i + 1)) as string;
      if (seen.has(key)) return key;
      seen.add(key);
    } else if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) depth--;
  }
  return null;
}

/** Float tensor bytes → float32 values. `owned` bytes (fresh from a source) may be viewed in place. */
function decodeFloats(e: TensorEntry, bytes: Uint8Array, owned: boolean, name: string, file: string): Float32Array {
  if (!FLOATS.has(e.dtype)) {
    const how = INDICES.has(e.dtype) ? ': read it with readIndices()' : `; float dtypes read: ${[...FLOATS].join(', ')}`;
    throw new SafetensorsError(file, `tensor "${name}" is ${e.dtype}, not a float tensor${how}`);
  }
  const n = bytes.length / BYTES_PER[e.dtype];
  if (e.dtype === 'F32' && owned && LITTLE_ENDIAN && bytes.byteOffset % 4 === 0)
    return new Float32Array(bytes.buffer, bytes.byteOffset, n);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(n);
  switch (e.dtype) {
    case 'F32':
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, true);
      break;
    case 'F64':
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(i * 8, true);
      break;
    case 'BF16': {
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) bits[i] = view.getUint16(i * 2, true) << 16;
      break;
    }
    case 'F16':
      for (let i = 0; i < n; i++) out[i] = halfToFloat(view.getUint16(i * 2, true));
      break;
  }
  return out;
}
