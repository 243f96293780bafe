// The choice between the two builds of the wasm kernels (src/wasm/simd.ts): plain simd128 and relaxed
// SIMD's fused multiply-add. The feature probe, what each choice runs and says in `description`,
// the errors for a choice the engine cannot honour, and that the relaxed build is really exercised
// here (vitest gives Node 20 its flag), so the suites that loop over SIMD_PATHS test both.

import { afterEach, describe, expect, it, vi } from 'vitest';
import { createWasmBackend } from '../src/wasm/backend.js';
import { relaxedSimdSupported, simdPath } from '../src/wasm/simd.js';
import { SIMD_PATHS } from './support/simd.js';
import wasmBytes from '../build/snell.wasm';

describe('wasm SIMD build choice', () => {
  afterEach(() => vi.restoreAllMocks());

  it('the relaxed build is available in the test processes, so both builds are tested', () => {
    expect(relaxedSimdSupported()).toBe(true);
    expect(SIMD_PATHS).toEqual(['plain', 'relaxed']);
  });

  it("'auto' runs the relaxed build where it validates, plain where it does not", async () => {
    expect(simdPath('auto')).toBe('relaxed');
    expect(simdPath()).toBe('relaxed');
    const b = await createWasmBackend();
    expect(b.description).toBe('wasm32 SIMD (AssemblyScript, simd128+relaxed-fma), 1 thread');
    b.destroy();
    vi.spyOn(WebAssembly, 'validate').mockReturnValue(false);
    expect(simdPath('auto')).toBe('plain');
    const plain = await createWasmBackend();
    expect(plain.description).toBe('wasm32 SIMD (AssemblyScript, simd128), 1 thread');
    plain.destroy();
  });

  it("'plain' is always plain; 'relaxed' where the engine lacks it is an error naming the fix", async () => {
    expect(simdPath('plain')).toBe('plain');
    vi.spyOn(WebAssembly, 'validate').mockReturnValue(false);
    await expect(createWasmBackend({ simd: 'relaxed' })).rejects.toThrow(
      /simd 'relaxed' was asked for, but this engine rejects relaxed-SIMD modules.*Fix: use simd 'auto' or 'plain'.*--experimental-wasm-relaxed-simd/,
    );
  });

  it('refuses an unknown choice, and a choice next to a precompiled module', async () => {
    await expect(createWasmBackend({ simd: 'fma' as never })).rejects.toThrow(
      /simd must be one of 'auto', 'relaxed', 'plain', got fma/,
    );
    const module = new WebAssembly.Module(wasmBytes as Uint8Array<ArrayBuffer>);
    await expect(createWasmBackend({ module, simd: 'plain' })).rejects.toThrow(
      /a precompiled module is the build it is, simd cannot choose another/,
    );
  });
});
