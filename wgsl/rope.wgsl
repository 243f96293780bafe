// rope.wgsl: rotary position embedding in Hugging Face's rotate-half layout, and its transpose.
//
// Math, for row (b, t) of x [B, T, C] (C/hd heads of hd columns) at position pos = t + offset, head n and
// c < half = hd/2, with lo = n·hd + c, hi = lo + half, k = cos[pos, c], s = sign·sin[pos, c]:
//   out[lo] = x[lo]·k − x[hi]·s,  out[hi] = x[hi]·k + x[lo]·s      (sign = 1: rope; −1: ropeBackward)
// The tables are float64 values rounded to f32 on the host (src/model/rope.ts): no sin or cos here.
// Shapes (f32): x, out [B, T, C]; cos, sin [P, half] with offset + T ≤ P (the contract checks it).
// Bindings (group 0)                                    used by
//   0 uniform               p { pairs, T, C, hd, half, offset, sign }
//   1 storage, read         x                           rotate
//   2 storage, read         cos                         both
//   3 storage, read         sin                         both
//   4 storage, read_write   out                         both (rotate_in_place reads x from it)
// Dispatch: one thread per pair, pairs = B·T·C/2, ⌈pairs/WG⌉ workgroups on a 2-D grid,
//   q = (wid.y·nwg.x + wid.x)·WG + lid, bounds-checked. Each thread reads both values of its pair
//   before writing either, so rotate_in_place (out = x, one read_write binding) is race-free.
// Edge rules: NaN and inf propagate (inf·0 = NaN where a sine or cosine is exactly 0).

const WG: u32 = 256u;

struct Params { pairs: u32, T: u32, C: u32, hd: u32, half: u32, offset: u32, sign: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> cos_t: array<f32>;
@group(0) @binding(3) var<storage, read> sin_t: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

/** The pair of pair number q: its low index and the table entry (pos·half + c). */
fn pair(q: u32) -> vec2u {
  let row = q / (p.C / 2u);
  let j = q % (p.C / 2u);
  let c = j % p.half;
  let lo = row * p.C + (j / p.half) * p.hd + c;
  return vec2u(lo, (row % p.T + p.offset) * p.half + c);
}

/** (a, b) rotated by the table angle at `at`, the sign applied to the sine. */
fn rotated(a: f32, b: f32, at: u32) -> vec2f {
  let k = cos_t[at];
  let s = p.sign * sin_t[at];
  return vec2f(a * k - b * s, b * k + a * s);
}

@compute @workgroup_size(WG)
fn rotate(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let q = (wid.y * nwg.x + wid.x) * WG + lid;
  if (q >= p.pairs) { return; }
  let at = pair(q);
  let v = rotated(x[at.x], x[at.x + p.half], at.y);
  out[at.x] = v.x;
  out[at.x + p.half] = v.y;
}

@compute @workgroup_size(WG)
fn rotate_in_place(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let q = (wid.y * nwg.x + wid.x) * WG + lid;
  if (q >= p.pairs) { return; }
  let at = pair(q);
  let v = rotated(out[at.x], out[at.x + p.half], at.y);
  out[at.x] = v.x;
  out[at.x + p.half] = v.y;
}
