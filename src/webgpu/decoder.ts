// The decoder primitives of src/backend.ts on the WebGPU kernels (wgsl/rmsnorm, rope, activations, columns):
// uniform parameters and dispatch sizes for arguments the contract (src/contract) has checked. RMSNorm's
// dw ends in reduce.wgsl's sum_chunks (the two-stage, fixed-order column sums of LayerNorm's dw);
// RoPE in place (out = x) takes the kernel that binds the tensor once, read_write.

import type { Tensor } from '../backend.js';
import { matrixDims } from '../contract/shapes.js';
import { f32bits } from './commands.js';
import type { KernelHost } from './host.js';
import { DECODER_KERNELS as K, TRANSFORMER_KERNELS, WG } from './kernels.js';
import type { KernelSpec } from './pipelines.js';

const ceil = (a: number, b: number) => Math.ceil(a / b);

export class DecoderOps {
  constructor(private readonly host: KernelHost) {}

  // ---- rmsnorm.wgsl ----

  rmsNorm(x: Tensor, w: Tensor, eps: number, out: Tensor, rstd: Tensor): void {
    const [R, D] = matrixDims(x);
    this.host.run(K.rmsNorm, {}, [R, D, f32bits(eps), 0, 0], [x, w, out, rstd], R);
  }

  rmsNormBackward(dy: Tensor, x: Tensor, w: Tensor, rstd: Tensor, dx: Tensor, dw: Tensor | null): void {
    const [R, D] = matrixDims(x);
    this.host.run(K.rmsNormDx, {}, [R, D, 0, 0, 0], [dy, x, w, rstd, dx], R);
    if (!dw) return;
    const rpc = WG.rowsPerChunk;
    const chunks = ceil(R, rpc);
    const partial = this.host.scratch(chunks * D * 4);
    this.host.run(K.rmsNormPartial, {}, [R, D, 0, rpc, chunks], [dy, x, rstd, { buffer: partial }], ceil(D, WG.reduce) * chunks);
    // reduce.wgsl's uniform: rows, cols, rpc, chunks, base, accumulate, n, max_norm
    const sums = [0, D, 1, chunks, 0, 1, 0, 0];
    this.host.run(TRANSFORMER_KERNELS.sumChunks, {}, sums, [{ buffer: partial }, dw], ceil(D, WG.reduce));
    this.host.release(partial);
  }

  // ---- columns.wgsl ----

  sliceColumns(x: Tensor, start: number, out: Tensor): void {
    const [R, C] = matrixDims(x);
    const W = out.shape[out.shape.length - 1]!;
    if (R * W > 0) this.host.run(K.sliceColumns, {}, [R, C, W, start, R * W], [x, out], ceil(R * W, WG.elementwise));
  }

  addColumns(dx: Tensor, start: number, d: Tensor): void {
    const [R, C] = matrixDims(dx);
    const W = d.shape[d.shape.length - 1]!;
    if (R * W > 0) this.host.run(K.addColumns, {}, [R, C, W, start, R * W], [d, dx], ceil(R * W, WG.elementwise));
  }

  // ---- rope.wgsl ----

  rope(x: Tensor, cos: Tensor, sin: Tensor, heads: number, offset: number, out: Tensor): void {
    this.rotate(x, cos, sin, heads, offset, out, 1);
  }

  ropeBackward(dy: Tensor, cos: Tensor, sin: Tensor, heads: number, offset: number, dx: Tensor): void {
    this.rotate(dy, cos, sin, heads, offset, dx, -1);
  }

  // ---- activations.wgsl ----

  siluMul(gate: Tensor, up: Tensor, out: Tensor): void {
    this.elementwise(K.siluMul, [gate, up, out]);
  }

  siluMulBackward(dy: Tensor, gate: Tensor, up: Tensor, dGate: Tensor, dUp: Tensor): void {
    this.elementwise(K.siluMulBackward, [dy, gate, up, dGate, dUp]);
  }

  geluTanh(x: Tensor, out: Tensor): void {
    this.elementwise(K.geluTanh, [x, out]);
  }

  geluTanhBackward(dy: Tensor, x: Tensor, dx: Tensor): void {
    this.elementwise(K.geluTanhBackward, [dy, x, dx]);
  }

  // ---- helpers ----

  /** One thread per rotated pair of x [B, T, C]; sign −1 is the transpose. */
  private rotate(x: Tensor, cos: Tensor, sin: Tensor, heads: number, offset: number, out: Tensor, sign: number): void {
    const [B, T, C] = x.shape;
    const pairs = (B * T * C) / 2;
    const hd = C / heads;
    const params = [pairs, T, C, hd, hd / 2, offset, f32bits(sign)];
    const groups = ceil(pairs, WG.elementwise);
    if (out === x) this.host.run(K.ropeInPlace, {}, params, [cos, sin, out], groups);
    else this.host.run(K.rope, {}, params, [x, cos, sin, out], groups);
  }

  /** An elementwise kernel over the first tensor's elements. */
  private elementwise(spec: KernelSpec, buffers: Tensor[]): void {
    const n = buffers[0].size;
    this.host.run(spec, {}, [n], buffers, ceil(n, WG.elementwise));
  }
}
