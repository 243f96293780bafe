// The Wasm backend started from a precompiled WebAssembly.Module, as edge runtimes hand it over (the
// edge entry's path), for each build of the kernels (plain and relaxed SIMD): the same lines on the
// golden vectors as the backend compiled from the same build's bytes, one thread, and a clear error
// when more are asked for.

import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import relaxedBytes from '../build/snell-relaxed.wasm';
import wasmBytes from '../build/snell.wasm';
import { runConformance, type VectorFile } from '../src/conformance/run.js';
import { createWasmBackend } from '../src/wasm/backend.js';
import type { SimdPath } from '../src/wasm/simd.js';
import { SIMD_PATHS } from './support/simd.js';
import { VECTORS_DIR } from './support/vectors.js';

const files: VectorFile[] = readdirSync(VECTORS_DIR)
  .filter((n) => /^(merge|block|train)_.*\.safetensors$/.test(n))
  .map((name) => ({ name, bytes: new Uint8Array(readFileSync(`${VECTORS_DIR}/${name}`)) }));

/** Every line the runner prints for the vectors on one backend. */
async function lines(simd: SimdPath, module?: WebAssembly.Module): Promise<string[]> {
  const backend = await createWasmBackend(module ? { module } : { simd });
  const out: string[] = [];
  try {
    const summary = await runConformance(files, { backend, runtime: 'node', log: (l) => out.push(l) });
    expect(summary).toEqual({ passed: files.length, failed: 0 });
    return out;
  } finally {
    backend.destroy();
  }
}

const BYTES: Record<SimdPath, Uint8Array> = { plain: wasmBytes, relaxed: relaxedBytes };
const BUILD: Record<SimdPath, string> = { plain: 'simd128', relaxed: 'simd128+relaxed-fma' };

for (const simd of SIMD_PATHS) {
  describe(`wasm backend from a precompiled module, ${simd} SIMD`, () => {
    const compiled = () => new WebAssembly.Module(BYTES[simd] as Uint8Array<ArrayBuffer>);

    it('passes every vector with the same errors, to the digit, as the same build compiled from bytes', async () => {
      expect(files.length).toBeGreaterThanOrEqual(10);
      expect(await lines(simd, compiled())).toEqual(await lines(simd));
    });

    it('runs on one thread and says why and which build; more threads are refused with the fix', async () => {
      const module = compiled();
      const backend = await createWasmBackend({ module });
      expect(backend.description).toBe(`wasm32 SIMD (AssemblyScript, ${BUILD[simd]}), 1 thread (precompiled module)`);
      backend.destroy();
      await expect(createWasmBackend({ module, threads: 2 })).rejects.toThrow(
        /a precompiled module runs on one thread, 2 were asked for: leave threads unset or pass the bytes/,
      );
    });
  });
}
