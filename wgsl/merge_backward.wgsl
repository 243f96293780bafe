// merge_backward.wgsl: gradients of the merge (merge.wgsl) with respect to A and B, given dW.
//
// Math, with D_h[i,o] = ‖A[h,i,:] − B[h,o,:]‖₂ and K_h[i,o] = c_h·dW[i,o]/D_h[i,o]:
//   distance:  dA[h,i,:] =  Σ_o K_h[i,o]·(A[h,i,:] − B[h,o,:])
//              dB[h,o,:] = −Σ_i K_h[i,o]·(A[h,i,:] − B[h,o,:]) = Σ_i K_h[i,o]·(B[h,o,:] − A[h,i,:])
//   linear:    dA[h,i,:] =  Σ_o dW[i,o]·B[h,o,:]           dB[h,o,:] = Σ_i dW[i,o]·A[h,i,:]
// Both sides have one form: with "self" the row whose gradient is computed (A[h,i] for dA, B[h,o] for
// dB) and "other" each row of the opposite side,
//   out[h,r,:] = Σ_c K(r,c)·(self − other)   (distance)      out[h,r,:] = Σ_c dW(r,c)·other   (linear)
// so each entry point serves both, chosen by the override SIDE_B. The sum over c runs in two passes:
//   partials: part[q,h,r,:] = Σ_{c in chunk q} (term)   chunk q = the other rows [q·p.chunk, (q+1)·p.chunk)
//   totals:   out[h,r,:]    = Σ_q part[q,h,r,:]         in order q = 0, 1, …, Q−1
// Shapes (row-major f32): A [H, n, k], B [H, m, k], dW [n, m], coeff [H]; rows = n (dA) or m (dB),
//   cols = the other; Q = ceil(cols / p.chunk); part [Q, H, rows, k]; out = dA [H, n, k] or dB [H, m, k].
// Bindings (group 0)
//   0 uniform               p      { H, n, m, chunk }
//   1 storage, read         A                                 (partials)
//   2 storage, read         B                                 (partials)
//   3 storage, read         dW                                (partials)
//   4 storage, read         coeff  (read by distance only)    (partials)
//   5 storage, read_write   out    (dA when SIDE_B = false, dB when true)   (totals)
//   6 storage, read_write   part   (written by partials, read by totals)
// Dispatch (workgroups on a 2-D grid, w = wid.y·nwg.x + wid.x, bounds-checked):
//   partials: Q·H·ceil(rows / WG) workgroups, w = (q·H + h)·tiles + tile; thread lid owns self row
//     r = tile·WG + lid. All threads of a workgroup visit the same other row c at each step, so its
//     k values are one broadcast read and, for dB, consecutive threads read consecutive dW elements.
//     D_h is recomputed (never stored); CHUNK components of the k-vector are held in registers at a
//     time (k > CHUNK takes several sweeps). k is the override K, so its loops have constant bounds.
//   totals: ceil(H·rows·k / WG) workgroups, one thread per output element.
// Edge rules: a zero distance (D_h = 0) contributes nothing, so equal rows give finite gradients;
//   NaN in the inputs propagates. Every output element is written (no accumulation). Fixed summation
//   order, no atomics: results are deterministic.

override WG: u32 = 64u;
override SIDE_B: bool = false;
override LINEAR: bool = false;
override K: u32 = 1u; // k: a constant, so loops over k unroll and acc stays in registers
const CHUNK: u32 = 16u;

struct Params { H: u32, n: u32, m: u32, chunk: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> A: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read> dW: array<f32>;
@group(0) @binding(4) var<storage, read> coeff: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
@group(0) @binding(6) var<storage, read_write> part: array<f32>;

fn rows() -> u32 { return select(p.n, p.m, SIDE_B); }
fn cols() -> u32 { return select(p.m, p.n, SIDE_B); }
fn chunks() -> u32 { return max(1u, (cols() + p.chunk - 1u) / p.chunk); } // Q

// Component j of row r of this side (self) or of the opposite side (other), head h.
fn self_at(h: u32, r: u32, j: u32) -> f32 {
  if (SIDE_B) { return B[(h * p.m + r) * K + j]; }
  return A[(h * p.n + r) * K + j];
}
fn other_at(h: u32, c: u32, j: u32) -> f32 {
  if (SIDE_B) { return A[(h * p.n + c) * K + j]; }
  return B[(h * p.m + c) * K + j];
}
// dW at (i, o) for self row r and other row c.
fn grad_at(r: u32, c: u32) -> f32 {
  if (SIDE_B) { return dW[c * p.m + r]; }
  return dW[r * p.m + c];
}

@compute @workgroup_size(WG)
fn partials(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
            @builtin(local_invocation_index) lid: u32) {
  let tiles = (rows() + WG - 1u) / WG;
  let w = wid.y * nwg.x + wid.x;
  let qh = w / tiles;
  let q = qh / p.H;
  let h = qh % p.H;
  let r = (w % tiles) * WG + lid;
  if (q >= chunks() || r >= rows()) { return; }
  let c_end = min(cols(), (q + 1u) * p.chunk);
  let base = (qh * rows() + r) * K;
  for (var j0 = 0u; j0 < K; j0 += CHUNK) {
    var acc = array<f32, CHUNK>(); // zeroed on every sweep
    for (var c = q * p.chunk; c < c_end; c++) {
      var g = grad_at(r, c);
      if (!LINEAR) {
        var d2 = 0.0;
        for (var j = 0u; j < K; j++) {
          let d = self_at(h, r, j) - other_at(h, c, j);
          d2 += d * d;
        }
        if (d2 == 0.0) { continue; }
        g = coeff[h] * g / sqrt(d2);
      }
      for (var j = 0u; j < CHUNK; j++) {
        if (j0 + j < K) {
          let o = other_at(h, c, j0 + j);
          if (LINEAR) { acc[j] += g * o; } else { acc[j] += g * (self_at(h, r, j0 + j) - o); }
        }
      }
    }
    for (var j = 0u; j < CHUNK; j++) {
      if (j0 + j < K) { part[base + j0 + j] = acc[j]; }
    }
  }
}

@compute @workgroup_size(WG)
fn totals(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
          @builtin(local_invocation_index) lid: u32) {
  let e = (wid.y * nwg.x + wid.x) * WG + lid;
  let size = p.H * rows() * K;
  if (e >= size) { return; }
  var sum = 0.0;
  for (var q = 0u; q < chunks(); q++) { sum += part[q * size + e]; }
  out[e] = sum;
}
