import { readFileSync, readdirSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SafetensorsError, SafetensorsFile } from '../src/io/safetensors.js';
import { encodeSafetensors } from '../src/io/safetensors-write.js';
import { readMergeCase } from '../src/conformance/merge-case.js';
import { makeMergeVector, randomSpec } from './support/make-vector.js';

const VECTORS = pathToFileURL(`${process.env.VECTORS ?? new URL('../../shared/vectors', import.meta.url).pathname}/`);

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
    const bytes = encodeSafetensors({ a: { shape: [2, 2], data: a }, b: { shape: [0], data: new Float32Array(0) } }, { k: '"v"' });
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
    const f = SafetensorsFile.parse(header(JSON.stringify({
      h: { dtype: 'F16', shape: [1], data_offsets: [0, 2] },
      b: { dtype: 'BF16', shape: [1], data_offsets: [2, 4] },
      d: { dtype: 'F64', shape: [1], data_offsets: [4, 12] },
    }), data), 'x');
    expect([f.tensor('h').data[0], f.tensor('b').data[0], f.tensor('d').data[0]]).toEqual([-1, 3.140625, 0.5]);
  });

  const four = new Uint8Array(4);
  const malformed: Array<[string, Uint8Array, RegExp]> = [
    ['empty file', new Uint8Array(0), /too short/],
    ['7 bytes', new Uint8Array(7), /too short/],
    ['header longer than the file', header('{}').subarray(0, 9), /runs past the end/],
    ['huge header length', (() => { const b = new Uint8Array(16); new DataView(b.buffer).setBigUint64(0, 1n << 40n, true); return b; })(), /exceeds/],
    ['not JSON', header('{"a": '), /not valid UTF-8 JSON/],
    ['JSON array', header('[1,2]'), /not an object/],
    ['unknown dtype', header('{"a":{"dtype":"Q4","shape":[1],"data_offsets":[0,4]}}', four), /dtype "Q4"/],
    ['negative shape', header('{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}', four), /invalid shape/],
    ['offsets out of range', header('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', four), /truncated/],
    ['offsets reversed', header('{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}', four), /invalid data_offsets/],
    ['size mismatch', header('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}', four), /needs 8/],
    ['overlap', header('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', four), /overlap/],
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
    ['a mismatched shape', rebuild((t) => { t.x = { shape: [7, 3], data: t.x.data.slice(0, 21) }; }), /"x" has shape \[7, 3\], expected \[3, 7\]/],
    ['NaN in an input', rebuild((t) => { t.In_Qs.data[5] = NaN; }), /"In_Qs" holds NaN at flat index 5/],
    ['a rank not divisible by H', rebuild((_, m) => { m.q_dim = '5'; }), /rank 5 is not divisible by heads H = 2/],
    ['missing metadata', rebuild((_, m) => delete m.kind), /metadata "kind" is missing/],
    ['an unknown kind', rebuild((_, m) => { m.kind = '"dora"'; }), /"kind" is "dora"/],
    ['a truncated file', baseBytes.subarray(0, 700), /truncated/],
    ['a PNG file', Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]), /not a safetensors file|runs past the end/],
  ];
  for (const [what, bytes, message] of defects) {
    it(`a vector with ${what} is refused clearly`, () => {
      expect(() => readMergeCase(bytes, 'merge_case.safetensors')).toThrow(message);
      expect(() => readMergeCase(bytes, 'merge_case.safetensors')).toThrow(/^merge_case\.safetensors: [^\n]+$/);
    });
  }
});
