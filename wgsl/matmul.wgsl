// matmul.wgsl: C = op(a)·op(b), or C += op(a)·op(b) with ACCUMULATE; float32, tiled in workgroup memory.
// op(a) is a [M,K], or a stored [K,M] with TRANS_A; op(b) is b [K,N], or b stored [N,K] with TRANS_B; C is
// [M,N]; all row-major. Bindings (group 0): 0 uniform p {M, K, N, tiles_n}; 1 a, 2 b as array<f32> (entry
// main); 3 C, read_write (both); 4 a4, 5 b4 as array<vec4f> (entry main_vec4, used only when a's and b's
// contiguous dimensions are multiples of 4, so that a vec4 is wholly in or out of its matrix).
// Variant (overrides; the table is src/webgpu/matmul.ts): WG_X×WG_Y threads, each owning TM4 ≤ 2 groups
// of 4 rows and TN4 ≤ 2 of 4 columns: rows 4·WG_Y·h + 4·ty + i, columns 4·WG_X·g + 4·tx + j (h < TM4,
// g < TN4, i, j < 4), so a workgroup's tile of C is BM = 4·TM4·WG_Y by BN = 4·TN4·WG_X; K advances BK
// (a multiple of 4) at a time. Tiles are k-major: As[kk·BM/4 + r/4][r%4] = opA[row0 + r, k0 + kk],
// Bs[kk·BN/4 + c/4][c%4] = opB[k0 + kk, col0 + c].
// Dispatch: ⌈M/BM⌉·⌈N/BN⌉ workgroups on a 2-D grid; tile = wid.y·nwg.x + wid.x, row tile = tile / tiles_n,
// column tile = tile % tiles_n. Loads outside a or b read 0 and writes outside C are skipped, so any
// sizes work. K = 0 gives C = 0 (C unchanged with ACCUMULATE); NaN propagates.

override TRANS_A: bool = false;
override TRANS_B: bool = false;
override ACCUMULATE: bool = false;
override WG_X: u32 = 16u;
override WG_Y: u32 = 16u;
override TM4: u32 = 1u;
override TN4: u32 = 1u;
override BK: u32 = 16u;
override BM: u32 = 4u * TM4 * WG_Y;
override BN: u32 = 4u * TN4 * WG_X;
override THREADS: u32 = WG_X * WG_Y;
override AS_VEC4: u32 = BK * BM / 4u;
override BS_VEC4: u32 = BK * BN / 4u;
const MAX_ACC: u32 = 16u; // accumulator slots 8h + 2i + g (h, g < 2, i < 4)

