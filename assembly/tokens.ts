// Token assembly and pooling of a ViT, x and out [B, T, D]:
//   embedTokens:          out[b,0] = cls + pos[0];  out[b,t] = patches[b,t−1] + pos[t]  (t ≥ 1)
//   embedTokensBackward:  dPatches[b,t−1] = dOut[b,t] (written); dCls += Σ_b dOut[b,0];
//                         dPos[t] += Σ_b dOut[b,t] (accumulated); a null pointer skips the output
//   poolTokens:           out[b] = x[b,0] (cls) or mean_t x[b,t] (mean)
//   poolTokensBackward:   dx[b,0] = dOut[b], dx[b,t≥1] = 0 (cls) or dx[b,t] = dOut[b]/T (mean)
// Since pos[1..T) and patches[b] are contiguous, each sample is two vector adds; the sums over b
// and t run in float64 (reduce.ts).

import { add } from './elementwise';
import { sumStrided } from './reduce';

export function embedTokens(patches: usize, cls: usize, pos: usize, out: usize, B: i32, T: i32, D: i32): void {
  const row = <usize>D << 2;
  for (let b = 0; b < B; b++) {
    const o = out + <usize>b * <usize>T * row;
    add(cls, pos, o, D);
    add(patches + <usize>b * <usize>(T - 1) * row, pos + row, o + row, (T - 1) * D);
  }
}

export function embedTokensBackward(dOut: usize, dPatches: usize, dCls: usize, dPos: usize, B: i32, T: i32, D: i32): void {
  const row = <usize>D << 2;
  if (dPatches) {
    for (let b = 0; b < B; b++) {
      memory.copy(dPatches + <usize>b * <usize>(T - 1) * row, dOut + (<usize>b * <usize>T + 1) * row, <usize>(T - 1) * row);
    }
  }
  if (dCls) sumStrided(dOut, T * D, B, D, dCls, true, 1.0);
  if (dPos) sumStrided(dOut, T * D, B, T * D, dPos, true, 1.0);
}

/** mode 0: the cls token; 1: the mean over tokens. */
export function poolTokens(x: usize, mode: i32, out: usize, B: i32, T: i32, D: i32): void {
  const row = <usize>D << 2;
  for (let b = 0; b < B; b++) {
    const src = x + <usize>b * <usize>T * row;
    const dst = out + <usize>b * row;
    if (mode == 0) memory.copy(dst, src, row);
    else sumStrided(src, D, T, D, dst, false, 1.0 / <f64>T);
  }
}

export function poolTokensBackward(dOut: usize, mode: i32, dx: usize, B: i32, T: i32, D: i32): void {
  const row = <usize>D << 2;
  const tv = f32x4.splat(<f32>T);
  for (let b = 0; b < B; b++) {
    const src = dOut + <usize>b * row;
    const dst = dx + <usize>b * <usize>T * row;
    if (mode == 0) {
      memory.copy(dst, src, row);
      memory.fill(dst + row, 0, <usize>(T - 1) * row);
      continue;
    }
    for (let t = 0; t < T; t++) {
      const d = dst + <usize>t * row;
      let j = 0;
      for (; j + 4 <= D; j += 4) v128.store(d + (<usize>j << 2), f32x4.div(v128.load(src + (<usize>j << 2)), tv));
      for (; j < D; j++) store<f32>(d + (<usize>j << 2), load<f32>(src + (<usize>j << 2)) / <f32>T);
    }
  }
}
