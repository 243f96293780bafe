// merge_backward.wgsl: gradients of the merge (merge.wgsl) with respect to A and B, given dW.
//
// Math, with D_h[i,o] = ‖A[h,i,:] − B[h,o,:]‖₂ and K_h[i,o] = c_h·dW[i,o]/D_h[i,o]:
//   distance:  dA[h,i,:] =  Σ_o K_h[i,o]·(A[h,i,:] − B[h,o,:])
//              dB[h,o,:] = −Σ_i K_h[i,o]·(A[h,i,:] − B[h,o,:]) = Σ_i K_h[i,o]·(B[h,o,:] − A[h,i,:])
//   linear:    dA[h,i,:] =  Σ_o dW[i,o]·B[h,o,:]           dB[h,o,:] = Σ_i dW[i,o]·A[h,i,:]
// Both sides have one form: with "self" the row whose gradient is computed (A[h,i] for dA, B[h,o] for
// dB) and "other" each row of the opposite side,
//   out[h,r,:] = Σ_c K(r,c)·(self − other)   (distance)      out[h,r,:] = Σ_c dW(r,c)·other   (linear)
// so one entry point serves both, chosen by the override SIDE_B.
// Shapes (row-major f32): A [H, n, k], B [H, m, k], dW [n, m], coeff [H]; out = dA [H, n, k] or
//   dB [H, m, k].
// Bindings (group 0)
//   0 uniform               p      { H, n, m, k }
//   1 storage, read         A
//   2 storage, read         B
//   3 storage, read         dW
//   4 storage, read         coeff  (read by distance only)
//   5 storage, read_write   out    (dA when SIDE_B = false, dB when true)
// Dispatch: one thread per (h, r), t = h·rows + r with rows = n (dA) or m (dB); ceil(H·rows / WG)
//   workgroups on a 2-D grid, t = (wid.y·nwg.x + wid.x)·WG + lid, bounds-checked. Each thread loops
//   over the other side's rows, recomputing D_h (never stored), and accumulates CHUNK components of
//   its k-vector at a time in registers (k > CHUNK takes several sweeps).
// Edge rules: a zero distance (D_h = 0) contributes nothing, so equal rows give finite gradients;
//   NaN in the inputs propagates. Every output element is written (no accumulation).

override WG: u32 = 64u;
override SIDE_B: bool = false;
override LINEAR: bool = false;
const CHUNK: u32 = 16u;

struct Params { H: u32, n: u32, m: u32, k: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read> dW: array<f32>;
@group(0) @binding(4) var<storage, read> coeff: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;

// Component j of row r of this side (self) or of the opposite side (other), head h.
fn self_at(h: u32, r: u32, j: u32) -> f32 {
  if (SIDE_B) { return B[(h * p.m + r) * p.k + j]; }
  return A[(h * p.n + r) * p.k + j];
}
fn other_at(h: u32, c: u32, j: u32) -> f32 {
  if (SIDE_B) { return A[(h * p.n + c) * p.k + j]; }
  return B[(h * p.m + c) * p.k + j];
}
// dW at (i, o) for self row r and other row c.
fn grad_at(r: u32, c: u32) -> f32 {
  if (SIDE_B) { return dW[c * p.m + r]; }
  return dW[r * p.m + c];
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let rows = select(p.n, p.m, SIDE_B);
  let cols = select(p.m, p.n, SIDE_B);
  let t = (wid.y * nwg.x + wid.x) * WG + lid;
  if (t >= p.H * rows) { return; }
  let h = t / rows;
  let r = t % rows;
  for (var j0 = 0u; j0 < p.k; j0 += CHUNK) {
    let len = min(CHUNK, p.k - j0);
    var acc: array<f32, CHUNK>;
    for (var c = 0u; c < cols; c++) {
      var g = grad_at(r, c);
      if (!LINEAR) {
        var d2 = 0.0;
        for (var j = 0u; j < p.k; j++) {
          let d = self_at(h, r, j) - other_at(h, c, j);
          d2 += d * d;
        }
        if (d2 == 0.0) { continue; }
        g = coeff[h] * g / sqrt(d2);
      }
      for (var j = 0u; j < len; j++) {
        let o = other_at(h, c, j0 + j);
        if (LINEAR) { acc[j] += g * o; } else { acc[j] += g * (self_at(h, r, j0 + j) - o); }
      }
    }
    for (var j = 0u; j < len; j++) { out[(h * rows + r) * p.k + j0 + j] = acc[j]; }
  }
}
