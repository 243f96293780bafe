// sparsify.wgsl: competition-based sparsification of the merged update, and its gradient.
//
// Math (t = threshold[0]; |W| is a constant in backprop, as in the reference):
//   forward:   Ws = W·|W| where |W| > t (strict), else 0;   kept[0] = #{ q : |W[q]| > t }
//   backward:  dW = G·|W| where |W| > t, else 0
//   kept_gradient: dW[i, o] = |W[i, o]|·Σ_r x[r, i]·dy[r, o] where |W[i, o]| > t, else 0
//              (backward with G = xᵀ·dy formed in the same pass, never stored)
// Shapes (f32 unless noted): W, Ws, G, dW [N] (any shape, flat); threshold [1]; kept [1] u32;
//   kept_gradient: x [R, n], dy [R, m], W and dW [n, m].
// Bindings (group 0)                         used by
//   0 uniform               p { n, m, rows, tiles_o }   n = N for forward and backward
//   1 storage, read         W                all
//   2 storage, read         threshold        all
//   3 storage, read_write   Ws               forward
//   4 storage, read_write   kept (atomic)    forward (the host clears it first, same encoder)
//   5 storage, read         G                backward
//   6 storage, read_write   dW               backward, kept_gradient
//   7 storage, read         x                kept_gradient
//   8 storage, read         dy               kept_gradient
// Dispatch: forward and backward: one thread per element, ⌈N / WG⌉ workgroups on a 2-D grid,
//   q = (wid.y·nwg.x + wid.x)·WG + lid, bounds-checked. The kept count is summed in workgroup
//   memory and added to kept[0] with one atomicAdd per workgroup.
//   kept_gradient: TILE×TILE threads (WG = TILE²) per TILE×TILE tile of dW, ⌈n/TILE⌉·⌈m/TILE⌉ workgroups
//   on the 2-D grid, tile = wid.y·nwg.x + wid.x = ti·tiles_o + to; each step stages TILE rows of x and of dy
//   (the tile's columns) in workgroup memory and every thread adds its (i, o) product over them, rows in
//   rising order. At s = 0.9 nearly every tile holds kept entries, so the tiles are computed whole and the
//   mask applied at the end (the sum is skipped per thread only where nothing is kept).
// Edge rules: the test |W| > t is done on bit patterns, so subnormals are never flushed: for t ≥ 0,
//   bits(|W|) > bits(t); ties at t are dropped; NaN in W is never kept; a NaN threshold keeps nothing;
//   a negative threshold keeps every non-NaN entry. W·|W| may underflow to 0 or overflow to ±inf in f32.

override WG: u32 = 256u;

const TILE: u32 = 16u;

struct Params { n: u32, m: u32, rows: u32, tiles_o: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> W: array<f32>;
@group(0) @binding(2) var<storage, read> threshold: array<f32>;
@group(0) @binding(3) var<storage, read_write> Ws: array<f32>;
@group(0) @binding(4) var<storage, read_write> kept: array<atomic<u32>>;
@group(0) @binding(5) var<storage, read> G: array<f32>;
@group(0) @binding(6) var<storage, read_write> dW: array<f32>;
@group(0) @binding(7) var<storage, read> x: array<f32>;
@group(0) @binding(8) var<storage, read> dy: array<f32>;

var<workgroup> wg_kept: atomic<u32>;
var<workgroup> x_tile: array<f32, 256>;  // [r][i] of the step, TILE × TILE
var<workgroup> dy_tile: array<f32, 256>; // [r][o] of the step

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

@compute @workgroup_size(WG)
fn kept_gradient(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                 @builtin(local_invocation_index) lid: u32) {
  let tile = wid.y * nwg.x + wid.x;
  let tiles = ((p.n + TILE - 1u) / TILE) * p.tiles_o;
  if (tile >= tiles) { return; }
  let i0 = (tile / p.tiles_o) * TILE;
  let o0 = (tile % p.tiles_o) * TILE;
  let li = lid / TILE;
  let lo = lid % TILE;
  let i = i0 + li;
  let o = o0 + lo;
  let inside = i < p.n && o < p.m;
  var w = 0.0;
  if (inside) { w = W[i * p.m + o]; }
  let keep = inside && above(w, threshold[0]);
  var g = 0.0;
  for (var r0 = 0u; r0 < p.rows; r0 += TILE) {
    // thread (li, lo) stages x[r0 + li, i0 + lo] and dy[r0 + li, o0 + lo]
    let r = r0 + li;
    var xv = 0.0;
    var dv = 0.0;
    if (r < p.rows && i0 + lo < p.n) { xv = x[r * p.n + i0 + lo]; }
    if (r < p.rows && o0 + lo < p.m) { dv = dy[r * p.m + o0 + lo]; }
    x_tile[lid] = xv;
    dy_tile[lid] = dv;
    workgroupBarrier();
    if (keep) {
      for (var k = 0u; k < TILE; k++) { g += x_tile[k * TILE + li] * dy_tile[k * TILE + lo]; }
    }
    workgroupBarrier();
  }
  if (inside) { dW[i * p.m + o] = select(0.0, g * abs(w), keep); }
}
