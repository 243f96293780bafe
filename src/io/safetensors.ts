// safetensors reader: an 8-byte little-endian header length N, N bytes of JSON
// ({ name: { dtype, shape, data_offsets: [begin, end] }, __metadata__?: { key: string } }),
// then the raw little-endian tensor bytes, offsets relative to the end of the header.
// Every structural fault becomes a SafetensorsError that names the file and the problem; nothing
// is allocated from an unchecked size.

export type SafetensorsDType = 'F32' | 'F16' | 'BF16' | 'F64';

const BYTES_PER: Record<SafetensorsDType, number> = { F32: 4, F16: 2, BF16: 2, F64: 8 };
/** Headers larger than this are refused before parsing (real headers are kilobytes). */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export interface TensorEntry {
  dtype: SafetensorsDType;
  shape: number[];
  /** Byte range inside the data section. */
  begin: number;
  end: number;
}

export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
  constructor(readonly file: string, problem: string) {
    super(`${file}: ${problem}`);
  }
}

export class SafetensorsFile {
  private constructor(
    readonly file: string,
    readonly metadata: Readonly<Record<string, string>>,
    readonly entries: ReadonlyMap<string, TensorEntry>,
    private readonly data: Uint8Array,
  ) {}

  /** Parses and validates the header of `bytes`; `file` names the source in errors. */
  static parse(bytes: Uint8Array, file: string): SafetensorsFile {
    const fail = (problem: string): never => {
      throw new SafetensorsError(file, problem);
    };
    if (bytes.length < 8) fail(`${bytes.length} bytes is too short for a safetensors file (it starts with an 8-byte header length)`);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const headerLen = Number(view.getBigUint64(0, true));
    if (headerLen > MAX_HEADER_BYTES) fail(`header length ${headerLen} exceeds ${MAX_HEADER_BYTES} bytes: not a safetensors file`);
    if (8 + headerLen > bytes.length) fail(`header length ${headerLen} runs past the end of the ${bytes.length}-byte file: the file is truncated or not safetensors`);
    let header: unknown;
    try {
      header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLen)));
    } catch (e) {
      fail(`header is not valid UTF-8 JSON (${(e as Error).message}): the file is corrupt or not safetensors`);
    }
    if (typeof header !== 'object' || header === null || Array.isArray(header)) fail('header JSON is not an object');
    const data = bytes.subarray(8 + headerLen);
    const metadata: Record<string, string> = {};
    const entries = new Map<string, TensorEntry>();
    for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
      if (name === '__metadata__') {
        if (typeof raw !== 'object' || raw === null) fail('__metadata__ is not an object of strings');
        for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
          if (typeof v !== 'string') fail(`__metadata__.${k} is not a string`);
          metadata[k] = v as string;
        }
        continue;
      }
      entries.set(name, checkEntry(name, raw, data.length, fail));
    }
    checkOverlaps(entries, fail);
    return new SafetensorsFile(file, metadata, entries, data);
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /** The tensor `name` decoded to float32, with its shape. */
  tensor(name: string): { shape: number[]; data: Float32Array } {
    const e = this.entries.get(name);
    if (!e) throw new SafetensorsError(this.file, `tensor "${name}" is missing`);
    return { shape: e.shape, data: decode(e, this.data.subarray(e.begin, e.end)) };
  }
}

function checkEntry(name: string, raw: unknown, dataBytes: number, fail: (p: string) => never): TensorEntry {
  const r = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
  if (typeof r !== 'object' || r === null) fail(`tensor "${name}" has no descriptor object`);
  if (typeof r.dtype !== 'string' || !(r.dtype in BYTES_PER)) {
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
  if (end - begin !== expected) fail(`tensor "${name}" spans ${end - begin} bytes but ${dtype} [${shape.join(', ')}] needs ${expected}`);
  return { dtype, shape, begin, end };
}

function checkOverlaps(entries: Map<string, TensorEntry>, fail: (p: string) => never): void {
  const spans = [...entries].filter(([, e]) => e.end > e.begin).sort((a, b) => a[1].begin - b[1].begin);
  for (let i = 1; i < spans.length; i++) {
    if (spans[i][1].begin < spans[i - 1][1].end) fail(`tensors "${spans[i - 1][0]}" and "${spans[i][0]}" overlap`);
  }
}

function decode(e: TensorEntry, bytes: Uint8Array): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.length / BYTES_PER[e.dtype];
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

/** IEEE 754 binary16 → number (subnormals, infinities and NaN included). */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}
