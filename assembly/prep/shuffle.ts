// Seeded Fisher–Yates shuffle of a u32 array in place, with mulberry32 (src/reference/random.ts):
//   for i = n−1 … 1: j = ⌊u·(i+1)⌋ with u the next draw in [0, 1) (f64), swap a[i], a[j]
// On 0..n−1 with seed s this is exactly `shuffled(n, s)` of src/train/trainer.ts (tested).

export function shuffle(a: usize, n: i32, seed: u32): void {
  let s = seed;
  for (let i = n - 1; i > 0; i--) {
    s += 0x6d2b79f5;
    let t = s;
    t = (t ^ (t >>> 15)) * (t | 1);
    t ^= t + (t ^ (t >>> 7)) * (t | 61);
    const u = <f64>(t ^ (t >>> 14)) / 4294967296.0;
    const j = <i32>Math.floor(u * <f64>(i + 1));
    const pi = a + (<usize>i << 2);
    const pj = a + (<usize>j << 2);
    const v = load<u32>(pi);
    store<u32>(pi, load<u32>(pj));
    store<u32>(pj, v);
  }
}
