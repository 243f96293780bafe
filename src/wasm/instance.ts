// Instantiation of the AssemblyScript module (assembly/, built by `npm run build:wasm` into
// build/snell.wasm and embedded as bytes by the build) and the signatures of its exports.
// Pointers are byte offsets into the exported memory; wasm i32 results come back signed, so
// every pointer-sized result is read with `>>> 0`.

import wasmBytes from '../../build/snell.wasm';

/** The raw exports of assembly/index.ts (booleans are passed as 0/1). */
export interface SnellExports {
  readonly memory: WebAssembly.Memory;
  heapBase(): number;
  mergeScratchBytes(H: number, m: number, k: number): number;
  merge(a: number, b: number, H: number, n: number, m: number, k: number, linear: number, coeff: number, w: number, scratch: number): void;
  mergeBackward(
    a: number, b: number, dw: number, H: number, n: number, m: number, k: number, linear: number, coeff: number,
    da: number, db: number, scratch: number,
  ): void;
  mixture(w0: number, n: number, m: number, alpha: number, gamma: number, beta: number, w: number, p: number): void;
  mixtureBackward(
    dw: number, w0: number, p: number, alpha: number, gamma: number, n: number, m: number,
    dw0: number, dAlpha: number, dGamma: number, dBeta: number,
  ): void;
  quantileAbs(w: number, N: number, lo: number, frac: number, out: number): void;
  sparsify(w: number, N: number, t: number, ws: number, kept: number): void;
  sparsifyBackward(g: number, w: number, N: number, t: number, dw: number): void;
  matmulScratchBytes(): number;
  matmul(
    a: number, b: number, c: number, M: number, N: number, K: number,
    transA: number, transB: number, accumulate: number, scratch: number,
  ): void;
}

/** Bytes in one wasm page, and the wasm32 ceiling the module declares as its maximum (65536 pages). */
export const PAGE = 65536;
export const MAX_BYTES = 2 ** 32;

/** A fresh instance of the kernels module (each backend owns its own memory). */
export async function instantiateSnell(bytes: Uint8Array = wasmBytes): Promise<SnellExports> {
  const { instance } = await WebAssembly.instantiate(bytes as Uint8Array<ArrayBuffer>, {});
  return instance.exports as unknown as SnellExports;
}
