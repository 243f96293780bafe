// attention_prelude.wgsl: what attention_forward.wgsl and attention_backward.wgsl share (the host puts it
// in front of each): multi-head softmax attention (timm's and Hugging Face's head layout, grouped-query
// attention) and its gradient, tiled in workgroup memory.
//
// Math, per batch b and query head n (features n·hd … n·hd+hd−1 of Dq = nh·hd), which reads key/value
// head g = ⌊n/group⌋ (features g·hd … of Dk = (nh/group)·hd; group = 1 for the ViT); σ = hd^−½:
//   forward:        S[i,j] = σ·Σ_e Q[i,e]·K[j,e];  P[i,:] = softmax(S[i,:]) over the allowed keys
//                   (row max subtracted; forbidden keys P = 0, see attention_forward.wgsl);
//                   out[i,e] = Σ_j P[i,j]·V[j,e]
//   backward_rows:  dP[i,j] = Σ_e dO[i,e]·V[j,e];  dS[i,j] = P[i,j]·(dP[i,j] − Σ_j' dP[i,j']·P[i,j']);
//                   dQ[i,e] = σ·Σ_j dS[i,j]·K[j,e]
//   backward_cols:  per key/value head g: dK[j,e] = σ·Σ_n Σ_i dS_n[i,j]·Q_n[i,e];
//                   dV[j,e] = Σ_n Σ_i P_n[i,j]·dO_n[i,e] (n over the group's query heads, in order)
// Shapes (row-major f32): q, out, dO, dq [B, Tq, Dq] (element (b, i, n·hd + e)); k, v, dk, dv
//   [B, Tk, Dk]; probs, dS [B, nh, Tq, Tk] (row ((b·nh + n)·Tq + i)·Tk); dS is scratch, written by
//   backward_rows. The ViT has Tq = Tk, Dq = Dk, group = 1.
// Bindings: binding 0 is the uniform p { B, Tq, Tk, Dq, Dk, nh, group, hd, scale, causal, offset,
//   keyed }; the storage bindings are listed in each entry file.
// Dispatch: B·heads·⌈rows/BM⌉ workgroups of WG = 128 threads on a 2-D grid, g = wid.y·nwg.x + wid.x;
//   head slice bh = b·heads + h = g / ⌈rows/BM⌉ and row block r0 = BM·(g mod ⌈rows/BM⌉): query rows
//   (forward, backward_rows: heads = nh, rows = Tq) or key rows (backward_cols: heads = nh/group, the
//   key/value heads, rows = Tk). Workgroups past the last block return at once.
// Tiles: every product is C[m,n] = Σ_κ A[m,κ]·B[κ,n] over an output tile of BM×BN (BM = 32 rows, BN = 64
//   columns: keys of S and dP, else features, looping over hd in BN steps), κ staged KC = 32 at a time in
//   workgroup memory as vec4s of 4 rows, k-major and xor-swizzled (swz below): As 4 KiB, Bs 8 KiB, red
//   2 KiB, 14 KiB in all (≤ 16 KiB, the WebGPU default). Thread (tx, ty), tx < 16, ty < 8, owns rows
//   4·ty + r and columns 4·tx + c (r, c < 4) as acc[r][c]: per step one vec4 of As, one of Bs, 16 FMAs.
//   Every product is one call of product(), which stages operands through the entry file's operand().
//   Staging reads outside Tq, Tk or hd give 0 (and mac skips steps past the contraction's end), so no
//   size needs to be a multiple of a tile. Accumulators declared in a loop are zeroed explicitly (lavapipe
//   kept a loop-local var's value across iterations without it, on Dawn).
//   forward: S tile by tile into the block's rows of probs (σ applied), each thread keeping its rows'
//   running max; the maxima and then the sums of exp(S − max) are combined over the 16 threads of a row
//   (red, in tx order); each thread rewrites only the entries it wrote (so no barrier is needed between
//   those passes); a storageBarrier publishes P; then out = P·V. backward_rows: dP into dS likewise with
//   the row sums Σ dP·P, dS = P·(dP − sum) in place, storageBarrier, dq = σ·dS·K. backward_cols: the key
//   block's dk = σ·Σ_n dS_nᵀ·Q_n, then dv = Σ_n P_nᵀ·dO_n. Every sum has a fixed order: deterministic,
//   no atomics.
// Edge rules: Tk = 1 gives P = 1; NaN or inf in an allowed score makes that row NaN.

