import { readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SafetensorsError, SafetensorsFile } from '../src/io/safetensors.js';
import { encodeSafetensors, writeSafetensors } from '../src/io/safetensors-write.js';
import { floatToHalf, halfToFloat } from '../src/io/float16.js';
import { bytesSource } from '../src/io/source.js';
import { blobFolder, blobSource } from '../src/io/source-blob.js';
import { fileSource, nodeFolder } from '../runtimes/node/files.js';
import { openTensors } from '../src/io/tensor-store.js';
import { uniform } from '../src/reference/random.js';
import { readMergeCase } from '../src/conformance/merge-case.js';
import { makeMergeVector, randomSpec } from './support/make-vector.js';
import { VECTORS_DIR } from './support/vectors.js';

const VECTORS = pathToFileURL(`${VECTORS_DIR}/`);

function header(json: string, data = new Uint8Array(0)): Uint8Array {
  const h = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

describe('safetensors reader', () => {
  it('round-trips float32 tensors and metadata', () => {
    const a = Float32Array.from([1, -2.5, 3e-30, Math.fround(0.1)]);
    const bytes = encodeSafetensors(
      { a: { shape: [2, 2], data: a }, b: { shape: [0], data: new Float32Array(0) } },
      { k: '"v"' },
    );
    expect(bytes.length % 8).toBe(0);
    const f = SafetensorsFile.parse(bytes, 'rt.safetensors');
    expect(f.metadata).toEqual({ k: '"v"' });
    expect(f.tensor('a')).toEqual({ shape: [2, 2], data: a });
    expect(f.tensor('b').data.length).toBe(0);
  });

  it('decodes F16, BF16 and F64', () => {
    const data = new Uint8Array(2 + 2 + 8);
    const v = new DataView(data.buffer);
    v.setUint16(0, 0x3c00 | 0x8000, true); // f16 −1
    v.setUint16(2, 0x4049, true); // bf16 3.140625
    v.setFloat64(4, 0.5, true);
    const f = SafetensorsFile.parse(
      header(
        JSON.stringify({
          h: { dtype: 'F16', shape: [1], data_offsets: [0, 2] },
          b: { dtype: 'BF16', shape: [1], data_offsets: [2, 4] },
          d: { dtype: 'F64', shape: [1], data_offsets: [4, 12] },
        }),
        data,
      ),
      'x',
    );
    expect([f.tensor('h').data[0], f.tensor('b').data[0], f.tensor('d').data[0]]).toEqual([-1, 3.140625, 0.5]);
  });

  const four = new Uint8Array(4);
  const malformed: Array<[string, Uint8Array, RegExp]> = [
    ['empty file', new Uint8Array(0), /too short/],
    ['7 bytes', new Uint8Array(7), /too short/],
    ['header longer than the file', header('{}').subarray(0, 9), /runs past the end/],
    [
      'huge header length',
      (() => {
        const b = new Uint8Array(16);
        new DataView(b.buffer).setBigUint64(0, 1n << 40n, true);
        return b;
      })(),
      /exceeds/,
    ],
    ['not JSON', header('{"a": '), /not valid UTF-8 JSON/],
    ['JSON array', header('[1,2]'), /not an object/],
    ['unknown dtype', header('{"a":{"dtype":"Q4","shape":[1],"data_offsets":[0,4]}}', four), /dtype "Q4"/],
    ['negative shape', header('{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}', four), /invalid shape/],
    ['offsets out of range', header('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', four), /truncated/],
    ['offsets reversed', header('{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}', four), /invalid data_offsets/],
    ['size mismatch', header('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}', four), /needs 8/],
    [
      'overlap',
      header('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', four),
      /overlap/,
    ],
    ['non-string metadata', header('{"__metadata__":{"k":3}}'), /not a string/],
  ];
  for (const [what, bytes, message] of malformed) {
    it(`refuses ${what} with a message naming the file`, () => {
      expect(() => SafetensorsFile.parse(bytes, 'bad.safetensors')).toThrow(SafetensorsError);
      expect(() => SafetensorsFile.parse(bytes, 'bad.safetensors')).toThrow(message);
      expect(() => SafetensorsFile.parse(bytes, 'bad.safetensors')).toThrow(/^bad\.safetensors: /);
    });
  }
});

describe('merge vectors', () => {
  const files = readdirSync(VECTORS).filter((f) => f.startsWith('merge_'));
  const load = (name: string) => new Uint8Array(readFileSync(new URL(name, VECTORS)));

  it('every shared merge vector parses with consistent shapes', () => {
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      const c = readMergeCase(load(f), f);
      expect(c.name).toBe(f.replace('.safetensors', ''));
      expect(c.expected.get('W')!.shape).toEqual([c.config.dIn, c.config.dOut]);
    }
  });

  // Rebuild a vector with one defect at a time: each gives one line naming the file and the problem.
  const baseBytes = makeMergeVector(randomSpec('snell', 7, 5, 4, 2, 3, 0.5, 9)).bytes;
  const base = SafetensorsFile.parse(baseBytes, 'base');
  const rebuild = (edit: (t: Record<string, { shape: number[]; data: Float32Array }>, m: Record<string, string>) => void) => {
    const tensors = Object.fromEntries([...base.entries.keys()].map((k) => [k, base.tensor(k)]));
    const meta = { ...base.metadata };
    edit(tensors, meta);
    return encodeSafetensors(tensors, meta);
  };
  const defects: Array<[string, Uint8Array, RegExp]> = [
    ['a missing tensor', rebuild((t) => delete t['grad.x']), /tensor "grad.x" is missing/],
    [
      'a mismatched shape',
      rebuild((t) => {
        t.x = { shape: [7, 3], data: t.x.data.slice(0, 21) };
      }),
      /"x" has shape \[7, 3\], expected \[3, 7\]/,
    ],
    [
      'NaN in an input',
      rebuild((t) => {
        t.In_Qs.data[5] = NaN;
      }),
      /"In_Qs" holds NaN at flat index 5/,
    ],
    [
      'a rank not divisible by H',
      rebuild((_, m) => {
        m.q_dim = '5';
      }),
      /rank 5 is not divisible by heads H = 2/,
    ],
    ['missing metadata', rebuild((_, m) => delete m.kind), /metadata "kind" is missing/],
    [
      'an unknown kind',
      rebuild((_, m) => {
        m.kind = '"dora"';
      }),
      /"kind" is "dora"/,
    ],
    ['a truncated file', baseBytes.subarray(0, 700), /truncated/],
    [
      'a PNG file',
      Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]),
      /not a safetensors file|runs past the end/,
    ],
  ];
  for (const [what, bytes, message] of defects) {
    it(`a vector with ${what} is refused clearly`, () => {
      expect(() => readMergeCase(bytes, 'merge_case.safetensors')).toThrow(message);
      expect(() => readMergeCase(bytes, 'merge_case.safetensors')).toThrow(/^merge_case\.safetensors: [^\n]+$/);
    });
  }
});

