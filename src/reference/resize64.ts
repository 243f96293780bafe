// Float64 plain-loop reference of the image resize (torchvision `Resize`, bilinear, on float tensors;
// definition in assembly/prep/resize.ts), written from the definition, not from the kernel:
//   per axis, scale = in/out.
//   Downscaling with antialias (PIL's triangle filter): out[i] = Σ_j tri((j + 0.5 − c)/scale)·in[j] / Σ_j tri(…),
//     c = scale·(i + 0.5), tri(t) = max(0, 1 − |t|), j over every input index (zero weights fall out).
//   Otherwise (upscaling, or antialias off): half-pixel bilinear, src = max(0, (i + 0.5)·scale − 0.5),
//     i0 = ⌊src⌋ (at most in−1), i1 = min(i0 + 1, in − 1), λ = src − i0, out = (1−λ)·in[i0] + λ·in[i1].
// Separable: width first, then height. Planes [C, H, W] → [C, outH, outW].

type Arr = ArrayLike<number>;

/** Resamples rows of length `inSize` (`rows` of them, contiguous) to length `outSize`. */
function axis(src: Arr, rows: number, inSize: number, outSize: number, antialias: boolean): Float64Array {
  const out = new Float64Array(rows * outSize);
  const scale = inSize / outSize;
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < outSize; i++) {
      let v = 0;
      if (antialias && scale > 1) {
        const c = scale * (i + 0.5);
        let total = 0;
        for (let j = 0; j < inSize; j++) {
          const w = Math.max(0, 1 - Math.abs((j + 0.5 - c) / scale));
          v += w * src[r * inSize + j];
          total += w;
        }
        v /= total;
      } else {
        const s = Math.max(0, (i + 0.5) * scale - 0.5);
        const i0 = Math.min(Math.floor(s), inSize - 1);
        const i1 = Math.min(i0 + 1, inSize - 1);
        const l = s - i0;
        v = (1 - l) * src[r * inSize + i0] + l * src[r * inSize + i1];
      }
      out[r * outSize + i] = v;
    }
  }
  return out;
}

/** Transposes each of C planes [A, B] → [B, A]. */
function transpose(x: Arr, C: number, A: number, B: number): Float64Array {
  const out = new Float64Array(C * A * B);
  for (let c = 0; c < C; c++)
    for (let a = 0; a < A; a++) for (let b = 0; b < B; b++) out[(c * B + b) * A + a] = x[(c * A + a) * B + b];
  return out;
}

/** src [C, H, W] → [C, outH, outW]. */
export function resize64(src: Arr, C: number, H: number, W: number, outH: number, outW: number, antialias = true): Float64Array {
  const wide = W === outW ? Float64Array.from(src) : axis(src, C * H, W, outW, antialias);
  if (H === outH) return wide;
  return transpose(axis(transpose(wide, C, H, outW), C * outW, H, outH, antialias), C, outW, outH);
}
