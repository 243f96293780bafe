// A float32 sum in the order PyTorch's CPU kernel (AVX2) adds a short vector x_0 … x_{n-1}, so that
// SNELLA's split reproduces the reference's float32 residues bit for bit:
//   n ≤ 4:   ((x0 + x1) + x2) + x3
//   n 5–7:   (x0 + x4 (+ x5 (+ x6))) + x1 + x2 + x3
//   n ≥ 8:   lanes c_j = x_j + x_{8+j} + x_{16+j} + …  over whole chunks of 8;
//            acc = 0 + the tail after the last whole chunk, then acc + c_0 + … + c_7.
// The reference's order is pinned for n < 24; beyond it this keeps the 8-lane pattern (any order
// meets the vectors' criteria). Every addition rounds to float32.

const f = Math.fround;

export function f32sum(x: readonly number[]): number {
  const n = x.length;
  if (n === 0) return 0;
  if (n <= 4) {
    let acc = f(x[0]!);
    for (let i = 1; i < n; i++) acc = f(acc + x[i]!);
    return acc;
  }
  if (n < 8) {
    let acc = f(x[0]!);
    for (let i = 4; i < n; i++) acc = f(acc + x[i]!);
    for (let i = 1; i < 4; i++) acc = f(acc + x[i]!);
    return acc;
  }
  const whole = n - (n % 8);
  const lanes = x.slice(0, 8).map(f);
  for (let i = 8; i < whole; i++) lanes[i % 8] = f(lanes[i % 8]! + x[i]!);
  let acc = 0;
  for (let i = whole; i < n; i++) acc = f(acc + x[i]!);
  for (const c of lanes) acc = f(acc + c);
  return acc;
}