const BM: u32 = 32u;
const BN: u32 = 64u;
const KC: u32 = 32u;
const TX: u32 = 16u;
const WG: u32 = 128u; // TX·8
const LOWEST: f32 = -3.4028234663852886e38; // the lowest finite f32

struct Params { B: u32, Tq: u32, Tk: u32, Dq: u32, Dk: u32, nh: u32, group: u32, hd: u32, scale: f32, causal: u32, offset: u32, keyed: u32 }

@group(0) @binding(0) var<uniform> p: Params;

var<workgroup> As: array<vec4f, KC * BM / 4u>;
var<workgroup> Bs: array<vec4f, KC * BN / 4u>;
var<workgroup> red: array<f32, BM * TX>;

// The workgroup's block: the offsets of its query head n of sequence b in the [B, Tq, Dq] tensors (qb,
// of element (b, 0, n·hd)), of its key/value head in the [B, Tk, Dk] ones (kb, of (b, 0, ⌊n/group⌋·hd))
// and in the [B, nh, Tq, Tk] ones (sb, of (b, n, 0, 0)), its sequence, its first row r0, and whether it
// exists. Uniform over the workgroup; a thread's own (tx, ty) is kept apart as th for the uniformity
// analysis.
struct Block { qb: u32, kb: u32, sb: u32, b: u32, r0: u32, ok: bool }

fn head_block(b: u32, n: u32, r0: u32, ok: bool) -> Block {
  return Block(b * p.Tq * p.Dq + n * p.hd, b * p.Tk * p.Dk + (n / p.group) * p.hd, (b * p.nh + n) * p.Tq * p.Tk, b, r0, ok);
}

// Workgroup g's (b, head h of `heads`, row block of `rows`), as head_block(b, h, r0, ok) for query heads.
struct Slice { b: u32, h: u32, r0: u32, ok: bool }

fn slice_of(wid: vec3u, nwg: vec3u, heads: u32, rows: u32) -> Slice {
  let g = wid.y * nwg.x + wid.x;
  let nb = (rows + BM - 1u) / BM;
  let bh = g / nb;
  return Slice(bh / heads, bh % heads, (g % nb) * BM, g < p.B * heads * nb);
}

// Element (i, e) of the block's query head of a [B, Tq, Dq] tensor, and whether it is inside.
fn tok(t: Block, i: u32, e: u32) -> u32 { return t.qb + i * p.Dq + e; }
fn tok_in(i: u32, e: u32) -> bool { return i < p.Tq && e < p.hd; }
// Element (j, e) of the block's key/value head of a [B, Tk, Dk] tensor, and whether it is inside.
fn key(t: Block, j: u32, e: u32) -> u32 { return t.kb + j * p.Dk + e; }
fn key_in(j: u32, e: u32) -> bool { return j < p.Tk && e < p.hd; }
// Element (i, j) of the block's head slice of a [B, nh, Tq, Tk] tensor, and whether it is inside.
fn sq(t: Block, i: u32, j: u32) -> u32 { return t.sb + i * p.Tk + j; }
fn sq_in(i: u32, j: u32) -> bool { return i < p.Tq && j < p.Tk; }

// Staging slot s of a tile of R rows × KC steps as (row m, step c). kfast (the source is contiguous
// along the contraction): 32 neighbouring slots take 8 steps of 4 rows, one 32-byte run of each row;
// else they take 32 neighbouring rows of one step. Needs KC = 32, WG = 128 and R a multiple of 32.
fn slot(s: u32, R: u32, kfast: bool) -> vec2u {
  let k_fast = vec2u((s / 8u) % 4u + 4u * (s / 128u), s % 8u + 8u * ((s / 32u) % 4u));
  return select(vec2u(s % R, s / R), k_fast, kfast);
}

// Element (m, c) of a staged tile of R rows lives in component m mod 4 of vec4 slot
// c·R/4 + (⌊m/4⌋ xor (c mod 8)): the xor spreads both staging patterns over all 32 banks, and rows
// 4·y … 4·y+3 of a step stay one vec4 for mac.
fn swz(x: vec2u, R: u32) -> u32 { return x.y * (R / 4u) + ((x.x / 4u) ^ (x.y % 8u)); }
fn put_a(x: vec2u, value: f32) { As[swz(x, BM)][x.x % 4u] = value; }
fn put_b(x: vec2u, value: f32) { Bs[swz(x, BN)][x.x % 4u] = value; }

