// select.wgsl: exact quantile of |W| by radix selection on the float bits (torch.quantile semantics,
// linear interpolation), with no sort and no read-back.
//
// Math: with v the values |W| sorted ascending and N = size(W), the host computes in float64
//   pos = s·(N−1), lo = ⌊pos⌋, frac = pos − lo, and the result is
//   t = v[lo] + frac·(v[hi] − v[lo]),  hi = min(lo + 1, N − 1).
// Non-negative floats order like their bit patterns, so v[lo] is found digit by digit on the u32
//   bits of |W| (sign bit cleared, 31 bits left): digits of 11, 11 and 9 bits (shift 20, 9, 0).
//   Each pass histograms the elements whose higher bits equal the prefix found so far, then one
//   workgroup picks the bin holding rank `rank` (the position of v[lo] within the matching elements),
//   appends it to the prefix and subtracts the elements in lower bins from the rank. After the last
//   pass the prefix is v[lo]'s bit pattern, and `rank` is its position among the elements equal to it.
//   v[hi] equals v[lo] when more than rank + 1 elements equal v[lo] (or lo = N − 1); otherwise it is
//   the smallest |W| above v[lo], found by min_above (an atomicMin on bits).
// Entry points, in dispatch order:
//   init        1 workgroup:   zero hist; state = { prefix 0, rank lo, min ~0, need 0, nan 0 }
//   histogram   ⌈N / (WG·ITEMS)⌉ workgroups (2-D grid), 3 times (shift 20, 9, 0): a workgroup
//               histogram in workgroup memory (atomic<u32>), merged into hist with atomicAdd
//   scan        1 workgroup, after each histogram: choose the bin, update state, zero hist
//   min_above   like histogram; returns at once unless state.need
//   finish      1 thread: writes threshold[0]
// Shapes: W [N] (read as u32 bits), threshold [1] f32, state [5] u32, hist [2048] u32 (scratch; both
//   reused by every call, each call re-initialises them in the same command encoder).
// Bindings (group 0)
//   0 uniform               p          { n, lo, frac, shift, width }
//   1 storage, read         W          (as u32 bit patterns)
//   2 storage, read_write   state      atomic<u32>[5]: prefix, rank, min, need, nan
//   3 storage, read_write   hist       atomic<u32>[2048]
//   4 storage, read_write   threshold  f32[1]
// Edge rules: ties are exact (order statistics of equal values are equal); −0 counts as 0; zeros and
//   subnormals are ordered by their bits, never flushed (the comparisons are integer ones);
//   v[lo] = v[hi] or frac = 0 returns v[lo]'s exact bits without arithmetic; any NaN in W makes the
//   threshold NaN (as torch.quantile does), so sparsify then keeps nothing.

const WG: u32 = 256u;
const ITEMS: u32 = 16u;
const BINS: u32 = 2048u;
const PREFIX: u32 = 0u;
const RANK: u32 = 1u;
const MIN: u32 = 2u;
const NEED: u32 = 3u;
const NAN: u32 = 4u;

