// Non-overlapping p×p patches of one image [C, H, W] f32 → [(H/p)·(W/p), C·p·p] f32: patches in
// row-major grid order, each flattened as (c, ky, kx), the order of a flattened Conv2d weight
// [D, C, p, p] (as src/data/images.ts). H and W must be multiples of p (the host checks).

export function patchify(src: usize, C: i32, H: i32, W: i32, p: i32, dst: usize): void {
  const gh = H / p;
  const gw = W / p;
  const run = <usize>p << 2;
  let o = dst;
  for (let gy = 0; gy < gh; gy++) {
    for (let gx = 0; gx < gw; gx++) {
      for (let c = 0; c < C; c++) {
        for (let ky = 0; ky < p; ky++) {
          const row = src + ((<usize>(c * H + gy * p + ky) * <usize>W + <usize>(gx * p)) << 2);
          memory.copy(o, row, run);
          o += run;
        }
      }
    }
  }
}
