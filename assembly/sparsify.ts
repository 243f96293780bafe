// Competition-based sparsification against a threshold t (1-element tensor, from select.ts):
//   forward:  Ws = W·|W|·[|W| > t] (strict), kept = #{|W| > t} (u32)
//   backward: dW = G·|W|·[|W| > t]   (|W| is a constant in backprop)
// f32x4 over four elements at a time, scalar tail. A NaN threshold, or a NaN in W, compares false:
// nothing is kept there. The backend runs both over disjoint ranges of W on several threads; each
// range of the forward writes its own count, and the caller sums them (integers: any order is exact).

export function sparsify(w: usize, N: i32, tPtr: usize, ws: usize, keptPtr: usize): void {
  const t = load<f32>(tPtr);
  const tv = f32x4.splat(t);
  let count = i32x4.splat(0);
  let q = 0;
  for (; q + 4 <= N; q += 4) {
    const off = <usize>q << 2;
    const x = v128.load(w + off);
    const a = f32x4.abs(x);
    const keep = f32x4.gt(a, tv);
    v128.store(ws + off, v128.and(f32x4.mul(x, a), keep));
    count = i32x4.sub(count, keep); // a kept lane is −1
  }
  let kept = <u32>(i32x4.extract_lane(count, 0) + i32x4.extract_lane(count, 1) + i32x4.extract_lane(count, 2) + i32x4.extract_lane(count, 3));
  for (; q < N; q++) {
    const off = <usize>q << 2;
    const x = load<f32>(w + off);
    const a = Mathf.abs(x);
    if (a > t) {
      store<f32>(ws + off, x * a);
      kept++;
    } else {
      store<f32>(ws + off, 0);
    }
  }
  store<u32>(keptPtr, kept);
}

export function sparsifyBackward(g: usize, w: usize, N: i32, tPtr: usize, dw: usize): void {
  const t = load<f32>(tPtr);
  const tv = f32x4.splat(t);
  let q = 0;
  for (; q + 4 <= N; q += 4) {
    const off = <usize>q << 2;
    const a = f32x4.abs(v128.load(w + off));
    v128.store(dw + off, v128.and(f32x4.mul(v128.load(g + off), a), f32x4.gt(a, tv)));
  }
  for (; q < N; q++) {
    const off = <usize>q << 2;
    const a = Mathf.abs(load<f32>(w + off));
    store<f32>(dw + off, a > t ? load<f32>(g + off) * a : 0);
  }
}
