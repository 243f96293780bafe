// layernorm.wgsl: LayerNorm over the last dimension and its gradient.
//
// Math, per row r of x [R, D] (biased variance, as torch):
//   forward:           μ = Σ_d x/D;  var = Σ_d (x − μ)²/D (two passes);  ρ = 1/sqrt(var + eps)
//                      out = (x − μ)·ρ·w + b;  mean[r] = μ;  rstd[r] = ρ
//   backward_dx:       x̂ = (x − μ)·ρ;  ĝ = dy·w;  dx = ρ·(ĝ − mean_d(ĝ) − x̂·mean_d(ĝ·x̂))   (written)
//   backward_partial:  partial[c·D + d] = Σ_{r in chunk c} dy·x̂;  partial[(chunks + c)·D + d] = Σ_{r in chunk c} dy
//                      (chunk c: rows c·rpc … c·rpc+rpc−1); reduce.wgsl's sum_chunks then adds the chunks
//                      in order onto dw (base 0) and db (base chunks·D): deterministic, no float atomics.
// Shapes (f32): x, out, dy, dx [R, D]; w, b [D]; mean, rstd [R]; partial [2, chunks, D] (scratch).
// Bindings (group 0)                                    used by
//   0 uniform               p { R, D, eps, rpc, chunks }
//   1 storage, read         x                           all
//   2 storage, read         w                           forward, backward_dx
//   3 storage, read         b                           forward
//   4 storage, read_write   out                         forward
//   5 storage, read_write   mean                        forward (written)
//   6 storage, read_write   rstd                        forward (written)
//   7 storage, read         dy                          backward_*
//   8 storage, read_write   dx                          backward_dx
//   9 storage, read_write   partial                     backward_partial
//  10 storage, read         mean (saved)                backward_*
//  11 storage, read         rstd (saved)                backward_*
// Dispatch: forward and backward_dx: one workgroup of WG threads per row (R workgroups on a 2-D grid,
//   r = wid.y·nwg.x + wid.x), threads striding over d, tree reductions in workgroup memory;
//   backward_partial: ⌈D/WG⌉·chunks workgroups, one thread per (chunk, column) summing its rows in order.
// Edge rules: D = 1 gives x̂ = 0 (out = b, dx = 0 up to rounding); a constant row has var = 0 and
//   ρ = 1/sqrt(eps); eps = 0 with a constant row gives inf·0 = NaN, as torch; NaN propagates.

const WG: u32 = 256u;

struct Params { R: u32, D: u32, eps: f32, rpc: u32, chunks: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<storage, read_write> mean: array<f32>;
@group(0) @binding(6) var<storage, read_write> rstd: array<f32>;
@group(0) @binding(7) var<storage, read> dy: array<f32>;
@group(0) @binding(8) var<storage, read_write> dx: array<f32>;
@group(0) @binding(9) var<storage, read_write> partial: array<f32>;
@group(0) @binding(10) var<storage, read> mean_in: array<f32>;
@group(0) @binding(11) var<storage, read> rstd_in: array<f32>;

// reduce_sum: workgroup_reduce.wgsl, which src/webgpu/kernels.ts puts in front of this file.

@compute @workgroup_size(WG)
fn forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
           @builtin(local_invocation_index) lid: u32) {
  let r = wid.y * nwg.x + wid.x;
  if (r >= p.R) { return; }
  let row = r * p.D;
  let n = f32(p.D);
  var s = 0.0;
  for (var d = lid; d < p.D; d += WG) { s += x[row + d]; }
  let mu = reduce_sum(vec4f(s, 0.0, 0.0, 0.0), lid).x / n;
  var v = 0.0;
  for (var d = lid; d < p.D; d += WG) {
    let c = x[row + d] - mu;
    v += c * c;
  }
  let rho = inverseSqrt(reduce_sum(vec4f(v, 0.0, 0.0, 0.0), lid).x / n + p.eps);
  for (var d = lid; d < p.D; d += WG) { out[row + d] = (x[row + d] - mu) * rho * w[d] + b[d]; }
  if (lid == 0u) {
    mean[r] = mu;
    rstd[r] = rho;
  }
}

@compute @workgroup_size(WG)
fn backward_dx(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
               @builtin(local_invocation_index) lid: u32) {
  let r = wid.y * nwg.x + wid.x;
  if (r >= p.R) { return; }
  let row = r * p.D;
  let mu = mean_in[r];
  let rho = rstd_in[r];
  var acc = vec2f(0.0);
  for (var d = lid; d < p.D; d += WG) {
    let g = dy[row + d] * w[d];
    acc += vec2f(g, g * (x[row + d] - mu) * rho);
  }
  let m = reduce_sum(vec4f(acc, 0.0, 0.0), lid).xy / f32(p.D);
  for (var d = lid; d < p.D; d += WG) {
    let xh = (x[row + d] - mu) * rho;
    dx[row + d] = rho * (dy[row + d] * w[d] - m.x - xh * m.y);
  }
}

@compute @workgroup_size(WG)
fn backward_partial(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                    @builtin(local_invocation_index) lid: u32) {
  let g = wid.y * nwg.x + wid.x;
  let blocks = (p.D + WG - 1u) / WG;
  let c = g / blocks;
  let d = (g % blocks) * WG + lid;
  if (c >= p.chunks || d >= p.D) { return; }
  let r1 = min(p.R, (c + 1u) * p.rpc);
  var acc = vec2f(0.0);
  for (var r = c * p.rpc; r < r1; r++) {
    let gy = dy[r * p.D + d];
    acc += vec2f(gy * (x[r * p.D + d] - mean_in[r]) * rstd_in[r], gy);
  }
  partial[c * p.D + d] = acc.x;
  partial[(p.chunks + c) * p.D + d] = acc.y;
}