// acc += As·Bs over step c of a staged chunk: rows 4·ty … 4·ty+3 times columns 4·tx … 4·tx+3.
fn mac_step(acc: ptr<function, array<vec4f, 4>>, th: vec2u, c: u32) {
  let a = As[c * (BM / 4u) + (th.y ^ (c % 8u))];
  let b = Bs[c * (BN / 4u) + (th.x ^ (c % 8u))];
  for (var r = 0u; r < 4u; r++) { (*acc)[r] += a[r] * b; }
}

// acc += As·Bs over the first n steps of a staged chunk (the rest lie outside the contraction); a full
// chunk has a constant trip count, for the compiler to unroll. Call between the barriers bracketing it.
fn mac(acc: ptr<function, array<vec4f, 4>>, th: vec2u, n: u32) {
  if (n == KC) {
    for (var c = 0u; c < KC; c++) { mac_step(acc, th, c); }
  } else {
    for (var c = 0u; c < n; c++) { mac_step(acc, th, c); }
  }
}

// Row r0 + 4·ty + r and column n0 + 4·tx + c of an output tile: the element acc[r][c] of this thread.
fn at(t: Block, th: vec2u, n0: u32, r: u32, c: u32) -> vec2u { return vec2u(t.r0 + 4u * th.y + r, n0 + 4u * th.x + c); }

// Each thread's values for its four rows combined over the TX threads sharing those rows, in tx order
// (max or sum); every thread gets its rows' results. Call in uniform control flow.
fn row_reduce(x: vec4f, th: vec2u, take_max: bool) -> vec4f {
  for (var r = 0u; r < 4u; r++) { red[(4u * th.y + r) * TX + th.x] = x[r]; }
  workgroupBarrier();
  let row = th.y * TX + th.x;
  if (row < BM) {
    var y = red[row * TX];
    for (var i = 1u; i < TX; i++) { y = select(y + red[row * TX + i], max(y, red[row * TX + i]), take_max); }
    red[row * TX] = y;
  }
  workgroupBarrier();
  var y: vec4f;
  for (var r = 0u; r < 4u; r++) { y[r] = red[(4u * th.y + r) * TX]; }
  workgroupBarrier();
  return y;
}

// Operands of product(), read through operand(id, t, i, j) in each entry file: element (i, j) of the
// block's head slice, or 0 outside it.
const Q: u32 = 0u;
const K: u32 = 1u;
const V: u32 = 2u;
const DO: u32 = 3u;
const PROBS: u32 = 4u; // forward's probs, being written
const P_SAVED: u32 = 5u; // backward's saved probabilities
const DS: u32 = 6u;

// This thread's acc[r][c] of the output tile C = A·B over a contraction of n steps: rows r0 … of A,
// columns n0 … of B. a_kfast: A[m,κ] is operand a's element (r0 + m, κ), else its element (κ, r0 + m)
// (a transposed read); b_kfast: B[κ,n] is operand b's element (n0 + n, κ), else (κ, n0 + n).
// KC steps are staged at a time; call in uniform control flow.
fn product(a: u32, a_kfast: bool, b: u32, b_kfast: bool, t: Block, th: vec2u, lid: u32, n0: u32, n: u32) -> array<vec4f, 4> {
  var acc = array<vec4f, 4>();
  for (var k0 = 0u; k0 < n; k0 += KC) {
    for (var s = lid; s < BM * KC; s += WG) {
      let x = slot(s, BM, a_kfast);
      if (a_kfast) { put_a(x, operand(a, t, t.r0 + x.x, k0 + x.y)); } else { put_a(x, operand(a, t, k0 + x.y, t.r0 + x.x)); }
    }
    for (var s = lid; s < BN * KC; s += WG) {
      let x = slot(s, BN, b_kfast);
      if (b_kfast) { put_b(x, operand(b, t, n0 + x.x, k0 + x.y)); } else { put_b(x, operand(b, t, k0 + x.y, n0 + x.x)); }
    }
    workgroupBarrier();
    mac(&acc, th, min(KC, n - k0));
    workgroupBarrier();
  }
  return acc;
}