// ---- float16, streaming sources, integer indices, shards, atomic writes ----

describe('float16 conversion', () => {
  it('every finite half survives half → float → half', () => {
    const wrong: number[] = [];
    for (let h = 0; h < 0x10000; h++) {
      if ((h & 0x7c00) === 0x7c00 && h & 0x3ff) continue; // NaN
      if (floatToHalf(halfToFloat(h)) !== h) wrong.push(h);
    }
    expect(wrong).toEqual([]);
  });

  it('midpoints round to the even neighbour; subnormals, overflow and NaN', () => {
    const wrong: number[] = [];
    for (let h = 0; h < 0x7bff; h++) {
      const mid = (halfToFloat(h) + halfToFloat(h + 1)) / 2; // exact in float32
      const even = h & 1 ? h + 1 : h;
      if (floatToHalf(mid) !== even || floatToHalf(-mid) !== (even | 0x8000)) wrong.push(h);
    }
    expect(wrong).toEqual([]);
    expect(floatToHalf(65504)).toBe(0x7bff);
    expect(floatToHalf(65519.99)).toBe(0x7bff);
    expect(floatToHalf(65520)).toBe(0x7c00); // tie with the next (virtual) value 65536: even → inf
    expect(floatToHalf(1e6)).toBe(0x7c00);
    expect(floatToHalf(-Infinity)).toBe(0xfc00);
    expect(floatToHalf(2 ** -24)).toBe(1);
    expect(floatToHalf(2 ** -25)).toBe(0); // tie → even 0
    expect(floatToHalf(2 ** -25 * 1.0001)).toBe(1);
    expect(floatToHalf(3 * 2 ** -25)).toBe(2); // 1.5 units: tie → even 2
    expect(floatToHalf(-0)).toBe(0x8000);
    expect(floatToHalf(1e-10)).toBe(0);
    expect(Number.isNaN(halfToFloat(floatToHalf(NaN)))).toBe(true);
  });

  it('the writer stores F16 and the reader decodes it', () => {
    const data = Float32Array.from([1, -2, 0.1, 65520, 2 ** -24, 3e-8]);
    const f = SafetensorsFile.parse(encodeSafetensors({ h: { shape: [6], data } }, undefined, { dtype: 'F16' }), 'h');
    expect(f.entries.get('h')!.dtype).toBe('F16');
    expect([...f.tensor('h').data]).toEqual([...data].map((v) => halfToFloat(floatToHalf(v))));
  });
});

