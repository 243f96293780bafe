// rmsnorm.wgsl: RMSNorm over the last dimension and its gradient (LLaMA's norm: no mean, no bias).
//
// Math, per row r of x [R, D]:
//   forward:           ρ = 1/sqrt(Σ_d x²/D + eps);  out = w·x·ρ;  rstd[r] = ρ
//   backward_dx:       x̂ = x·ρ;  ĝ = dy·w;  dx = ρ·(ĝ − x̂·mean_d(ĝ·x̂))   (written)
//   backward_partial:  partial[c·D + d] = Σ_{r in chunk c} dy·x̂   (chunk c: rows c·rpc … c·rpc+rpc−1);
//                      reduce.wgsl's sum_chunks then adds the chunks in order onto dw: deterministic,
//                      no float atomics (as layernorm.wgsl's dw).
// Shapes (f32): x, out, dy, dx [R, D]; w [D]; rstd [R]; partial [chunks, D] (scratch).
// Bindings (group 0)                                    used by
//   0 uniform               p { R, D, eps, rpc, chunks }
//   1 storage, read         x                           all
//   2 storage, read         w                           forward, backward_dx
//   3 storage, read_write   out                         forward
//   4 storage, read_write   rstd                        forward (written)
//   5 storage, read         dy                          backward_*
//   6 storage, read_write   dx                          backward_dx
//   7 storage, read_write   partial                     backward_partial
//   8 storage, read         rstd (saved)                backward_*
// Dispatch: forward and backward_dx: one workgroup of WG threads per row (R workgroups on a 2-D grid,
//   r = wid.y·nwg.x + wid.x), threads striding over d, tree reductions in workgroup memory;
//   backward_partial: ⌈D/WG⌉·chunks workgroups, one thread per (chunk, column) summing its rows in order.
// Edge rules: a zero row has ρ = 1/sqrt(eps) and out = 0; eps = 0 with a zero row gives inf·0 = NaN, as
//   torch; NaN propagates; x² overflows float32 for |x| > 1.8e19 (ρ = 0, out = 0 or NaN).

const WG: u32 = 256u;

struct Params { R: u32, D: u32, eps: f32, rpc: u32, chunks: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read_write> rstd: array<f32>;
@group(0) @binding(5) var<storage, read> dy: array<f32>;
@group(0) @binding(6) var<storage, read_write> dx: array<f32>;
@group(0) @binding(7) var<storage, read_write> partial: array<f32>;
@group(0) @binding(8) var<storage, read> rstd_in: array<f32>;

// reduce_sum: workgroup_reduce.wgsl, which src/webgpu/kernels.ts puts in front of this file.

@compute @workgroup_size(WG)
fn forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
           @builtin(local_invocation_index) lid: u32) {
  let r = wid.y * nwg.x + wid.x;
  if (r >= p.R) { return; }
  let row = r * p.D;
  var s = 0.0;
  for (var d = lid; d < p.D; d += WG) {
    let v = x[row + d];
    s += v * v;
  }
  let rho = inverseSqrt(reduce_sum(vec4f(s, 0.0, 0.0, 0.0), lid).x / f32(p.D) + p.eps);
  for (var d = lid; d < p.D; d += WG) { out[row + d] = w[d] * (x[row + d] * rho); }
  if (lid == 0u) { rstd[r] = rho; }
}

@compute @workgroup_size(WG)
fn backward_dx(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
               @builtin(local_invocation_index) lid: u32) {
  let r = wid.y * nwg.x + wid.x;
  if (r >= p.R) { return; }
  let row = r * p.D;
  let rho = rstd_in[r];
  var acc = 0.0;
  for (var d = lid; d < p.D; d += WG) { acc += dy[row + d] * w[d] * (x[row + d] * rho); }
  let m = reduce_sum(vec4f(acc, 0.0, 0.0, 0.0), lid).x / f32(p.D);
  for (var d = lid; d < p.D; d += WG) {
    dx[row + d] = rho * (dy[row + d] * w[d] - x[row + d] * rho * m);
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
  var acc = 0.0;
  for (var r = c * p.rpc; r < r1; r++) { acc += dy[r * p.D + d] * (x[r * p.D + d] * rstd_in[r]); }
  partial[c * p.D + d] = acc;
}
