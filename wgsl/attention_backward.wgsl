// attention_backward.wgsl (after attention_prelude.wgsl): the gradient of attention_forward.wgsl.
//   backward_rows (query row blocks of each query head): dP = dO·Vᵀ into dS, dS = P·(dP − Σ_j dP·P),
//   then dq = σ·dS·K.
//   backward_cols (key row blocks of each key/value head, after backward_rows): dk = σ·Σ_n dS_nᵀ·Q_n,
//   dv = Σ_n P_nᵀ·dO_n over the group's query heads n in order (the first product starts the sum).
// No mask is needed: forbidden keys have P = 0, hence dS = 0.
// Shapes: dO, q, dq [B, Tq, Dq]; k, v, dk, dv [B, Tk, Dk]; P, dS [B, nh, Tq, Tk] (dS scratch). Dispatch
// and tiles: see the prelude (B·nh·⌈Tq/BM⌉ workgroups for rows, B·(nh/group)·⌈Tk/BM⌉ for cols). Both
// entries bind the same inputs, because they share operand().
// Bindings (group 0)                                  used by
//   0 uniform               p { B, T, D, nh, hd, scale }
//   1 storage, read         q                         backward_cols
//   2 storage, read         k                         backward_rows
//   3 storage, read         v                         backward_rows
//   6 storage, read         dO                        both
//   7 storage, read         P (saved probabilities)   both
//   8 storage, read_write   dS (scratch)              backward_rows (writes), backward_cols (reads)
//   9 storage, read_write   dq                        backward_rows
//  10 storage, read_write   dk                        backward_cols
//  11 storage, read_write   dv                        backward_cols

@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(6) var<storage, read> dO: array<f32>;
@group(0) @binding(7) var<storage, read> P: array<f32>;
@group(0) @binding(8) var<storage, read_write> dS: array<f32>;
@group(0) @binding(9) var<storage, read_write> dq: array<f32>;
@group(0) @binding(10) var<storage, read_write> dk: array<f32>;
@group(0) @binding(11) var<storage, read_write> dv: array<f32>;

// product()'s operands here: q, dO ([B, Tq, Dq]), k, v ([B, Tk, Dk]) and P, dS ([B, nh, Tq, Tk]); 0
// outside the tensor.
fn operand(id: u32, t: Block, i: u32, j: u32) -> f32 {
  if (id == P_SAVED || id == DS) {
    if (!sq_in(i, j)) { return 0.0; }
    if (id == DS) { return dS[sq(t, i, j)]; }
    return P[sq(t, i, j)];
  }
  if (id == K || id == V) {
    if (!key_in(i, j)) { return 0.0; }
    if (id == K) { return k[key(t, i, j)]; }
    return v[key(t, i, j)];
  }
  if (!tok_in(i, j)) { return 0.0; }
  if (id == Q) { return q[tok(t, i, j)]; }
  return dO[tok(t, i, j)];
}

@compute @workgroup_size(WG)
fn backward_rows(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                 @builtin(local_invocation_index) lid: u32) {
  let s0 = slice_of(wid, nwg, p.nh, p.Tq);
  if (!s0.ok) { return; }
  let t = head_block(s0.b, s0.h, s0.r0, s0.ok);
  let th = vec2u(lid % TX, lid / TX);
  var dot = vec4f(0.0);
  for (var j0 = 0u; j0 < p.Tk; j0 += BN) { // dP = dO·Vᵀ, tile by tile, into dS
    let acc = product(DO, true, V, true, t, th, lid, j0, p.hd);
    for (var r = 0u; r < 4u; r++) {
      for (var c = 0u; c < 4u; c++) {
        let x = at(t, th, j0, r, c);
        if (sq_in(x.x, x.y)) {
          dS[sq(t, x.x, x.y)] = acc[r][c];
          dot[r] += acc[r][c] * P[sq(t, x.x, x.y)];
        }
      }
    }
  }
  dot = row_reduce(dot, th, false);
  for (var j0 = 0u; j0 < p.Tk; j0 += BN) { // dS = P·(dP − Σ dP·P) over this thread's own entries
    for (var r = 0u; r < 4u; r++) {
      for (var c = 0u; c < 4u; c++) {
        let x = at(t, th, j0, r, c);
        if (sq_in(x.x, x.y)) {
          let i = sq(t, x.x, x.y);
          dS[i] = P[i] * (dS[i] - dot[r]);
        }
      }
    }
  }
  storageBarrier();
  for (var e0 = 0u; e0 < p.hd; e0 += BN) { // dq = σ·dS·K
    let acc = product(DS, true, K, false, t, th, lid, e0, p.Tk);
    for (var r = 0u; r < 4u; r++) {
      for (var c = 0u; c < 4u; c++) {
        let x = at(t, th, e0, r, c);
        if (tok_in(x.x, x.y)) { dq[tok(t, x.x, x.y)] = acc[r][c] * p.scale; }
      }
    }
  }
}

@compute @workgroup_size(WG)
fn backward_cols(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                 @builtin(local_invocation_index) lid: u32) {
  let s0 = slice_of(wid, nwg, p.nh / p.group, p.Tk); // rows are key rows of key/value head s0.h here
  if (!s0.ok) { return; }
  let n0 = s0.h * p.group; // the group's first query head
  let t = head_block(s0.b, n0, s0.r0, s0.ok);
  let th = vec2u(lid % TX, lid / TX);
  for (var e0 = 0u; e0 < p.hd; e0 += BN) { // dk and dv, BN features at a time
    var acc = product(DS, false, Q, false, t, th, lid, e0, p.Tq); // dk = σ·Σ_n dS_nᵀ·Q_n
    var acc2 = product(P_SAVED, false, DO, false, t, th, lid, e0, p.Tq); // dv = Σ_n P_nᵀ·dO_n
    for (var n = n0 + 1u; n < n0 + p.group; n++) {
      let tn = head_block(s0.b, n, s0.r0, s0.ok);
      let a = product(DS, false, Q, false, tn, th, lid, e0, p.Tq);
      let a2 = product(P_SAVED, false, DO, false, tn, th, lid, e0, p.Tq);
      for (var r = 0u; r < 4u; r++) {
        acc[r] += a[r];
        acc2[r] += a2[r];
      }
    }
    for (var r = 0u; r < 4u; r++) {
      for (var c = 0u; c < 4u; c++) {
        let x = at(t, th, e0, r, c);
        if (key_in(x.x, x.y)) {
          dk[key(t, x.x, x.y)] = acc[r][c] * p.scale;
          dv[key(t, x.x, x.y)] = acc2[r][c];
        }
      }
    }
  }
}
