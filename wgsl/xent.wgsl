// xent.wgsl: mean softmax cross-entropy over a batch (softmaxCrossEntropy) or over the counted tokens
// (tokenCrossEntropy), its gradient, and the count of correct predictions.
//
// Math, per row b of logits [B, C] with label y = labels[b]:
//   rows:   m = max_c l[c] (argmax a: the first maximum wins);  lse = m + log(Σ_c exp(l[c] − m))
//           partial[2b] = lse − l[y];  partial[2b+1] = [a = y];
//           dLogits[b,c] = (exp(l[c] − m)/Σ − [c = y]) / B
//   total:  loss[0] = Σ_b partial[2b] / B (sum in a fixed order);  correct[0] = Σ_b partial[2b+1] (u32)
//   token_count, token_rows, token_total: the same with rows whose label is IGNORE (0xFFFFFFFF) left
//           out: count = #{b: y ≠ IGNORE} (token_count, into counted[0]); dLogits divided by count
//           instead of B; an ignored row gets dLogits 0, partial 0, 0; loss[0] = Σ partial / count,
//           0 when count = 0 (every row ignored, or B = 0). The logits are N = B rows of C = V.
// Shapes: logits, dLogits [B, C] f32; labels [B] u32; loss [1] f32; correct [1] u32; partial [B, 2] f32
//   (scratch); counted [1] u32 (scratch).
// Bindings (group 0)                           used by
//   0 uniform               p { B, C }
//   1 storage, read         logits             rows
//   2 storage, read         labels (u32)       rows
//   3 storage, read_write   dLogits            rows
//   4 storage, read_write   partial            rows (writes), total (reads)
//   5 storage, read_write   loss               total
//   6 storage, read_write   correct (u32)      total
//   7 storage, read_write   counted (u32)      token_count (writes), token_rows, token_total (read)
// The token entries use the same bindings as their counterparts (rows, total), plus counted.
// Dispatch: rows: one workgroup of WG threads per row (B workgroups on a 2-D grid,
//   b = wid.y·nwg.x + wid.x), threads striding over c, trees in workgroup memory for (max, argmax) and
//   the sum; total, token_count: one workgroup. Deterministic: no atomics.
// Edge rules: a label ≥ C (torch raises; for the token entries one ≥ C other than IGNORE) makes that
//   row's loss and gradient NaN and never counts as correct; NaN logits give a NaN loss (the argmax then ignores or takes the NaN, unspecified);
//   C = 1 gives loss 0 and dLogits 0.

const WG: u32 = 256u;
const IGNORE: u32 = 0xffffffffu;

struct Params { B: u32, C: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<u32>;
@group(0) @binding(3) var<storage, read_write> dLogits: array<f32>;
@group(0) @binding(4) var<storage, read_write> partial: array<f32>;
@group(0) @binding(5) var<storage, read_write> loss: array<f32>;
@group(0) @binding(6) var<storage, read_write> correct: array<u32>;
@group(0) @binding(7) var<storage, read_write> counted: array<u32>;

var<workgroup> red_v: array<f32, WG>;
var<workgroup> red_i: array<u32, WG>;

// Row b's maximum, its first argmax and Σ_c exp(l[c] − max), over the workgroup (threads striding
// over c, each scanning its columns in increasing order, then trees in workgroup memory). Call in
// uniform control flow.
struct RowStats { m: f32, arg: u32, sum: f32 }

fn row_stats(row: u32, lid: u32) -> RowStats {
  var mv = -3.4028234663852886e38;
  var mi = 0xffffffffu;
  for (var c = lid; c < p.C; c += WG) {
    let l = logits[row + c];
    if (mi == 0xffffffffu || l > mv) { mv = l; mi = c; }
  }
  red_v[lid] = mv;
  red_i[lid] = mi;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      let ov = red_v[lid + s];
      let oi = red_i[lid + s];
      let take = oi != 0xffffffffu && (red_i[lid] == 0xffffffffu || ov > red_v[lid] || (ov == red_v[lid] && oi < red_i[lid]));
      if (take) { red_v[lid] = ov; red_i[lid] = oi; }
    }
    workgroupBarrier();
  }
  let m = red_v[0];
  let arg = red_i[0];
  workgroupBarrier();
  var sum = 0.0;
  for (var c = lid; c < p.C; c += WG) { sum += exp(logits[row + c] - m); }
  red_v[lid] = sum;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red_v[lid] += red_v[lid + s]; }
    workgroupBarrier();
  }
  sum = red_v[0];
  workgroupBarrier();
  return RowStats(m, arg, sum);
}

