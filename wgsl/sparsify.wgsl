// sparsify.wgsl: competition-based sparsification of the merged update, and its gradient.
//
// Math (t = threshold[0]; |W| is a constant in backprop, as in the reference):
//   forward:   Ws = W·|W| where |W| > t (strict), else 0;   kept[0] = #{ q : |W[q]| > t }
//   backward:  dW = G·|W| where |W| > t, else 0
// Shapes (f32 unless noted): W, Ws, G, dW [N] (any shape, flat); threshold [1]; kept [1] u32.
// Bindings (group 0)                         used by
//   0 uniform               p { n }          both
//   1 storage, read         W                both
//   2 storage, read         threshold        both
//   3 storage, read_write   Ws               forward
//   4 storage, read_write   kept (atomic)    forward (the host clears it first, same encoder)
//   5 storage, read         G                backward
//   6 storage, read_write   dW               backward
// Dispatch: one thread per element, ⌈N / WG⌉ workgroups on a 2-D grid,
//   q = (wid.y·nwg.x + wid.x)·WG + lid, bounds-checked. The kept count is summed in workgroup
//   memory and added to kept[0] with one atomicAdd per workgroup.
// Edge rules: the test |W| > t is done on bit patterns, so subnormals are never flushed: for t ≥ 0,
//   bits(|W|) > bits(t); ties at t are dropped; NaN in W is never kept; a NaN threshold keeps nothing;
//   a negative threshold keeps every non-NaN entry. W·|W| may underflow to 0 or overflow to ±inf in f32.

override WG: u32 = 256u;

struct Params { n: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> W: array<f32>;
@group(0) @binding(2) var<storage, read> threshold: array<f32>;
@group(0) @binding(3) var<storage, read_write> Ws: array<f32>;
@group(0) @binding(4) var<storage, read_write> kept: array<atomic<u32>>;
@group(0) @binding(5) var<storage, read> G: array<f32>;
@group(0) @binding(6) var<storage, read_write> dW: array<f32>;

var<workgroup> wg_kept: atomic<u32>;

// |w| > t, compared on the bits (see the edge rules above).
fn above(w: f32, t: f32) -> bool {
  let wb = bitcast<u32>(w) & 0x7fffffffu;
  let tb = bitcast<u32>(t);
  let tm = tb & 0x7fffffffu;
  if (wb > 0x7f800000u || tm > 0x7f800000u) { return false; }
  if (tb != tm && tm != 0u) { return true; }
  return wb > tm;
}

fn index(wid: vec3u, nwg: vec3u, lid: u32) -> u32 {
  return (wid.y * nwg.x + wid.x) * WG + lid;
}

@compute @workgroup_size(WG)
fn forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
           @builtin(local_invocation_index) lid: u32) {
  let q = index(wid, nwg, lid);
  if (q < p.n) {
    let w = W[q];
    let keep = above(w, threshold[0]);
    Ws[q] = select(0.0, w * abs(w), keep);
    if (keep) { atomicAdd(&wg_kept, 1u); }
  }
  workgroupBarrier();
  if (lid == 0u) {
    let c = atomicLoad(&wg_kept);
    if (c != 0u) { atomicAdd(&kept[0], c); }
  }
}

@compute @workgroup_size(WG)
fn backward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
            @builtin(local_invocation_index) lid: u32) {
  let q = index(wid, nwg, lid);
  if (q >= p.n) { return; }
  let w = W[q];
  dW[q] = select(0.0, G[q] * abs(w), above(w, threshold[0]));
}