/** A source that counts the bytes it serves. */
function counting(bytes: Uint8Array) {
  const src = {
    served: 0,
    size: bytes.length,
    read: async (o: number, l: number) => {
      const out = bytes.slice(o, Math.min(bytes.length, o + l));
      src.served += out.length;
      return out;
    },
  };
  return src;
}

describe('streaming reads', () => {
  const big = uniform(4096, 3);
  const small = uniform(6, 4);
  const bytes = encodeSafetensors({
    big: { shape: [64, 64], data: big },
    small: { shape: [2, 3], data: small },
    idx: { shape: [3], data: Uint32Array.of(0, 7, 4294967295) },
  });

  it('open reads the header alone, then only the bytes of each tensor asked for', async () => {
    const src = counting(bytes);
    const f = await SafetensorsFile.open(src, 'c.safetensors');
    const headerBytes = bytes.length - 4096 * 4 - 6 * 4 - 12;
    expect(src.served).toBe(headerBytes);
    expect((await f.read('small')).data).toEqual(small);
    expect(src.served).toBe(headerBytes + 24);
    expect((await f.readIndices('idx')).data).toEqual(Uint32Array.of(0, 7, 4294967295));
    await expect(f.read('idx')).rejects.toThrow(/"idx" is U32, not a float tensor: read it with readIndices\(\)/);
    expect(() => f.tensor('small')).toThrow(/use await read\(\)/);
  });

  it('Blob, file and memory sources give the same tensors', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'st-'));
    try {
      await writeFile(join(dir, 'x.safetensors'), bytes);
      const fileSrc = await fileSource(join(dir, 'x.safetensors'));
      for (const src of [bytesSource(bytes), blobSource(new Blob([bytes as Uint8Array<ArrayBuffer>])), fileSrc]) {
        const f = await SafetensorsFile.open(src, 'x');
        expect((await f.read('big')).data).toEqual(big);
        expect((await f.read('small')).shape).toEqual([2, 3]);
      }
      await fileSrc.close();
    } finally {
      await rm(dir, { recursive: true });
    }
  });

  it('writeSafetensors streams exactly the bytes encodeSafetensors builds, F32 and F16', async () => {
    for (const dtype of ['F32', 'F16'] as const) {
      const tensors = { big: { shape: [64, 64], data: uniform(300_000, 5) }, idx: { shape: [2], data: Uint32Array.of(1, 2) } };
      tensors.big.shape = [300_000];
      const chunks: Uint8Array[] = [];
      const total = await writeSafetensors(
        async (c) => {
          chunks.push(c.slice());
        },
        tensors,
        { a: 'b' },
        { dtype },
      );
      const joined = new Uint8Array(await new Blob(chunks as Uint8Array<ArrayBuffer>[]).arrayBuffer());
      expect(total).toBe(joined.length);
      expect(Buffer.compare(joined, encodeSafetensors(tensors, { a: 'b' }, { dtype }))).toBe(0);
      expect(Math.max(...chunks.map((c) => c.length))).toBeLessThanOrEqual(1 << 20);
    }
  });

  it('integer tensors: I64 and I32 indices are read and range-checked', async () => {
    const data = new Uint8Array(16 + 8);
    const v = new DataView(data.buffer);
    v.setBigInt64(0, 5n, true);
    v.setBigInt64(8, 1n << 33n, true);
    v.setInt32(16, 3, true);
    v.setInt32(20, -1, true);
    const f = await SafetensorsFile.open(
      bytesSource(
        header(
          JSON.stringify({
            a: { dtype: 'I64', shape: [1], data_offsets: [0, 8] },
            b: { dtype: 'I64', shape: [1], data_offsets: [8, 16] },
            c: { dtype: 'I32', shape: [1], data_offsets: [16, 20] },
            d: { dtype: 'I32', shape: [1], data_offsets: [20, 24] },
          }),
          data,
        ),
      ),
      'i.safetensors',
    );
    expect((await f.readIndices('a')).data).toEqual(Uint32Array.of(5));
    expect((await f.readIndices('c')).data).toEqual(Uint32Array.of(3));
    await expect(f.readIndices('b')).rejects.toThrow(/holds 8589934592 at flat index 0, outside \[0, 2\^32\)/);
    await expect(f.readIndices('d')).rejects.toThrow(/holds -1/);
  });
});

