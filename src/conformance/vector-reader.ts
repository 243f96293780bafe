// Checked reads of one golden vector file: its metadata (JSON-encoded strings, each decoded), positive
// integer settings and tensors, every problem a SafetensorsError naming the file and what is wrong.

import type { NamedArray } from '../core/weights.js';
import { SafetensorsError, SafetensorsFile } from '../io/safetensors.js';

export function vectorReader(bytes: Uint8Array, file: string) {
  const st = SafetensorsFile.parse(bytes, file);
  const fail = (problem: string): never => {
    throw new SafetensorsError(file, problem);
  };
  const meta = (key: string, fallback?: unknown): unknown => {
    if (!(key in st.metadata)) {
      if (fallback !== undefined) return fallback;
      fail(`metadata "${key}" is missing`);
    }
    try {
      return JSON.parse(st.metadata[key]);
    } catch {
      return fail(`metadata "${key}" is not JSON-encoded: ${st.metadata[key]}`);
    }
  };
  const num = (key: string): number => {
    const v = meta(key);
    if (typeof v !== 'number' || !Number.isFinite(v)) fail(`metadata "${key}" must be a finite number, got ${JSON.stringify(v)}`);
    return v as number;
  };
  const int = (key: string, fallback?: number): number => {
    const v = meta(key, fallback);
    if (!Number.isInteger(v) || (v as number) < 1) fail(`metadata "${key}" must be a positive integer, got ${JSON.stringify(v)}`);
    return v as number;
  };
  const tensor = (name: string, input = false): NamedArray => {
    if (!st.has(name)) fail(`tensor "${name}" is missing`);
    const t = st.tensor(name);
    if (input) {
      const bad = t.data.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0) fail(`input tensor "${name}" holds ${t.data[bad]} at flat index ${bad}: inputs must be finite`);
    }
    return t;
  };
  /** Every tensor under `prefix`, renamed without it. */
  const under = (prefix: string): Map<string, NamedArray> =>
    new Map([...st.entries.keys()].filter((k) => k.startsWith(prefix)).map((k) => [k.slice(prefix.length), tensor(k, true)]));
  return { st, fail, meta, num, int, tensor, under };
}

export type VectorReader = ReturnType<typeof vectorReader>;
