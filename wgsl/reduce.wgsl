// reduce.wgsl: deterministic reductions: column sums (bias gradients), the sum of squares and the
// gradient-clipping factor. No float atomics: every sum has a fixed order, so results repeat bit for bit.
//
// Math:
//   sum_rows_partial:     partial[c·cols + j] = Σ_{r in chunk c} x[r·cols + j]    (chunk c: rows c·rpc … c·rpc+rpc−1)
//   sum_chunks:           out[j] = Σ_c partial[base + c·cols + j] (+ out[j] when accumulate ≠ 0)
//                         (also the second stage of layernorm.wgsl's dw, db sums, base selecting which)
//   sum_squares_partial:  partial[g] = Σ_{q in block g} x[q]²   (block g: WG·ITEMS consecutive elements)
//   sum_squares_total:    out[0] = Σ_g partial[g] (+ out[0] when accumulate ≠ 0)
//   clip_factor:          out[0] = min(1, max_norm / (sqrt(x[0]) + 1e-6))   (torch.nn.utils.clip_grad_norm_)
// Shapes (f32): sum_rows: x [rows, cols], partial [chunks, cols], out [cols];
//   sum_squares: x [n], partial [groups], out [1]; clip_factor: x (sum of squares) [1], out [1].
// Bindings (group 0)                                                    used by
//   0 uniform               p { rows, cols, rpc, chunks, base, accumulate, n, max_norm }
//   1 storage, read         x                                          *_partial, clip_factor
//   2 storage, read_write   partial (scratch)                          all but clip_factor
//   3 storage, read_write   out                                        sum_chunks, sum_squares_total, clip_factor
// Dispatch: sum_rows_partial: ⌈cols/WG⌉·chunks workgroups (g = wid.y·nwg.x + wid.x, column block
//   g % ⌈cols/WG⌉, chunk g / ⌈cols/WG⌉), one thread per column summing its rpc rows in order;
//   sum_chunks: ⌈cols/WG⌉ workgroups, one thread per column summing the chunks in order;
//   sum_squares_partial: ⌈n/(WG·ITEMS)⌉ workgroups, each thread summing ITEMS strided elements, then a
//   tree over the workgroup; sum_squares_total and clip_factor: one workgroup.
// Edge rules: rows = 0 or n = 0 give 0 (or leave out unchanged when accumulating); NaN and inf
//   propagate; clip_factor is NaN for a NaN norm (as torch: the gradients become NaN) and 0 for an
//   infinite one.

const WG: u32 = 256u;
const ITEMS: u32 = 16u;

struct Params { rows: u32, cols: u32, rpc: u32, chunks: u32, base: u32, accumulate: u32, n: u32, max_norm: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> partial: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

// reduce_sum: workgroup_reduce.wgsl, which src/webgpu/kernels.ts puts in front of this file.

@compute @workgroup_size(WG)
fn sum_rows_partial(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                    @builtin(local_invocation_index) lid: u32) {
  let g = wid.y * nwg.x + wid.x;
  let blocks = (p.cols + WG - 1u) / WG;
  let c = g / blocks;
  let j = (g % blocks) * WG + lid;
  if (c >= p.chunks || j >= p.cols) { return; }
  let r1 = min(p.rows, (c + 1u) * p.rpc);
  var s = 0.0;
  for (var r = c * p.rpc; r < r1; r++) { s += x[r * p.cols + j]; }
  partial[c * p.cols + j] = s;
}

@compute @workgroup_size(WG)
fn sum_chunks(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
              @builtin(local_invocation_index) lid: u32) {
  let j = (wid.y * nwg.x + wid.x) * WG + lid;
  if (j >= p.cols) { return; }
  var s = 0.0;
  for (var c = 0u; c < p.chunks; c++) { s += partial[p.base + c * p.cols + j]; }
  if (p.accumulate != 0u) { s += out[j]; }
  out[j] = s;
}

@compute @workgroup_size(WG)
fn sum_squares_partial(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                       @builtin(local_invocation_index) lid: u32) {
  let g = wid.y * nwg.x + wid.x;
  let groups = (p.n + WG * ITEMS - 1u) / (WG * ITEMS);
  if (g >= groups) { return; } // uniform per workgroup: the barriers below stay in uniform control flow
  var s = 0.0;
  for (var e = 0u; e < ITEMS; e++) {
    let q = (g * ITEMS + e) * WG + lid;
    if (q < p.n) {
      let v = x[q];
      s += v * v;
    }
  }
  s = reduce_sum(vec4f(s, 0.0, 0.0, 0.0), lid).x;
  if (lid == 0u) { partial[g] = s; }
}

@compute @workgroup_size(WG)
fn sum_squares_total(@builtin(local_invocation_index) lid: u32) {
  let groups = (p.n + WG * ITEMS - 1u) / (WG * ITEMS);
  var s = 0.0;
  for (var g = lid; g < groups; g += WG) { s += partial[g]; }
  s = reduce_sum(vec4f(s, 0.0, 0.0, 0.0), lid).x;
  if (lid == 0u) {
    if (p.accumulate != 0u) { s += out[0]; }
    out[0] = s;
  }
}

@compute @workgroup_size(1)
fn clip_factor() {
  let c = p.max_norm / (sqrt(x[0]) + 1e-6);
  out[0] = select(c, 1.0, c >= 1.0); // NaN stays NaN
}
