// mixture.wgsl: SNELLA's mixture kernel and its gradient.
//
// Math, per row i (softmax over o; α, γ, β are 1-element tensors):
//   forward:        P = softmax(W0[i,:]/γ) (the row max is subtracted before exp);  W = W0 + α·P + β
//   backward_rows:  dot_i = Σ_o α·dW·P;  dZ = P·(α·dW − dot_i);  dW0 = dW + dZ/γ
//                   partial[i] = (Σ_o dW·P, Σ_o dZ·W0, Σ_o dW)
//   backward_total: dα = Σ_i partial[i].0;  dγ = −Σ_i partial[i].1 / γ²;  dβ = Σ_i partial[i].2
// The two-stage reduction is deterministic: fixed summation order, no float atomics.
// Shapes (row-major f32): W0, W, P, dW, dW0 [n, m]; alpha, gamma, beta, dAlpha, dGamma, dBeta [1];
//   partial [n, 3] (scratch).
// Bindings (group 0)                      used by
//   0 uniform               p { n, m }   all
//   1 storage, read         W0           forward, backward_rows
//   2 storage, read         alpha        forward, backward_rows
//   3 storage, read         gamma        all
//   4 storage, read         beta         forward
//   5 storage, read_write   W            forward
//   6 storage, read_write   P            forward (writes), backward_rows (reads)
//   7 storage, read         dW           backward_rows
//   8 storage, read_write   dW0          backward_rows
//   9 storage, read_write   partial      backward_rows (writes), backward_total (reads)
//  10 storage, read_write   dAlpha       backward_total
//  11 storage, read_write   dGamma       backward_total
//  12 storage, read_write   dBeta        backward_total
// Dispatch: forward and backward_rows run one workgroup of WG threads per row (n workgroups on a 2-D
//   grid, row = wid.y·nwg.x + wid.x), each thread striding over o; backward_total is one workgroup.
// Edge rules: γ = 0 or non-finite inputs give NaN/inf as the formulas do; a row of −inf/γ gives NaN.

const WG: u32 = 256u;

struct Params { n: u32, m: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> W0: array<f32>;
@group(0) @binding(2) var<storage, read> alpha: array<f32>;
@group(0) @binding(3) var<storage, read> gamma: array<f32>;
@group(0) @binding(4) var<storage, read> beta: array<f32>;
@group(0) @binding(5) var<storage, read_write> W: array<f32>;
@group(0) @binding(6) var<storage, read_write> P: array<f32>;
@group(0) @binding(7) var<storage, read> dW: array<f32>;
@group(0) @binding(8) var<storage, read_write> dW0: array<f32>;
@group(0) @binding(9) var<storage, read_write> partial: array<f32>;
@group(0) @binding(10) var<storage, read_write> dAlpha: array<f32>;
@group(0) @binding(11) var<storage, read_write> dGamma: array<f32>;
@group(0) @binding(12) var<storage, read_write> dBeta: array<f32>;

// reduce_sum, reduce_max: workgroup_reduce.wgsl, which src/webgpu/kernels.ts puts in front of this file.

@compute @workgroup_size(WG)
fn forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
           @builtin(local_invocation_index) lid: u32) {
  let i = wid.y * nwg.x + wid.x;
  if (i >= p.n) { return; }
  let row = i * p.m;
  let g = gamma[0];
  var mx = -3.4028234663852886e38; // the lowest finite f32
  for (var o = lid; o < p.m; o += WG) { mx = max(mx, W0[row + o] / g); }
  mx = reduce_max(mx, lid);
  var sum = 0.0;
  for (var o = lid; o < p.m; o += WG) {
    let e = exp(W0[row + o] / g - mx);
    P[row + o] = e;
    sum += e;
  }
  sum = reduce_sum(vec4f(sum, 0.0, 0.0, 0.0), lid).x;
  let a = alpha[0];
  let b = beta[0];
  for (var o = lid; o < p.m; o += WG) {
    let pr = P[row + o] / sum;
    P[row + o] = pr;
    W[row + o] = W0[row + o] + a * pr + b;
  }
}

@compute @workgroup_size(WG)
fn backward_rows(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                 @builtin(local_invocation_index) lid: u32) {
  let i = wid.y * nwg.x + wid.x;
  if (i >= p.n) { return; }
  let row = i * p.m;
  let a = alpha[0];
  let g = gamma[0];
  var dot = 0.0;
  for (var o = lid; o < p.m; o += WG) { dot += a * dW[row + o] * P[row + o]; }
  dot = reduce_sum(vec4f(dot, 0.0, 0.0, 0.0), lid).x;
  var acc = vec4f(0.0);
  for (var o = lid; o < p.m; o += WG) {
    let q = row + o;
    let dz = P[q] * (a * dW[q] - dot);
    dW0[q] = dW[q] + dz / g;
    acc += vec4f(dW[q] * P[q], dz * W0[q], dW[q], 0.0);
  }
  acc = reduce_sum(acc, lid);
  if (lid == 0u) {
    partial[3u * i] = acc.x;
    partial[3u * i + 1u] = acc.y;
    partial[3u * i + 2u] = acc.z;
  }
}

@compute @workgroup_size(WG)
fn backward_total(@builtin(local_invocation_index) lid: u32) {
  var acc = vec4f(0.0);
  for (var i = lid; i < p.n; i += WG) {
    acc += vec4f(partial[3u * i], partial[3u * i + 1u], partial[3u * i + 2u], 0.0);
  }
  acc = reduce_sum(acc, lid);
  if (lid == 0u) {
    let g = gamma[0];
    dAlpha[0] = acc.x;
    dGamma[0] = -acc.y / (g * g);
    dBeta[0] = acc.z;
  }
}
