// Exact quantile of |W| by radix selection on the float bits, O(N), no sort.
//
// torch.quantile(|W|, s), linear interpolation: with v = |W| sorted ascending, pos = s·(N−1) (f64, by
// the host), lo = ⌊pos⌋, frac = pos − lo:  t = v[lo] + frac·(v[min(lo+1, N−1)] − v[lo]).
//
// Non-negative IEEE floats order like their bit patterns read as u32 (zeros, denormals and Inf
// included), so v[lo] is found by three counting passes over the bits of |W| (sign cleared):
// bits 31..21, then 20..10, then 9..0, each pass histogramming only the elements whose higher bits
// match the prefix chosen so far, and narrowing to the bin that holds rank lo. v[lo+1] is v[lo] when
// the last bin holds another element after rank lo, else the next non-empty bin of the last pass,
// else (rarely) the minimum over |W| > v[lo], found by one more pass.
// Edge rules: −0 counts as 0; frac = 0 gives v[lo] exactly (so an Inf neighbour cannot make 0·Inf);
// any NaN in W makes the threshold NaN (as torch.quantile does), and then sparsify keeps nothing.

const HIST: usize = memory.data(2048 * 4, 64);
const ABS: u32 = 0x7fffffff;
const INF_BITS: u32 = 0x7f800000;

export function quantileAbs(w: usize, N: i32, lo: i32, frac: f64, out: usize): void {
  // pass 1: top 11 bits of every |W|, and whether any NaN is present
  memory.fill(HIST, 0, 2048 * 4);
  let nan = false;
  for (let q = 0; q < N; q++) {
    const bits = load<u32>(w + (<usize>q << 2)) & ABS;
    nan |= bits > INF_BITS;
    const slot = HIST + (<usize>(bits >> 21) << 2);
    store<u32>(slot, load<u32>(slot) + 1);
  }
  if (nan) {
    store<f32>(out, NaN);
    return;
  }
  let rank = <u32>lo;
  let bin = pick(2048, rank);
  rank -= below;
  let prefix = bin << 21;
  // pass 2: bits 20..10 among the elements with that prefix
  narrow(w, N, prefix, 0xffe00000, 10, 2047);
  bin = pick(2048, rank);
  rank -= below;
  prefix |= bin << 10;
  // pass 3: bits 9..0 among the elements with that prefix
  narrow(w, N, prefix, 0xfffffc00, 0, 1023);
  bin = pick(1024, rank);
  rank -= below;
  const vlo = prefix | bin;

  let vhi = vlo;
  if (lo + 1 < N && rank + 1 >= load<u32>(HIST + (<usize>bin << 2))) {
    // v[lo] is the last copy of its value: v[lo+1] is the next larger value present
    let next: u32 = 1024;
    for (let b = bin + 1; b < 1024; b++) {
      if (load<u32>(HIST + (<usize>b << 2)) != 0) {
        next = b;
        break;
      }
    }
    vhi = next < 1024 ? prefix | next : minAbove(w, N, vlo);
  }
  const a = <f64>reinterpret<f32>(vlo);
  const t = frac == 0 ? a : a + frac * (<f64>reinterpret<f32>(vhi) - a);
  store<f32>(out, <f32>t);
}

/** Set by pick: how many counted elements lie in bins below the chosen one. */
let below: u32 = 0;

/** The bin of HIST holding rank `rank` (0-based) among the counted elements. */
function pick(bins: u32, rank: u32): u32 {
  let cum: u32 = 0;
  for (let b: u32 = 0; b < bins; b++) {
    const c = load<u32>(HIST + (<usize>b << 2));
    if (rank < cum + c) {
      below = cum;
      return b;
    }
    cum += c;
  }
  below = cum; // unreachable for rank < count
  return bins - 1;
}

/** Histogram of (bits >> shift) & bins over the |W| whose bits under `mask` equal `prefix` (branch-free). */
function narrow(w: usize, N: i32, prefix: u32, mask: u32, shift: u32, bins: u32): void {
  memory.fill(HIST, 0, 2048 * 4);
  for (let q = 0; q < N; q++) {
    const bits = load<u32>(w + (<usize>q << 2)) & ABS;
    const slot = HIST + (<usize>((bits >> shift) & bins) << 2);
    store<u32>(slot, load<u32>(slot) + <u32>((bits & mask) == prefix));
  }
}

/** Smallest |W| bit pattern strictly above `v` (SIMD unsigned min; caller ensures one exists). */
function minAbove(w: usize, N: i32, v: u32): u32 {
  const absMask = i32x4.splat(ABS);
  const vv = i32x4.splat(v);
  const none = i32x4.splat(-1);
  let best = none;
  let q = 0;
  for (; q + 4 <= N; q += 4) {
    const bits = v128.and(v128.load(w + (<usize>q << 2)), absMask);
    // lanes ≤ v become 0xffffffff, which never wins an unsigned min
    best = i32x4.min_u(best, v128.or(bits, i32x4.le_u(bits, vv)));
  }
  let m = <u32>i32x4.extract_lane(best, 0);
  m = min(m, <u32>i32x4.extract_lane(best, 1));
  m = min(m, <u32>i32x4.extract_lane(best, 2));
  m = min(m, <u32>i32x4.extract_lane(best, 3));
  for (; q < N; q++) {
    const bits = load<u32>(w + (<usize>q << 2)) & ABS;
    if (bits > v && bits < m) m = bits;
  }
  return m;
}