struct Params { n: u32, lo: u32, frac: f32, shift: u32, width: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> W: array<u32>;
@group(0) @binding(2) var<storage, read_write> state: array<atomic<u32>, 5>;
@group(0) @binding(3) var<storage, read_write> hist: array<atomic<u32>, BINS>;
@group(0) @binding(4) var<storage, read_write> threshold: array<f32>;

var<workgroup> local_hist: array<atomic<u32>, BINS>;
var<workgroup> chunk_sum: array<u32, WG>;
var<workgroup> wg_min: atomic<u32>;
var<workgroup> wg_need: u32;

@compute @workgroup_size(WG)
fn init(@builtin(local_invocation_index) lid: u32) {
  for (var b = lid; b < BINS; b += WG) { atomicStore(&hist[b], 0u); }
  if (lid == 0u) {
    atomicStore(&state[PREFIX], 0u);
    atomicStore(&state[RANK], p.lo);
    atomicStore(&state[MIN], 0xffffffffu);
    atomicStore(&state[NEED], 0u);
    atomicStore(&state[NAN], 0u);
  }
}

@compute @workgroup_size(WG)
fn histogram(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
             @builtin(local_invocation_index) lid: u32) {
  for (var b = lid; b < BINS; b += WG) { atomicStore(&local_hist[b], 0u); }
  workgroupBarrier();
  let high = p.shift + p.width; // bits at and above `high` must match the prefix (high ≤ 31)
  let prefix = atomicLoad(&state[PREFIX]) >> high;
  let mask = (1u << p.width) - 1u;
  let base = (wid.y * nwg.x + wid.x) * WG * ITEMS;
  for (var r = 0u; r < ITEMS; r++) {
    let q = base + r * WG + lid;
    if (q < p.n) {
      let bits = W[q] & 0x7fffffffu;
      if (bits > 0x7f800000u) { atomicMax(&state[NAN], bits); }
      if ((bits >> high) == prefix) { atomicAdd(&local_hist[(bits >> p.shift) & mask], 1u); }
    }
  }
  workgroupBarrier();
  for (var b = lid; b < BINS; b += WG) {
    let c = atomicLoad(&local_hist[b]);
    if (c != 0u) { atomicAdd(&hist[b], c); }
  }
}

@compute @workgroup_size(WG)
fn scan(@builtin(local_invocation_index) lid: u32) {
  const PER: u32 = BINS / WG;
  var s = 0u;
  for (var j = 0u; j < PER; j++) { s += atomicLoad(&hist[lid * PER + j]); }
  chunk_sum[lid] = s;
  workgroupBarrier();
  if (lid == 0u) {
    // The bin holding rank `rank`: skip whole chunks, then single bins (bounded loops).
    var rank = atomicLoad(&state[RANK]);
    var c = 0u;
    for (; c < WG - 1u && chunk_sum[c] <= rank; c++) { rank -= chunk_sum[c]; }
    var b = c * PER;
    for (; b < c * PER + PER - 1u && atomicLoad(&hist[b]) <= rank; b++) { rank -= atomicLoad(&hist[b]); }
    atomicOr(&state[PREFIX], b << p.shift);
    atomicStore(&state[RANK], rank);
    if (p.shift == 0u) {
      // Last digit: hist[b] elements equal v[lo]; v[lo + 1] is another one unless rank is the last.
      let equal = atomicLoad(&hist[b]);
      atomicStore(&state[NEED], select(0u, 1u, equal <= rank + 1u && p.lo + 1u < p.n));
    }
  }
  workgroupBarrier();
  for (var b = lid; b < BINS; b += WG) { atomicStore(&hist[b], 0u); }
}

@compute @workgroup_size(WG)
fn min_above(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
             @builtin(local_invocation_index) lid: u32) {
  if (lid == 0u) {
    wg_need = atomicLoad(&state[NEED]);
    atomicStore(&wg_min, 0xffffffffu);
  }
  if (workgroupUniformLoad(&wg_need) == 0u) { return; }
  let v = atomicLoad(&state[PREFIX]);
  var m = 0xffffffffu;
  let base = (wid.y * nwg.x + wid.x) * WG * ITEMS;
  for (var r = 0u; r < ITEMS; r++) {
    let q = base + r * WG + lid;
    if (q < p.n) {
      let bits = W[q] & 0x7fffffffu;
      if (bits > v) { m = min(m, bits); }
    }
  }
  atomicMin(&wg_min, m);
  workgroupBarrier();
  if (lid == 0u) { atomicMin(&state[MIN], atomicLoad(&wg_min)); }
}

@compute @workgroup_size(1)
fn finish() {
  let lo = atomicLoad(&state[PREFIX]);
  var hi = lo;
  if (atomicLoad(&state[NEED]) != 0u) { hi = atomicLoad(&state[MIN]); }
  var t = bitcast<f32>(lo);
  if (hi != lo && p.frac != 0.0) { t += p.frac * (bitcast<f32>(hi) - t); }
  let nan = atomicLoad(&state[NAN]);
  if (nan != 0u) { t = bitcast<f32>(nan); }
  threshold[0] = t;
}
