// Instantiation of the AssemblyScript module (assembly/, built by `npm run build:wasm` and embedded
// as bytes by the build) and the signatures of its exports. Two builds of the same source:
//   build/snell.wasm         owns (and exports) its memory: the single-thread backend
//   build/snell-shared.wasm  imports a shared memory (env.memory, 1 … 65536 pages): the caller and
//                            every worker instantiate it on the same memory (see threads.ts).
// and each of them twice: plain simd128 (above) and with relaxed SIMD's fused multiply-add
// (build/snell-relaxed.wasm, build/snell-relaxed-shared.wasm); simd.ts picks one at load.
//                            Each instance rewrites the static data (math tables, below heapBase)
//                            with the same bytes when it starts, before any kernel runs; no static
//                            scratch is shared between threads (matmul's edge tile is in per-thread
//                            scratch; quantileAbs's histogram is used on the calling thread only).
// Pointers are byte offsets into the memory; wasm i32 results come back signed, so every
// pointer-sized result is read with `>>> 0`.

import relaxedSharedBytes from '../../build/snell-relaxed-shared.wasm';
import relaxedBytes from '../../build/snell-relaxed.wasm';
import sharedBytes from '../../build/snell-shared.wasm';
import wasmBytes from '../../build/snell.wasm';
import type { SimdPath } from './simd.js';

