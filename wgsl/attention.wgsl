// attention.wgsl: multi-head softmax attention (timm's layout) and its gradient.
//
// Math, per batch b and head h (features h·hd … h·hd+hd−1 of D; hd = D/nh; σ = hd^−½):
//   forward:        S[i,j] = σ·Σ_e Q[i,e]·K[j,e];  P[i,:] = softmax(S[i,:]) (row max subtracted);
//                   out[i,e] = Σ_j P[i,j]·V[j,e]
//   backward_rows:  dP[i,j] = Σ_e dO[i,e]·V[j,e];  dS[i,j] = P[i,j]·(dP[i,j] − Σ_j' dP[i,j']·P[i,j']);
//                   dQ[i,e] = σ·Σ_j dS[i,j]·K[j,e]
//   backward_cols:  dK[j,e] = σ·Σ_i dS[i,j]·Q[i,e];  dV[j,e] = Σ_i P[i,j]·dO[i,e]
// Shapes (row-major f32): q, k, v, out, dO, dq, dk, dv [B, T, D] (element (b, t, h·hd + e));
//   probs, dS [B, nh, T, T] (row ((b·nh + h)·T + i)·T); dS is scratch, written by backward_rows.
// Bindings (group 0)                                  used by
//   0 uniform               p { B, T, D, nh, hd, scale }
//   1 storage, read         q                         forward, backward_cols
//   2 storage, read         k                         forward, backward_rows
//   3 storage, read         v                         forward, backward_rows
//   4 storage, read_write   out                       forward
//   5 storage, read_write   probs                     forward (scores, then probabilities, in place)
//   6 storage, read         dO                        backward_*
//   7 storage, read         probs (saved)             backward_*
//   8 storage, read_write   dS (scratch)              backward_rows (writes), backward_cols (reads)
//   9 storage, read_write   dq                        backward_rows
//  10 storage, read_write   dk                        backward_cols
//  11 storage, read_write   dv                        backward_cols
// Dispatch: B·nh·T workgroups of WG threads on a 2-D grid, g = wid.y·nwg.x + wid.x = (b·nh + h)·T + t.
//   forward and backward_rows: t is the query row i; threads stride over keys j for the scores (kept in
//   the row's own slice of probs / dS in storage memory, so T has no workgroup-memory limit), a tree
//   over the workgroup gives the row max and sums, a storageBarrier publishes the row, then threads
//   stride over e for the products with V or K. backward_cols: t is the key row j; threads stride over
//   e and sum over i in order. Every sum has a fixed order: deterministic, no atomics.
// Edge rules: T = 1 gives P = 1; NaN or inf in a score row makes that row NaN; −inf scores are not
//   expected (no masking here).

const WG: u32 = 64u;

struct Params { B: u32, T: u32, D: u32, nh: u32, hd: u32, scale: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<storage, read_write> probs: array<f32>;
@group(0) @binding(6) var<storage, read> dO: array<f32>;
@group(0) @binding(7) var<storage, read> P: array<f32>;
@group(0) @binding(8) var<storage, read_write> dS: array<f32>;
@group(0) @binding(9) var<storage, read_write> dq: array<f32>;
@group(0) @binding(10) var<storage, read_write> dk: array<f32>;
@group(0) @binding(11) var<storage, read_write> dv: array<f32>;

var<workgroup> red: array<f32, WG>;

// Tree reductions over the workgroup; every thread gets the result. Call in uniform control flow.
fn reduce_sum(x: f32, lid: u32) -> f32 {
  red[lid] = x;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] += red[lid + s]; }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}
fn reduce_max(x: f32, lid: u32) -> f32 {
  red[lid] = x;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] = max(red[lid], red[lid + s]); }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}

struct Row { t: u32, b: u32, h: u32, bh: u32 }

fn row_of(g: u32) -> Row {
  let bh = g / p.T;
  return Row(g % p.T, bh / p.nh, bh % p.nh, bh);
}

// Offset of feature h·hd of token t of batch b in a [B, T, D] tensor.
fn at(b: u32, t: u32, h: u32) -> u32 {
  return (b * p.T + t) * p.D + h * p.hd;
}

@compute @workgroup_size(WG)
fn forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
           @builtin(local_invocation_index) lid: u32) {
  let g = wid.y * nwg.x + wid.x;
  if (g >= p.B * p.nh * p.T) { return; }
  let r = row_of(g);
  let qi = at(r.b, r.t, r.h);
  let row = g * p.T;
  var mx = -3.4028234663852886e38; // the lowest finite f32
  for (var j = lid; j < p.T; j += WG) {
    let kj = at(r.b, j, r.h);
    var s = 0.0;
    for (var e = 0u; e < p.hd; e++) { s += q[qi + e] * k[kj + e]; }
    s *= p.scale;
    probs[row + j] = s;
    mx = max(mx, s);
  }
  mx = reduce_max(mx, lid);
  var sum = 0.0;
  for (var j = lid; j < p.T; j += WG) {
    let e = exp(probs[row + j] - mx);
    probs[row + j] = e;
    sum += e;
  }
  sum = reduce_sum(sum, lid);
  for (var j = lid; j < p.T; j += WG) { probs[row + j] = probs[row + j] / sum; }
  storageBarrier();
  for (var e = lid; e < p.hd; e += WG) {
    var acc = 0.0;
    for (var j = 0u; j < p.T; j++) { acc += probs[row + j] * v[at(r.b, j, r.h) + e]; }
    out[qi + e] = acc;
  }
}

@compute @workgroup_size(WG)
fn backward_rows(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                 @builtin(local_invocation_index) lid: u32) {
  let g = wid.y * nwg.x + wid.x;
  if (g >= p.B * p.nh * p.T) { return; }
  let r = row_of(g);
  let oi = at(r.b, r.t, r.h);
  let row = g * p.T;
  var dot = 0.0;
  for (var j = lid; j < p.T; j += WG) {
    let vj = at(r.b, j, r.h);
    var s = 0.0;
    for (var e = 0u; e < p.hd; e++) { s += dO[oi + e] * v[vj + e]; }
    dS[row + j] = s;
    dot += s * P[row + j];
  }
  dot = reduce_sum(dot, lid);
  for (var j = lid; j < p.T; j += WG) { dS[row + j] = P[row + j] * (dS[row + j] - dot); }
  storageBarrier();
  for (var e = lid; e < p.hd; e += WG) {
    var acc = 0.0;
    for (var j = 0u; j < p.T; j++) { acc += dS[row + j] * k[at(r.b, j, r.h) + e]; }
    dq[oi + e] = acc * p.scale;
  }
}

@compute @workgroup_size(WG)
fn backward_cols(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                 @builtin(local_invocation_index) lid: u32) {
  let g = wid.y * nwg.x + wid.x;
  if (g >= p.B * p.nh * p.T) { return; }
  let r = row_of(g);
  let kj = at(r.b, r.t, r.h);
  let col = r.bh * p.T * p.T + r.t; // element (i, j) of this (b, h) is col + i·T
  for (var e = lid; e < p.hd; e += WG) {
    var sk = 0.0;
    var sv = 0.0;
    for (var i = 0u; i < p.T; i++) {
      let qi = at(r.b, i, r.h) + e;
      sk += dS[col + i * p.T] * q[qi];
      sv += P[col + i * p.T] * dO[qi];
    }
    dk[kj + e] = sk * p.scale;
    dv[kj + e] = sv;
  }
}
