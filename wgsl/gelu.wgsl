// gelu.wgsl: the exact (erf) GELU and its derivative, one thread per element, compiled after
// elementwise.wgsl, whose uniform, bindings (a, b, out) and index() it uses.
//
// Math (q is the flat index, n elements):
//   gelu:           out[q] = x·Φ(x),              Φ(x) = (1 + erf(x/√2))/2   (x = a[q])
//   gelu_backward:  out[q] = dy·(Φ(x) + x·φ(x)),  φ(x) = exp(−x²/2)/√(2π)    (dy = a[q], x = b[q])
// Φ to float32 accuracy (WGSL has no erf): for |x| < √2 the Maclaurin series Φ = ½ + x·Σ a_n x^{2n}
//   (12 terms, truncation < 1e-9, alternating and decreasing); else erfc(z), z = |x|/√2, by Numerical
//   Recipes' erfcc, t = 1/(1 + z/2), erfc = t·exp(−z² + poly(t)) (relative error < 1.2e-7), and
//   Φ = 1 − erfc/2 (x > 0) or erfc/2 (x < 0), so the lower tail keeps its relative accuracy.
//   z² enters as h² + (|x|−h)(|x|+h) with h² exact (see phi), so the tail's relative error is the erfcc
//   fit's plus exp's. Measured (lavapipe, 200 001 points in [−12, 12]): max |Φ − Φ64| ≈ 1.1e-7
//   (≈2 ulp of Φ near x = 1.3); gelu relative error ≤ 3e-6 down to x = −9, where exp(−40.5) itself
//   limits it (WGSL allows exp 3 + 2·|x| ulp).
// Edge rules: NaN propagates; gelu(+inf) = +inf, gelu(−inf) = NaN (−inf·0, as torch); gelu_backward
//   at ±inf is NaN (±inf·0).

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