// NaN for an out-of-range label y ≠ IGNORE, else 0 (built at run time: a constant NaN is a WGSL
// shader-creation error).
fn bad_label(y: u32) -> f32 { return select(0.0, bitcast<f32>(0x7fc00000u | (y & 0u)), y >= p.C && y != IGNORE); }

@compute @workgroup_size(WG)
fn rows(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let b = wid.y * nwg.x + wid.x;
  if (b >= p.B) { return; }
  let row = b * p.C;
  let st = row_stats(row, lid);
  let y = labels[b];
  let valid = y < p.C;
  let bad = select(0.0, bitcast<f32>(0x7fc00000u | (y & 0u)), !valid);
  let inv_b = 1.0 / f32(p.B);
  for (var c = lid; c < p.C; c += WG) {
    let pr = exp(logits[row + c] - st.m) / st.sum;
    dLogits[row + c] = (pr - select(0.0, 1.0, c == y)) * inv_b + bad;
  }
  if (lid == 0u) {
    let ly = logits[row + min(y, p.C - 1u)];
    partial[2u * b] = st.m + log(st.sum) - ly + bad;
    partial[2u * b + 1u] = select(0.0, 1.0, valid && st.arg == y);
  }
}

@compute @workgroup_size(WG)
fn total(@builtin(local_invocation_index) lid: u32) {
  var s = 0.0;
  var n = 0u;
  for (var b = lid; b < p.B; b += WG) {
    s += partial[2u * b];
    n += u32(partial[2u * b + 1u]);
  }
  red_v[lid] = s;
  red_i[lid] = n;
  workgroupBarrier();
  for (var k = WG / 2u; k > 0u; k >>= 1u) {
    if (lid < k) {
      red_v[lid] += red_v[lid + k];
      red_i[lid] += red_i[lid + k];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    loss[0] = red_v[0] / f32(p.B);
    correct[0] = red_i[0];
  }
}

// ---- token cross-entropy (tokenCrossEntropy): labels = IGNORE skip their row ----

@compute @workgroup_size(WG)
fn token_count(@builtin(local_invocation_index) lid: u32) {
  var n = 0u;
  for (var b = lid; b < p.B; b += WG) { n += select(1u, 0u, labels[b] == IGNORE); }
  red_i[lid] = n;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red_i[lid] += red_i[lid + s]; }
    workgroupBarrier();
  }
  if (lid == 0u) { counted[0] = red_i[0]; }
}

@compute @workgroup_size(WG)
fn token_rows(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
              @builtin(local_invocation_index) lid: u32) {
  let b = wid.y * nwg.x + wid.x;
  if (b >= p.B) { return; }
  let row = b * p.C;
  let st = row_stats(row, lid);
  let y = labels[b];
  let skip = y == IGNORE;
  let bad = bad_label(y);
  let inv_n = 1.0 / f32(max(counted[0], 1u));
  for (var c = lid; c < p.C; c += WG) {
    let pr = exp(logits[row + c] - st.m) / st.sum;
    dLogits[row + c] = select((pr - select(0.0, 1.0, c == y)) * inv_n + bad, 0.0, skip);
  }
  if (lid == 0u) {
    let ly = logits[row + min(y, p.C - 1u)];
    partial[2u * b] = select(st.m + log(st.sum) - ly + bad, 0.0, skip);
    partial[2u * b + 1u] = select(0.0, 1.0, !skip && y < p.C && st.arg == y);
  }
}

@compute @workgroup_size(WG)
fn token_total(@builtin(local_invocation_index) lid: u32) {
  var s = 0.0;
  var n = 0u;
  for (var b = lid; b < p.B; b += WG) {
    s += partial[2u * b];
    n += u32(partial[2u * b + 1u]);
  }
  red_v[lid] = s;
  red_i[lid] = n;
  workgroupBarrier();
  for (var k = WG / 2u; k > 0u; k >>= 1u) {
    if (lid < k) {
      red_v[lid] += red_v[lid + k];
      red_i[lid] += red_i[lid + k];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    loss[0] = select(red_v[0] / f32(counted[0]), 0.0, counted[0] == 0u);
    correct[0] = red_i[0];
  }
}