struct Params { M: u32, K: u32, N: u32, tiles_n: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;
@group(0) @binding(4) var<storage, read> a4: array<vec4f>;
@group(0) @binding(5) var<storage, read> b4: array<vec4f>;

var<workgroup> As: array<vec4f, AS_VEC4>;
var<workgroup> Bs: array<vec4f, BS_VEC4>;

// Element offsets of opA[i, q] and opB[q, j] in a and b; the loads read 0 outside the matrices. The
// vec4 loads take i, q (or q, j) multiples of 4 along the contiguous dimension.
fn at_a(i: u32, q: u32) -> u32 { return select(i * p.K + q, q * p.M + i, TRANS_A); }
fn at_b(q: u32, j: u32) -> u32 { return select(q * p.N + j, j * p.K + q, TRANS_B); }
fn load_a(i: u32, q: u32) -> f32 { if (i >= p.M || q >= p.K) { return 0.0; } return a[at_a(i, q)]; }
fn load_b(q: u32, j: u32) -> f32 { if (q >= p.K || j >= p.N) { return 0.0; } return b[at_b(q, j)]; }
fn load_a4(i: u32, q: u32) -> vec4f { if (i >= p.M || q >= p.K) { return vec4f(0.0); } return a4[at_a(i, q) / 4u]; }
fn load_b4(q: u32, j: u32) -> vec4f { if (q >= p.K || j >= p.N) { return vec4f(0.0); } return b4[at_b(q, j) / 4u]; }

fn set_as(kk: u32, r: u32, v: f32) { As[kk * (BM / 4u) + r / 4u][r % 4u] = v; }
fn set_bs(kk: u32, c: u32, v: f32) { Bs[kk * (BN / 4u) + c / 4u][c % 4u] = v; }

// One scalar per step; consecutive threads walk the contiguous dimension of a and b.
fn load_tiles(lid: u32, row0: u32, col0: u32, k0: u32) {
  for (var e = lid; e < BM * BK; e += THREADS) {
    let r = select(e / BK, e % BM, TRANS_A); let kk = select(e % BK, e / BM, TRANS_A);
    set_as(kk, r, load_a(row0 + r, k0 + kk));
  }
  for (var e = lid; e < BN * BK; e += THREADS) {
    let c = select(e % BN, e / BK, TRANS_B); let kk = select(e / BN, e % BK, TRANS_B);
    set_bs(kk, c, load_b(k0 + kk, col0 + c));
  }
}

// One vec4 per step, stored whole when it runs along the tile's rows, else spread over four of them.
fn load_tiles_vec4(lid: u32, row0: u32, col0: u32, k0: u32) {
  for (var e = lid; e < AS_VEC4; e += THREADS) {
    if (TRANS_A) { As[e] = load_a4(row0 + (e % (BM / 4u)) * 4u, k0 + e / (BM / 4u)); continue; }
    let r = e / (BK / 4u); let kk = (e % (BK / 4u)) * 4u;
    let v = load_a4(row0 + r, k0 + kk);
    for (var t = 0u; t < 4u; t++) { set_as(kk + t, r, v[t]); }
  }
  for (var e = lid; e < BS_VEC4; e += THREADS) {
    if (!TRANS_B) { Bs[e] = load_b4(k0 + e / (BN / 4u), col0 + (e % (BN / 4u)) * 4u); continue; }
    let c = e / (BK / 4u); let kk = (e % (BK / 4u)) * 4u;
    let v = load_b4(k0 + kk, col0 + c);
    for (var t = 0u; t < 4u; t++) { set_bs(kk + t, c, v[t]); }
  }
}

// acc[8h + 2i + g] += As row vec4 h, lane i  ×  Bs column vec4 g, over the BK steps of a tile.
// Written out for TM4, TN4 ≤ 2 with constant indices so that the accumulators stay in registers;
// the slots of absent groups (h ≥ TM4 or g ≥ TN4) are never touched.
fn multiply(acc: ptr<function, array<vec4f, MAX_ACC>>, tx: u32, ty: u32) {
  var c = *acc;
  let a_hi = min(TM4 - 1u, 1u) * WG_Y; // offset of row group 1 (0 when absent)
  let b_hi = min(TN4 - 1u, 1u) * WG_X;
  for (var kk = 0u; kk < BK; kk++) {
    let a0 = As[kk * (BM / 4u) + ty];
    let a1 = As[kk * (BM / 4u) + a_hi + ty];
    let b0 = Bs[kk * (BN / 4u) + tx];
    let b1 = Bs[kk * (BN / 4u) + b_hi + tx];
    c[0] += a0.x * b0; c[2] += a0.y * b0; c[4] += a0.z * b0; c[6] += a0.w * b0;
    if (TN4 > 1u) { c[1] += a0.x * b1; c[3] += a0.y * b1; c[5] += a0.z * b1; c[7] += a0.w * b1; }
    if (TM4 > 1u) {
      c[8] += a1.x * b0; c[10] += a1.y * b0; c[12] += a1.z * b0; c[14] += a1.w * b0;
      if (TN4 > 1u) { c[9] += a1.x * b1; c[11] += a1.y * b1; c[13] += a1.z * b1; c[15] += a1.w * b1; }
    }
  }
  *acc = c;
}

// The workgroup's tile of C: its first row and column, and whether it exists (past the last tile: no).
struct Tile { row0: u32, col0: u32, ok: bool }

fn tile_of(wid: vec3u, nwg: vec3u) -> Tile {
  let tile = wid.y * nwg.x + wid.x;
  let row0 = (tile / p.tiles_n) * BM;
  return Tile(row0, (tile % p.tiles_n) * BN, row0 < p.M);
}

// acc += the staged tiles' product, between the barriers that bracket it (call in uniform control flow).
fn multiply_staged(acc: ptr<function, array<vec4f, MAX_ACC>>, lid3: vec3u) {
  workgroupBarrier();
  multiply(acc, lid3.x, lid3.y);
  workgroupBarrier();
}

fn store(acc: ptr<function, array<vec4f, MAX_ACC>>, t: Tile, tx: u32, ty: u32) {
  for (var h = 0u; h < TM4; h++) {
    for (var i = 0u; i < 4u; i++) {
      let r = t.row0 + h * 4u * WG_Y + ty * 4u + i;
      if (r >= p.M) { continue; }
      for (var g = 0u; g < TN4; g++) {
        let v = (*acc)[h * 8u + i * 2u + g];
        for (var j = 0u; j < 4u; j++) {
          let c = t.col0 + g * 4u * WG_X + tx * 4u + j;
          if (c >= p.N) { continue; }
          var out = v[j];
          if (ACCUMULATE) { out += C[r * p.N + c]; }
          C[r * p.N + c] = out;
        }
      }
    }
  }
}

// The entry points differ only in how they stage a and b (scalar or vec4 bindings).
@compute @workgroup_size(WG_X, WG_Y)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_id) lid3: vec3u, @builtin(local_invocation_index) lid: u32) {
  let t = tile_of(wid, nwg);
  if (!t.ok) { return; }
  var acc: array<vec4f, MAX_ACC>;
  for (var k0 = 0u; k0 < p.K; k0 += BK) { load_tiles(lid, t.row0, t.col0, k0); multiply_staged(&acc, lid3); }
  store(&acc, t, lid3.x, lid3.y);
}

@compute @workgroup_size(WG_X, WG_Y)
fn main_vec4(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
             @builtin(local_invocation_id) lid3: vec3u, @builtin(local_invocation_index) lid: u32) {
  let t = tile_of(wid, nwg);
  if (!t.ok) { return; }
  var acc: array<vec4f, MAX_ACC>;
  for (var k0 = 0u; k0 < p.K; k0 += BK) { load_tiles_vec4(lid, t.row0, t.col0, k0); multiply_staged(&acc, lid3); }
  store(&acc, t, lid3.x, lid3.y);
}
