// elementwise.wgsl: the one-thread-per-element transformer primitives.
//
// Math (q is the flat index, n elements; f32 unless noted):
//   add:            out[q] = a[q] + b[q]
//   add_into:       out[q] = out[q] + a[q]                     (in place)
//   add_bias:       out[q] = out[q] + b[q % cols]              (in place; out [n/cols, cols], bias b [cols])
//   gelu:           out[q] = x·Φ(x),              Φ(x) = (1 + erf(x/√2))/2   (x = a[q])
//   gelu_backward:  out[q] = dy·(Φ(x) + x·φ(x)),  φ(x) = exp(−x²/2)/√(2π)    (dy = a[q], x = b[q])
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
// Φ to float32 accuracy (WGSL has no erf): for |x| < √2 the Maclaurin series Φ = ½ + x·Σ a_n x^{2n}
//   (12 terms, truncation < 1e-9, alternating and decreasing); else erfc(z), z = |x|/√2, by Numerical
//   Recipes' erfcc, t = 1/(1 + z/2), erfc = t·exp(−z² + poly(t)) (relative error < 1.2e-7), and
//   Φ = 1 − erfc/2 (x > 0) or erfc/2 (x < 0), so the lower tail keeps its relative accuracy.
//   z² enters as h² + (|x|−h)(|x|+h) with h² exact (see phi), so the tail's relative error is the erfcc
//   fit's plus exp's. Measured (lavapipe, 200 001 points in [−12, 12]): max |Φ − Φ64| ≈ 1.1e-7
//   (≈2 ulp of Φ near x = 1.3); gelu relative error ≤ 3e-6 down to x = −9, where exp(−40.5) itself
//   limits it (WGSL allows exp 3 + 2·|x| ulp).
// Shapes: every tensor is flat [n]; bias [cols]; dropout/drop_path: x [B, cols] with n = B·cols.
// Bindings (group 0)                                  used by
//   0 uniform               p { n, cols, keep_from, seed, s_hi, s_lo }
//   1 storage, read         a (x, dy)                 all
//   2 storage, read         b (second operand, bias, x of gelu_backward, mask)   add, add_bias, gelu_backward, mask_scale
//   3 storage, read_write   out                       all
// Dispatch: one thread per element, ⌈n / WG⌉ workgroups on a 2-D grid,
//   q = (wid.y·nwg.x + wid.x)·WG + lid, bounds-checked.
// Edge rules: NaN propagates, also through a dropped element (x·0, as torch's x·mask/(1−p));
//   gelu(+inf) = +inf, gelu(−inf) = NaN (−inf·0, as torch); gelu_backward at ±inf is NaN (±inf·0);
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

// The standard normal CDF (see the header).
fn phi(x: f32) -> f32 {
  let ax = abs(x);
  if (ax < 1.4142135) {
    let s = x * x;
    var r = -2.12176147421704597e-13;
    r = r * s + 5.11243479025631059e-12;
    r = r * s - 1.13011716416192139e-10;
    r = r * s + 2.27352982437280648e-09;
    r = r * s - 4.12266741486268905e-08;
    r = r * s + 6.65969351631665134e-07;
    r = r * s - 9.44465625950361467e-06;
    r = r * s + 1.15434687616155292e-04;
    r = r * s - 1.18732821548045452e-03;
    r = r * s + 9.97355701003581688e-03;
    r = r * s - 6.64903800669054551e-02;
    r = r * s + 3.98942280401432703e-01;
    return 0.5 + x * r;
  }
  let a = min(ax, 20.0); // erfc(20/√2)/2 underflows f32 already; keeps inf out of the split below
  let z = a * 0.70710678118654752;
  let t = 1.0 / (1.0 + 0.5 * z);
  var r = 0.17087277;
  r = r * t - 0.82215223;
  r = r * t + 1.48851587;
  r = r * t - 1.13520398;
  r = r * t + 0.27886807;
  r = r * t - 0.18628806;
  r = r * t + 0.09678418;
  r = r * t + 0.37409196;
  r = r * t + 1.00002368;
  r = r * t - 1.26551223;
  // exp(−z²) = exp(−h²/2)·exp(−(a − h)(a + h)/2) with h = a cut to 12 significant bits, so h² is
  // exact: the rounding of z² (up to 40 at x = −9) would cost ~7e-6 of relative accuracy in the tail.
  let h = bitcast<f32>(bitcast<u32>(a) & 0xfffff000u);
  let c = t * exp(-0.5 * h * h) * exp(r - 0.5 * (a - h) * (a + h));
  return select(0.5 * c, 1.0 - 0.5 * c, x > 0.0);
}

@compute @workgroup_size(WG)
fn add(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let q = index(wid, nwg, lid);
  if (q < p.n) { out[q] = a[q] + b[q]; }
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
fn gelu(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let q = index(wid, nwg, lid);
  if (q < p.n) {
    let x = a[q];
    out[q] = x * phi(x);
  }
}

@compute @workgroup_size(WG)
fn gelu_backward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let q = index(wid, nwg, lid);
  if (q < p.n) {
    let x = b[q];
    let density = 0.3989422804014327 * exp(-0.5 * x * x);
    out[q] = a[q] * (phi(x) + x * density);
  }
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