describe('malformed safetensors files, read through a source', () => {
  const four = new Uint8Array(4);
  const cases: Array<[string, Uint8Array, RegExp]> = [
    ['an empty file', new Uint8Array(0), /too short/],
    ['a header longer than the file', header('{}').subarray(0, 9), /runs past the end/],
    [
      'a huge header length (2^63)',
      (() => {
        const b = new Uint8Array(16);
        new DataView(b.buffer).setBigUint64(0, 1n << 63n, true);
        return b;
      })(),
      /exceeds/,
    ],
    ['bad header JSON', header('{"a": {"dtype": '), /not valid UTF-8 JSON/],
    [
      'invalid UTF-8 in the header',
      header('{"\xff": 1}').map((b, i, a) => (i === a.length - 5 ? 0xff : b)),
      /not valid UTF-8 JSON/,
    ],
    ['a JSON null header', header('null'), /not an object/],
    ['a JSON string header', header('"abc"'), /not an object/],
    [
      'a duplicate tensor name',
      header('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', four),
      /names "a" twice/,
    ],
    ['a descriptor that is not an object', header('{"a":[1,2]}'), /no descriptor object/],
    ['missing data_offsets', header('{"a":{"dtype":"F32","shape":[1]}}', four), /invalid data_offsets/],
    ['an unknown dtype', header('{"a":{"dtype":"F4","shape":[1],"data_offsets":[0,4]}}', four), /dtype "F4"/],
    ['a fractional shape', header('{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}', four), /invalid shape/],
    [
      'a shape whose size overflows',
      header('{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}', four),
      /needs/,
    ],
    ['offsets past the data', header('{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}', four), /truncated/],
    [
      'overlapping tensors',
      header(
        '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}',
        new Uint8Array(8),
      ),
      /overlap/,
    ],
    ['metadata that is an array', header('{"__metadata__":["x"]}'), /__metadata__ is not an object/],
  ];
  for (const [what, bytes, message] of cases) {
    it(`${what}: a SafetensorsError naming the file`, async () => {
      const err = await SafetensorsFile.open(bytesSource(bytes), 'bad.safetensors').then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(SafetensorsError);
      expect((err as Error).message).toMatch(/^bad\.safetensors: /);
      expect((err as Error).message).toMatch(message);
    });
  }

  it('a source that ends early (truncated after its size was taken)', async () => {
    const bytes = encodeSafetensors({ a: { shape: [8], data: uniform(8, 1) } });
    const lying = {
      size: bytes.length,
      read: async (o: number, l: number) => bytes.slice(o, Math.min(bytes.length - 10, o + l)),
    };
    const f = await SafetensorsFile.open(lying, 'short.safetensors');
    await expect(f.read('a')).rejects.toThrow(
      /^short\.safetensors: tensor "a": the file ended \d+ bytes into its 32: it is truncated/,
    );
  });
});

