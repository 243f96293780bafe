// elementwise.wgsl: the one-thread-per-element transformer primitives (gelu.wgsl, compiled after this
// file, adds GELU on the same bindings).
//
// Math (q is the flat index, n elements; f32 unless noted):
//   add:            out[q] = a[q] + b[q]
//   add_into:       out[q] = out[q] + a[q]                     (in place)
//   add_transposed: out[q] = a[q] + b[(q % cols)·rows + q / cols]   (a, out [rows, cols], b [cols, rows], rows = n / cols)
//   add_bias:       out[q] = out[q] + b[q % cols]              (in place; out [n/cols, cols], bias b [cols])
//   dropout:        out[q] = keep(q) ? x·s : 0                (x = a[q])
//   drop_path:      out[q] = keep(q / cols) ? x·s : 0         (cols = elements per sample)
//   mask_scale:     out[q] = x·m·s,  m = b[q / cols]           (a given 0/1 mask; s as for dropout)
//   (copy is a copyBufferToBuffer on the host: bit exact, any dtype.)
// RNG (the contract's hash, u32 wrapping arithmetic, bit for bit the Wasm backend's):
//   pcg(v) = let s = v·747796405 + 2891336453; w = ((s >> ((s >> 28) + 4)) ^ s)·277803737; (w >> 22) ^ w
//   u(seed, i) = (pcg(pcg(i) ^ seed) >> 8) / 2^24;  keep(i) ⇔ u(seed, i) ≥ p
//   ⇔ (pcg(pcg(i) ^ seed) >> 8) ≥ keep_from with keep_from = ⌈p·2^24⌉ computed exactly on the host;
//   s = 1/(1−p) (0 when p = 1) split on the host into s_hi + s_lo (f32 each), out = fma(x, k·s_hi, x·k·s_lo)
//   with k = keep ? 1 : 0 (the f32 rounding of s itself would cost ~5e-8 relative). p = 0 never gets
//   here: the host copies the buffer instead.
// Shapes: every tensor is flat [n]; bias [cols]; dropout/drop_path: x [B, cols] with n = B·cols.
// Bindings (group 0)                                  used by
//   0 uniform               p { n, cols, keep_from, seed, s_hi, s_lo }
//   1 storage, read         a (x, dy)                 all
//   2 storage, read         b (second operand, bias, x of gelu_backward, mask)   add, add_bias, mask_scale, gelu_backward
//   3 storage, read_write   out                       all
// Dispatch: one thread per element, ⌈n / WG⌉ workgroups on a 2-D grid,
//   q = (wid.y·nwg.x + wid.x)·WG + lid, bounds-checked.
// Edge rules: NaN propagates, also through a dropped element (x·0, as torch's x·mask/(1−p));
//   p = 1 drops everything (out = x·0).

override WG: u32 = 256u;

struct Params { n: u32, cols: u32, keep_from: u32, seed: u32, s_hi: f32, s_lo: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

fn index(wid: vec3u, nwg: vec3u, lid: u32) -> u32 {
  return (wid.y * nwg.x + wid.x) * WG + lid;
}

fn pcg(v: u32) -> u32 {
  let s = v * 747796405u + 2891336453u;
  let w = ((s >> ((s >> 28u) + 4u)) ^ s) * 277803737u;
  return (w >> 22u) ^ w;
}

// x·keep·s, the contract's product (a dropped NaN or inf gives NaN, as x·0 does in torch; a kept inf
// stays inf, so the correction term is only added to finite x).
fn dropped(x: f32, i: u32) -> f32 {
  let k = select(0.0, 1.0, (pcg(pcg(i) ^ p.seed) >> 8u) >= p.keep_from);
  if (abs(x) <= 3.4028234663852886e38) { return fma(x, p.s_hi * k, x * (p.s_lo * k)); }
  return x * (p.s_hi * k);
}

@compute @workgroup_size(WG)
fn add(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let q = index(wid, nwg, lid);
  if (q < p.n) { out[q] = a[q] + b[q]; }
}

@compute @workgroup_size(WG)
fn add_transposed(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let q = index(wid, nwg, lid);
  if (q >= p.n) { return; }
  let rows = p.n / p.cols;
  out[q] = a[q] + b[(q % p.cols) * rows + q / p.cols];
}

@compute @workgroup_size(WG)
fn add_into(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let q = index(wid, nwg, lid);
  if (q < p.n) { out[q] = out[q] + a[q]; }
}

@compute @workgroup_size(WG)
fn add_bias(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let q = index(wid, nwg, lid);
  if (q < p.n) { out[q] = out[q] + b[q % p.cols]; }
}

@compute @workgroup_size(WG)
fn dropout(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let q = index(wid, nwg, lid);
  if (q < p.n) { out[q] = dropped(a[q], q); }
}

@compute @workgroup_size(WG)
fn drop_path(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let q = index(wid, nwg, lid);
  if (q < p.n) { out[q] = dropped(a[q], q / p.cols); }
}

@compute @workgroup_size(WG)
fn mask_scale(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let q = index(wid, nwg, lid);
  if (q < p.n) {
    let x = a[q];
    let m = b[q / p.cols];
    if (abs(x) <= 3.4028234663852886e38) { out[q] = fma(x, p.s_hi * m, x * (p.s_lo * m)); } else { out[q] = x * (p.s_hi * m); }
  }
}