/** The raw exports of assembly/index.ts (booleans are passed as 0/1). */
export interface SnellExports {
  readonly memory: WebAssembly.Memory;
  heapBase(): number;
  /** 1 in the relaxed-SIMD builds (fused multiply-add), 0 in the plain ones. */
  relaxedSimd(): number;
  mergeScratchBytes(H: number, m: number, k: number, groups: number, threads: number): number;
  packB4(b: number, H: number, m: number, k: number, dst: number): void;
  merge(
    a: number,
    packed: number,
    H: number,
    n: number,
    m: number,
    k: number,
    linear: number,
    coeff: number,
    w: number,
    i0: number,
    rows: number,
  ): void;
  mergeBackward(
    a: number,
    packed: number,
    dw: number,
    H: number,
    n: number,
    m: number,
    k: number,
    linear: number,
    coeff: number,
    da: number,
    g0: number,
    g1: number,
    groups: number,
    acc: number,
  ): void;
  mergeBackwardReduce(
    partials: number,
    groups: number,
    H: number,
    m: number,
    k: number,
    db: number,
    o0: number,
    count: number,
  ): void;
  mixture(w0: number, n: number, m: number, alpha: number, gamma: number, beta: number, w: number, p: number): void;
  mixtureBackward(
    dw: number,
    w0: number,
    p: number,
    alpha: number,
    gamma: number,
    n: number,
    m: number,
    dw0: number,
    dAlpha: number,
    dGamma: number,
    dBeta: number,
  ): void;
  quantileAbs(w: number, N: number, lo: number, frac: number, out: number): void;
  sparsify(w: number, N: number, t: number, ws: number, kept: number): void;
  sparsifyBackward(g: number, w: number, N: number, t: number, dw: number): void;
  panelBytes(R: number, K: number): number;
  packPanels(x: number, R: number, K: number, dst: number, p0: number, count: number): void;
  countNonzeros(s: number, size: number): number;
  sparseColumns(b: number, K: number, N: number, transB: number, offsets: number, entries: number, cursor: number): void;
  sparseProduct(
    panels: number,
    R: number,
    K: number,
    N: number,
    offsets: number,
    entries: number,
    out: number,
    accumulate: number,
    p0: number,
    count: number,
  ): void;
  countKept(w: number, size: number, t: number): number;
  keptRows(w: number, n: number, m: number, t: number, offsets: number, indices: number): void;
  keptGradient(
    xp: number,
    dp: number,
    np: number,
    n: number,
    m: number,
    offsets: number,
    indices: number,
    w: number,
    dw: number,
    i0: number,
    rows: number,
  ): void;
  matmulScratchBytes(): number;
  gemm(
    a: number,
    lda: number,
    b: number,
    ldb: number,
    c: number,
    ldc: number,
    M: number,
    N: number,
    K: number,
    transA: number,
    transB: number,
    accumulate: number,
    scratch: number,
  ): void;
  // transformer primitives (null outputs are pointer 0)
  add(a: number, b: number, out: number, n: number): void;
  addInto(out: number, a: number, n: number): void;
  addTransposed(a: number, b: number, out: number, r: number, c: number, i0: number, rows: number): void;
  addBias(out: number, bias: number, R: number, N: number): void;
  copy(src: number, out: number, n: number): void;
  zero(out: number, n: number): void;
  gelu(x: number, out: number, n: number): void;
  geluBackward(dy: number, x: number, dx: number, n: number): void;
  sumRows(x: number, R: number, N: number, out: number, accumulate: number): void;
  sumSquares(x: number, n: number, out: number, accumulate: number): void;
  clipFactor(sumSq: number, maxNorm: number, factor: number): void;
  layerNormScratchBytes(D: number): number;
  layerNorm(x: number, w: number, b: number, R: number, D: number, eps: number, out: number, mean: number, rstd: number): void;
  layerNormBackward(
    dy: number,
    x: number,
    w: number,
    mean: number,
    rstd: number,
    R: number,
    D: number,
    dx: number,
    dw: number,
    db: number,
    scratch: number,
  ): void;
  attentionScratchBytes(Tq: number, Tk: number): number;
  /** offset < 0: not causal; mask 0: no key mask; units u0 … u0 + units − 1 of the B·KV (b, g) units */
  attention(
    q: number,
    k: number,
    v: number,
    Tq: number,
    Tk: number,
    H: number,
    KV: number,
    hd: number,
    offset: number,
    mask: number,
    out: number,
    probs: number,
    scratch: number,
    u0: number,
    units: number,
  ): void;
  attentionBackward(
    dOut: number,
    q: number,
    k: number,
    v: number,
    probs: number,
    Tq: number,
    Tk: number,
    H: number,
    KV: number,
    hd: number,
    dq: number,
    dk: number,
    dv: number,
    scratch: number,
    u0: number,
    units: number,
  ): void;
  embedTokens(patches: number, cls: number, pos: number, out: number, B: number, T: number, D: number): void;
  embedTokensBackward(dOut: number, dPatches: number, dCls: number, dPos: number, B: number, T: number, D: number): void;
  poolTokens(x: number, mode: number, out: number, B: number, T: number, D: number): void;
  poolTokensBackward(dOut: number, mode: number, dx: number, B: number, T: number, D: number): void;
  softmaxCrossEntropy(logits: number, labels: number, B: number, C: number, loss: number, dLogits: number, correct: number): void;
  tokenCrossEntropyRows(
    logits: number,
    labels: number,
    N: number,
    V: number,
    r0: number,
    rows: number,
    dLogits: number,
    partial: number,
  ): void;
  tokenCrossEntropyTotal(partial: number, labels: number, N: number, loss: number, correct: number): void;
  embed(ids: number, table: number, V: number, D: number, N: number, out: number): void;
  embedBackward(dOut: number, ids: number, N: number, V: number, D: number, dTable: number): void;
  gatherRows(x: number, index: number, B: number, T: number, D: number, out: number): void;
  gatherRowsBackward(dOut: number, index: number, B: number, T: number, D: number, dx: number): void;
  adamw(
    p: number,
    g: number,
    m: number,
    v: number,
    n: number,
    gradScale: number,
    decay: number,
    stepSize: number,
    beta1: number,
    beta2: number,
    eps: number,
    bc2sqrt: number,
  ): void;
  dropout(x: number, out: number, n: number, first: number, seed: number, cut: number, scale: number): void;
  dropPath(x: number, out: number, B: number, len: number, seed: number, cut: number, scale: number): void;
  maskScale(x: number, mask: number, out: number, B: number, len: number, scale: number): void;
  importance(
    theta: number,
    grad: number,
    ipt: number,
    unc: number,
    n: number,
    beta1: number,
    beta2: number,
    skipped: number,
  ): void;
  // decoder primitives (null outputs are pointer 0; sign 1: rope, −1: its transpose)
  rmsNormScratchBytes(D: number): number;
  rmsNorm(x: number, w: number, R: number, D: number, eps: number, out: number, rstd: number): void;
  rmsNormBackward(
    dy: number,
    x: number,
    w: number,
    rstd: number,
    R: number,
    D: number,
    dx: number,
    dw: number,
    scratch: number,
  ): void;
  rope(
    x: number,
    cos: number,
    sin: number,
    out: number,
    first: number,
    rows: number,
    T: number,
    C: number,
    hd: number,
    offset: number,
    sign: number,
  ): void;
  siluMul(gate: number, up: number, out: number, n: number): void;
  siluMulBackward(dy: number, gate: number, up: number, dGate: number, dUp: number, n: number): void;
  geluTanh(x: number, out: number, n: number): void;
  geluTanhBackward(dy: number, x: number, dx: number, n: number): void;
}

