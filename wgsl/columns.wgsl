// columns.wgsl: a block of columns out of a matrix and back (the q, k, v thirds of a fused projection).
//
// Math (r < R, j < W; x, dx [R, C]; out, d [R, W]; 0 ≤ start, start + W ≤ C):
//   slice_columns:  out[r, j] = x[r, start + j]
//   add_columns:    dx[r, start + j] += d[r, j]          (the other columns of dx are unchanged)
// Bindings (group 0)
//   0 uniform               p { R, C, W, start, n }      (n = R·W threads)
//   1 storage, read         src (x, d)
//   2 storage, read_write   dst (out, dx)
// Dispatch: one thread per element of the [R, W] block, ⌈n / WG⌉ workgroups on a 2-D grid,
//   q = (wid.y·nwg.x + wid.x)·WG + lid, bounds-checked. No element is touched twice: exact.

const WG: u32 = 256u;

struct Params { R: u32, C: u32, W: u32, start: u32, n: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

fn index(wid: vec3u, nwg: vec3u, lid: u32) -> u32 {
  return (wid.y * nwg.x + wid.x) * WG + lid;
}

@compute @workgroup_size(WG)
fn slice_columns(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let q = index(wid, nwg, lid);
  if (q >= p.n) { return; }
  let r = q / p.W;
  let j = q % p.W;
  dst[q] = src[r * p.C + p.start + j];
}

@compute @workgroup_size(WG)
fn add_columns(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let q = index(wid, nwg, lid);
  if (q >= p.n) { return; }
  let r = q / p.W;
  let j = q % p.W;
  let at = r * p.C + p.start + j;
  dst[at] = dst[at] + src[q];
}
