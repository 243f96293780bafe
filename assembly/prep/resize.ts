// Separable resize of f32 planes [C, H, W] → [C, outH, outW], torchvision `Resize` with bilinear
// interpolation on float tensors (torch.nn.functional.interpolate, mode="bilinear",
// align_corners=False, antialias=True by default since torchvision 0.17). Per axis (in → out):
//   scale   = in / out
//   support = scale > 1 and antialias ? scale : 1          (the triangle's half-width in input pixels)
//   inv     = scale > 1 and antialias ? 1 / scale : 1
//   for output i: center = scale·(i + 0.5)
//     xmin = max(trunc(center − support + 0.5), 0);  xmax = min(trunc(center + support + 0.5), in)
//     w_j  = tri((j + 0.5 − center)·inv), tri(t) = max(0, 1 − |t|), j in [xmin, xmax), then w /= Σw
//     out[i] = Σ_j w_j·in[j]
// With support 1 (upscaling, or antialias off) this is exactly plain half-pixel bilinear with the
// source index clamped at the borders: src = (i+0.5)·scale − 0.5, out = (1−λ)·in[⌊src⌋] + λ·in[⌊src⌋+1].
// Downscaling with antialias is PIL's triangle filter (PyTorch's _upsample_bilinear2d_aa).
// Width is resampled first, then height; an axis whose size does not change is copied (as PyTorch
// skips it). Weights are computed in f64 and stored f32; sums run in f32 in tap order.

/** Taps per output of one axis (PyTorch: ⌈support⌉·2 + 1). */
function taps(inSize: i32, outSize: i32, antialias: bool): i32 {
  const scale = <f64>inSize / <f64>outSize;
  const support = antialias && scale > 1.0 ? scale : 1.0;
  return <i32>Math.ceil(support) * 2 + 1;
}

/** Bytes of one axis's weight table: per output (xmin i32, xsize i32, taps × f32), 16-aligned. */
function tableBytes(inSize: i32, outSize: i32, antialias: bool): usize {
  return (<usize>outSize * <usize>(2 + taps(inSize, outSize, antialias)) * 4 + 15) & ~(<usize>15);
}

/** Scratch that resize() needs: both weight tables and the [H, outW] intermediate. */
export function resizeScratchBytes(H: i32, W: i32, outH: i32, outW: i32, antialias: i32): usize {
  const aa = antialias != 0;
  return tableBytes(W, outW, aa) + tableBytes(H, outH, aa) + ((<usize>H * <usize>outW * 4 + 15) & ~(<usize>15));
}

/** Fills the weight table of one axis at `table`; returns the taps per entry. */
function fillTable(inSize: i32, outSize: i32, antialias: bool, table: usize): i32 {
  const scale = <f64>inSize / <f64>outSize;
  const down = antialias && scale > 1.0;
  const support = down ? scale : 1.0;
  const inv = down ? 1.0 / scale : 1.0;
  const K = taps(inSize, outSize, antialias);
  const stride = <usize>(2 + K) << 2;
  for (let i = 0; i < outSize; i++) {
    const center = scale * (<f64>i + 0.5);
    const xmin = max(<i32>(center - support + 0.5), 0);
    const xsize = min(<i32>(center + support + 0.5), inSize) - xmin;
    const e = table + <usize>i * stride;
    store<i32>(e, xmin);
    store<i32>(e, xsize, 4);
    let total = 0.0;
    for (let j = 0; j < xsize; j++) total += max(0.0, 1.0 - Math.abs((<f64>(j + xmin) - center + 0.5) * inv));
    for (let j = 0; j < K; j++) {
      const w = j < xsize ? max(0.0, 1.0 - Math.abs((<f64>(j + xmin) - center + 0.5) * inv)) : 0.0;
      store<f32>(e + 8 + (<usize>j << 2), total != 0.0 ? <f32>(w / total) : 0);
    }
  }
  return K;
}

/** src [C, H, W] f32 → dst [C, outH, outW] f32 (antialias 0/1); scratch of resizeScratchBytes(). */
export function resize(src: usize, C: i32, H: i32, W: i32, dst: usize, outH: i32, outW: i32, antialias: i32, scratch: usize): void {
  const aa = antialias != 0;
  const tabW = scratch;
  const tabH = tabW + tableBytes(W, outW, aa);
  const tmp = tabH + tableBytes(H, outH, aa);
  const KW = fillTable(W, outW, aa, tabW);
  const KH = fillTable(H, outH, aa, tabH);
  const strideW = <usize>(2 + KW) << 2;
  const strideH = <usize>(2 + KH) << 2;
  for (let c = 0; c < C; c++) {
    const plane = src + (<usize>c * <usize>H * <usize>W << 2);
    const outPlane = dst + (<usize>c * <usize>outH * <usize>outW << 2);
    // Width: rows of the plane → tmp [H, outW] (the output itself when the height is kept; the
    // plane itself when the width is).
    if (outW == W && outH == H) {
      memory.copy(outPlane, plane, <usize>H * <usize>W << 2);
      continue;
    }
    const wide = outW == W ? plane : outH == H ? outPlane : tmp;
    if (outW != W) {
      for (let y = 0; y < H; y++) {
        const row = plane + (<usize>y * <usize>W << 2);
        const outRow = wide + (<usize>y * <usize>outW << 2);
        for (let x = 0; x < outW; x++) {
          const e = tabW + <usize>x * strideW;
          const xmin = load<i32>(e);
          const xsize = load<i32>(e, 4);
          const from = row + (<usize>xmin << 2);
          let acc = load<f32>(e, 8) * load<f32>(from);
          for (let j = 1; j < xsize; j++) acc += load<f32>(e + 8 + (<usize>j << 2)) * load<f32>(from + (<usize>j << 2));
          store<f32>(outRow + (<usize>x << 2), acc);
        }
      }
    }
    if (outH == H) continue;
    // Height: out row y = Σ_k w_k · tmp row (ymin + k), four columns at a time.
    for (let y = 0; y < outH; y++) {
      const e = tabH + <usize>y * strideH;
      const ymin = load<i32>(e);
      const ysize = load<i32>(e, 4);
      const outRow = outPlane + (<usize>y * <usize>outW << 2);
      const first = wide + (<usize>ymin * <usize>outW << 2);
      const w0 = load<f32>(e, 8);
      let x = 0;
      for (; x + 4 <= outW; x += 4) {
        const o = <usize>x << 2;
        let acc = f32x4.mul(f32x4.splat(w0), v128.load(first + o));
        for (let k = 1; k < ysize; k++) {
          const w = load<f32>(e + 8 + (<usize>k << 2));
          acc = f32x4.add(acc, f32x4.mul(f32x4.splat(w), v128.load(first + (<usize>k * <usize>outW << 2) + o)));
        }
        v128.store(outRow + o, acc);
      }
      for (; x < outW; x++) {
        const o = <usize>x << 2;
        let acc = w0 * load<f32>(first + o);
        for (let k = 1; k < ysize; k++) acc += load<f32>(e + 8 + (<usize>k << 2)) * load<f32>(first + (<usize>k * <usize>outW << 2) + o);
        store<f32>(outRow + o, acc);
      }
    }
  }
}