/** Bytes in one wasm page, and the wasm32 ceiling the module declares as its maximum (65536 pages). */
export const PAGE = 65536;
export const MAX_BYTES = 2 ** 32;

/**
 * The bytes of a module, or the module compiled ahead: edge runtimes (Cloudflare Workers, Vercel Edge)
 * refuse to compile Wasm at run time and hand the program a WebAssembly.Module for each imported .wasm
 * file, which is what the edge build's imports of build/*.wasm give.
 */
export type WasmSource = Uint8Array | WebAssembly.Module;

/** An instance of `source` (WebAssembly.instantiate returns an Instance for a module, a pair for bytes). */
export async function instantiate(source: WasmSource, imports: WebAssembly.Imports): Promise<WebAssembly.Instance> {
  if (source instanceof WebAssembly.Module) return WebAssembly.instantiate(source, imports);
  return (await WebAssembly.instantiate(source as Uint8Array<ArrayBuffer>, imports)).instance;
}

/** The single-thread and shared-memory builds of each path. */
const BUILDS: Record<SimdPath, { single: Uint8Array; shared: Uint8Array }> = {
  plain: { single: wasmBytes, shared: sharedBytes },
  relaxed: { single: relaxedBytes, shared: relaxedSharedBytes },
};

/** A fresh instance of the kernels module with its own memory. */
export async function instantiateSnell(source: WasmSource): Promise<SnellExports> {
  return (await instantiate(source, {})).exports as unknown as SnellExports;
}

/** The bytes of the single-thread build of `path` (a precompiled module in the edge build). */
export function singleModule(path: SimdPath): Uint8Array {
  return BUILDS[path].single;
}

/** The bytes of the shared-memory build of `path`, for workers to instantiate on the same memory. */
export function sharedModule(path: SimdPath): Uint8Array {
  return BUILDS[path].shared;
}

/**
 * A shared memory for the shared-memory build (its whole 4 GiB maximum is reserved up front), or
 * null where the host has no shared memory (a browser page that is not cross-origin isolated).
 */
export function sharedMemory(): WebAssembly.Memory | null {
  try {
    return new WebAssembly.Memory({ initial: 1, maximum: MAX_BYTES / PAGE, shared: true });
  } catch {
    return null;
  }
}

/** An instance of the shared-memory build of `path` on `memory`. */
export async function instantiateShared(memory: WebAssembly.Memory, path: SimdPath): Promise<SnellExports> {
  return (await instantiate(sharedModule(path), { env: { memory } })).exports as unknown as SnellExports;
}