describe('sharded checkpoints', () => {
  const a = uniform(6, 1);
  const b = uniform(4, 2);
  const shards = {
    'model-00001-of-00002.safetensors': encodeSafetensors({ a: { shape: [2, 3], data: a } }),
    'model-00002-of-00002.safetensors': encodeSafetensors({ b: { shape: [4], data: b } }),
  };
  const index = (map: unknown) => new TextEncoder().encode(JSON.stringify({ metadata: { total_size: 40 }, weight_map: map }));
  const good = { a: 'model-00001-of-00002.safetensors', b: 'model-00002-of-00002.safetensors' };

  it('reads every tensor from its shard', async () => {
    const store = await openTensors(blobFolder({ ...shards, 'model.safetensors.index.json': index(good) }, 'ckpt'));
    expect(store.names).toEqual(['a', 'b']);
    expect((await store.read('b')).data).toEqual(b);
    expect(store.fileOf('a')).toBe('ckpt/model-00001-of-00002.safetensors');
    await store.close();
  });

  const bad: Array<[string, Record<string, Uint8Array>, RegExp]> = [
    ['no checkpoint at all', {}, /ckpt\/model.safetensors: not found \(nor model.safetensors.index.json\)/],
    [
      'an index that is not JSON',
      { 'model.safetensors.index.json': new TextEncoder().encode('{') },
      /index.json: is not valid JSON/,
    ],
    ['an index without weight_map', { 'model.safetensors.index.json': index(undefined) }, /no "weight_map" object/],
    [
      'a missing shard',
      { ...shards, 'model.safetensors.index.json': index({ ...good, c: 'model-00003-of-00002.safetensors' }) },
      /shard "model-00003-of-00002.safetensors" \(holding "c"\) is missing/,
    ],
    [
      'a tensor its shard lacks',
      { ...shards, 'model.safetensors.index.json': index({ ...good, c: 'model-00001-of-00002.safetensors' }) },
      /maps "c" to model-00001-of-00002.safetensors, which has no such tensor/,
    ],
    [
      'a shard outside the folder',
      { 'model.safetensors.index.json': index({ a: '../x.safetensors' }) },
      /"..\/x.safetensors" is not a plain file name/,
    ],
  ];
  for (const [what, files, message] of bad) {
    it(`refuses ${what}`, async () => {
      await expect(openTensors(blobFolder(files, 'ckpt'))).rejects.toThrow(message);
    });
  }
});

describe('atomic writes (node folder)', () => {
  it('a failed write leaves the old file and no temporary file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'atomic-'));
    try {
      const folder = nodeFolder(dir);
      const first = encodeSafetensors({ a: { shape: [2], data: Float32Array.of(1, 2) } });
      await folder.write('m.safetensors', (sink) => sink(first));
      await expect(
        folder.write('m.safetensors', async (sink) => {
          await sink(new Uint8Array(100));
          throw new Error('disk full');
        }),
      ).rejects.toThrow('disk full');
      expect(new Uint8Array(await readFile(join(dir, 'm.safetensors')))).toEqual(first);
      expect(await readdir(dir)).toEqual(['m.safetensors']);
      expect(await folder.open('nothing.safetensors')).toBeNull();
    } finally {
      await rm(dir, { recursive: true });
    }
  });

  it('a write into a folder that does not exist yet creates it and its parents', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'atomic-'));
    try {
      const folder = nodeFolder(join(dir, 'runs', 'adapter'));
      const bytes = encodeSafetensors({ a: { shape: [1], data: Float32Array.of(3) } });
      await folder.write('m.safetensors', (sink) => sink(bytes));
      expect(new Uint8Array(await readFile(join(dir, 'runs', 'adapter', 'm.safetensors')))).toEqual(bytes);
      expect(await readdir(join(dir, 'runs', 'adapter'))).toEqual(['m.safetensors']);
    } finally {
      await rm(dir, { recursive: true });
    }
  });
});
