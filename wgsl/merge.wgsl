// merge.wgsl: the kernelized merge of SNELL, and LoRA's bilinear merge (forward only; the gradients
// are in merge_backward.wgsl).
//
// Math
//   distance (LINEAR = false):  W[i,o] = Σ_h c_h · sqrt(Σ_j (A[h,i,j] − B[h,o,j])²)
//   linear   (LINEAR = true):   W[i,o] = Σ_h Σ_j A[h,i,j] · B[h,o,j]
// Shapes (row-major f32): A [H, n, k], B [H, m, k], coeff [H], W [n, m].
// Bindings (group 0)
//   0 uniform               p      { H, n, m, k }
//   1 storage, read         A
//   2 storage, read         B
//   3 storage, read         coeff  (read by distance only)
//   4 storage, read_write   W
// Dispatch: one thread per output q = i·m + o. ceil(n·m / WG) workgroups spread over a 2-D grid
//   (one grid dimension holds at most 65535): q = (wid.y·nwg.x + wid.x)·WG + lid, threads with
//   q ≥ n·m return at once.
// Edge rules: a zero distance contributes exactly 0 (sqrt(0) = 0); NaN in A or B propagates to W.
//   Every W[i,o] is written (no accumulation), so W need not be zeroed first.

override WG: u32 = 256u;
override LINEAR: bool = false;

struct Params { H: u32, n: u32, m: u32, k: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read> coeff: array<f32>;
@group(0) @binding(4) var<storage, read_write> W: array<f32>;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let q = (wid.y * nwg.x + wid.x) * WG + lid;
  if (q >= p.n * p.m) { return; }
  let i = q / p.m;
  let o = q % p.m;
  var w = 0.0;
  for (var h = 0u; h < p.H; h++) {
    let a = (h * p.n + i) * p.k;
    let b = (h * p.m + o) * p.k;
    var acc = 0.0;
    for (var j = 0u; j < p.k; j++) {
      if (LINEAR) {
        acc += A[a + j] * B[b + j];
      } else {
        let d = A[a + j] - B[b + j];
        acc += d * d;
      }
    }
    if (LINEAR) { w += acc; } else { w += coeff[h] * sqrt(acc); }
  }
  W[q] = w;
}
