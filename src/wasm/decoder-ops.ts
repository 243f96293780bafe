// The wasm backend's decoder primitives (RMSNorm, RoPE, SwiGLU's silu product, gelu_new) on the
// kernels of assembly/ (rmsnorm, rope, activations). RMSNorm's forward pass and RoPE split by rows,
// the activations by elements, each piece a block of the output computed exactly as in one call, so
// results do not depend on the thread count; RMSNorm's backward runs on the calling thread (its dw
// sums run over all rows in order). The contract (src/contract) has checked every argument.

import type { Tensor } from '../backend.js';
import { matrixDims } from '../contract/shapes.js';
import { ptr, ptrOrNull } from './runtime.js';
import { WasmSnellOps } from './snell-ops.js';
import { pieces, ranges } from './split.js';

/** Rotated elements each thread should at least get before RoPE is split. */
const ROPE_GRAIN = 2 ** 15;

/** The decoder primitives over the SNELL ones; WasmExecutor adds the rest. */
export abstract class WasmDecoderOps extends WasmSnellOps {
  rmsNorm(x: Tensor, wt: Tensor, eps: number, out: Tensor, rstd: Tensor): void {
    const [R, D] = matrixDims(x);
    const [px, pw, po, pr] = [x, wt, out, rstd].map(ptr);
    this.run(
      'rmsNorm',
      ranges(R, pieces(R * D, 2 ** 15, this.threads)).map(([r, n]) => [
        px + 4 * r * D,
        pw,
        n,
        D,
        eps,
        po + 4 * r * D,
        pr + 4 * r,
      ]),
    );
  }

  rmsNormBackward(dy: Tensor, x: Tensor, wt: Tensor, rstd: Tensor, dx: Tensor, dw: Tensor | null): void {
    const w = this.exports();
    const [R, D] = matrixDims(x);
    const s = this.memory.scratch(w.rmsNormScratchBytes(D) >>> 0);
    w.rmsNormBackward(ptr(dy), ptr(x), ptr(wt), ptr(rstd), R, D, ptr(dx), ptrOrNull(dw), s.ptr);
  }

  rope(x: Tensor, cos: Tensor, sin: Tensor, heads: number, offset: number, out: Tensor): void {
    this.rotate(x, cos, sin, heads, offset, out, 1);
  }

  ropeBackward(dy: Tensor, cos: Tensor, sin: Tensor, heads: number, offset: number, dx: Tensor): void {
    this.rotate(dy, cos, sin, heads, offset, dx, -1);
  }

  siluMul(gate: Tensor, up: Tensor, out: Tensor): void {
    this.elementwise('siluMul', gate.size, (at, n) => [ptr(gate) + 4 * at, ptr(up) + 4 * at, ptr(out) + 4 * at, n]);
  }

  siluMulBackward(dy: Tensor, gate: Tensor, up: Tensor, dGate: Tensor, dUp: Tensor): void {
    const [pd, pg, pu, pdg, pdu] = [dy, gate, up, dGate, dUp].map(ptr);
    this.elementwise('siluMulBackward', gate.size, (at, n) => [
      pd + 4 * at,
      pg + 4 * at,
      pu + 4 * at,
      pdg + 4 * at,
      pdu + 4 * at,
      n,
    ]);
  }

  geluTanh(x: Tensor, out: Tensor): void {
    this.elementwise('geluTanh', x.size, (at, n) => [ptr(x) + 4 * at, ptr(out) + 4 * at, n]);
  }

  geluTanhBackward(dy: Tensor, x: Tensor, dx: Tensor): void {
    this.elementwise('geluTanhBackward', x.size, (at, n) => [ptr(dy) + 4 * at, ptr(x) + 4 * at, ptr(dx) + 4 * at, n]);
  }

  /** One row at a time through the copy kernel (a memory copy of W floats). */
  sliceColumns(x: Tensor, start: number, out: Tensor): void {
    const [R, C] = matrixDims(x);
    const W = out.shape[out.shape.length - 1]!;
    const w = this.exports();
    for (let r = 0; r < R; r++) w.copy(ptr(x) + 4 * (r * C + start), ptr(out) + 4 * r * W, W);
  }

  /** One row at a time through the add kernel (dx row block += d row). */
  addColumns(dx: Tensor, start: number, d: Tensor): void {
    const [R, C] = matrixDims(dx);
    const W = d.shape[d.shape.length - 1]!;
    const w = this.exports();
    for (let r = 0; r < R; r++) w.addInto(ptr(dx) + 4 * (r * C + start), ptr(d) + 4 * r * W, W);
  }

  /** RoPE rows (b, t) of x [B, T, C] in pieces of whole rows; sign −1 is the transpose. */
  private rotate(x: Tensor, cos: Tensor, sin: Tensor, heads: number, offset: number, out: Tensor, sign: number): void {
    const [B, T, C] = x.shape;
    const [px, pc, ps, po] = [x, cos, sin, out].map(ptr);
    this.run(
      'rope',
      ranges(B * T, pieces(B * T * C, ROPE_GRAIN, this.threads)).map(([r, n]) => [
        px,
        pc,
        ps,
        po,
        r,
        n,
        T,
        C,
        C / heads,
        offset,
        sign,
      ]),
    );
  }
}
