// Per-pixel steps over planar f32 images [C, H·W] (n = H·W values per plane):
//   fromBytes:  u8 → f32, the byte value unchanged (0..255)
//   toBytes:    f32 → u8, round half to even, clamped to [0, 255] (a uint8 tensor's Resize result)
//   grayToRgb:  [1, n] → [3, n], the plane copied three times (torchvision Grayscale(3) / PIL "RGB")
//   normalize:  x ← (x/255 − mean_c) / std_c in f32, each step rounded as torchvision's ToTensor
//               (x.float().div(255)) then Normalize (sub_(mean).div_(std), float32 mean and std);
//               mean and std arrive as f64[C] and are rounded to f32
// f32x4 over whole vectors with scalar tails.

export function fromBytes(src: usize, n: i32, dst: usize): void {
  for (let i = 0; i < n; i++) store<f32>(dst + (<usize>i << 2), <f32>load<u8>(src + <usize>i));
}

export function toBytes(src: usize, n: i32, dst: usize): void {
  for (let i = 0; i < n; i++) {
    const v = nearest<f32>(load<f32>(src + (<usize>i << 2)));
    store<u8>(dst + <usize>i, <u8>(<i32>min<f32>(max<f32>(v, 0), 255)));
  }
}

export function grayToRgb(src: usize, n: i32, dst: usize): void {
  const bytes = <usize>n << 2;
  for (let c = 0; c < 3; c++) memory.copy(dst + <usize>c * bytes, src, bytes);
}

export function normalize(x: usize, C: i32, n: i32, mean: usize, std: usize): void {
  const k = f32x4.splat(255);
  for (let c = 0; c < C; c++) {
    const m = <f32>load<f64>(mean + (<usize>c << 3));
    const s = <f32>load<f64>(std + (<usize>c << 3));
    const mv = f32x4.splat(m);
    const sv = f32x4.splat(s);
    const plane = x + (<usize>c * <usize>n << 2);
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      const p = plane + (<usize>i << 2);
      v128.store(p, f32x4.div(f32x4.sub(f32x4.div(v128.load(p), k), mv), sv));
    }
    for (; i < n; i++) {
      const p = plane + (<usize>i << 2);
      store<f32>(p, (load<f32>(p) / <f32>255 - m) / s);
    }
  }
}
