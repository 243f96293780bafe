// matmul.wgsl: C = op(a)·op(b) (or C += op(a)·op(b)), float32, tiled in workgroup memory.
//
// Math: C[i,j] = Σ_p opA[i,p]·opB[p,j] (+ C[i,j] when ACCUMULATE), with
//   opA[i,p] = a[i,p] ([M,K] stored) or a[p,i] ([K,M] stored, TRANS_A),
//   opB[p,j] = b[p,j] ([K,N] stored) or b[j,p] ([N,K] stored, TRANS_B).
// Shapes (row-major f32): a [M,K] or [K,M], b [K,N] or [N,K], C [M,N].
// Bindings (group 0)
//   0 uniform               p { M, K, N, tiles_n }
//   1 storage, read         a
//   2 storage, read         b
//   3 storage, read_write   C
// Dispatch: one workgroup of 16×16 threads per 64×64 tile of C, each thread computing a 4×4 block.
//   ⌈M/64⌉·⌈N/64⌉ workgroups on a 2-D grid; tile = wid.y·nwg.x + wid.x, row tile = tile / tiles_n,
//   column tile = tile % tiles_n. The K dimension advances 16 at a time through workgroup tiles
//   As [16][64] and Bs [16][64]; loads outside a or b read as 0, writes outside C are skipped, so
//   no size needs to be a multiple of anything.
// Edge rules: K = 0 gives C = 0 (or C unchanged with ACCUMULATE); NaN propagates.

override TRANS_A: bool = false;
override TRANS_B: bool = false;
override ACCUMULATE: bool = false;
const TILE: u32 = 64u;
const TK: u32 = 16u;
const WG: u32 = 256u;

struct Params { M: u32, K: u32, N: u32, tiles_n: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;

var<workgroup> As: array<f32, TK * TILE>; // As[kk·TILE + r] = opA[row0 + r, k0 + kk]
var<workgroup> Bs: array<f32, TK * TILE>; // Bs[kk·TILE + c] = opB[k0 + kk, col0 + c]

fn load_a(i: u32, q: u32) -> f32 {
  if (i >= p.M || q >= p.K) { return 0.0; }
  if (TRANS_A) { return a[q * p.M + i]; }
  return a[i * p.K + q];
}
fn load_b(q: u32, j: u32) -> f32 {
  if (q >= p.K || j >= p.N) { return 0.0; }
  if (TRANS_B) { return b[j * p.K + q]; }
  return b[q * p.N + j];
}

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let tile = wid.y * nwg.x + wid.x;
  let row0 = (tile / p.tiles_n) * TILE;
  let col0 = (tile % p.tiles_n) * TILE;
  if (row0 >= p.M) { return; }
  let tx = lid % 16u;
  let ty = lid / 16u;
  var acc: array<vec4f, 4>;
  for (var k0 = 0u; k0 < p.K; k0 += TK) {
    // 1024 elements per tile, 4 per thread; consecutive threads walk the contiguous direction.
    for (var e = 0u; e < 4u; e++) {
      let idx = e * WG + lid;
      var r = idx / TK;
      var kk = idx % TK;
      if (TRANS_A) { r = idx % TILE; kk = idx / TILE; }
      As[kk * TILE + r] = load_a(row0 + r, k0 + kk);
      var c = idx % TILE;
      var kb = idx / TILE;
      if (TRANS_B) { c = idx / TK; kb = idx % TK; }
      Bs[kb * TILE + c] = load_b(k0 + kb, col0 + c);
    }
    workgroupBarrier();
    for (var kk = 0u; kk < TK; kk++) {
      let av = vec4f(As[kk * TILE + ty * 4u], As[kk * TILE + ty * 4u + 1u],
                     As[kk * TILE + ty * 4u + 2u], As[kk * TILE + ty * 4u + 3u]);
      let bv = vec4f(Bs[kk * TILE + tx * 4u], Bs[kk * TILE + tx * 4u + 1u],
                     Bs[kk * TILE + tx * 4u + 2u], Bs[kk * TILE + tx * 4u + 3u]);
      for (var i = 0u; i < 4u; i++) { acc[i] += av[i] * bv; }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let r = row0 + ty * 4u + i;
    if (r >= p.M) { continue; }
    for (var j = 0u; j < 4u; j++) {
      let c = col0 + tx * 4u + j;
      if (c >= p.N) { continue; }
      var v = acc[i][j];
      if (ACCUMULATE) { v += C[r * p.N + c]; }
      C[r * p.N + c] = v;
    }
  }
}
