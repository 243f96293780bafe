// attention_forward.wgsl (after attention_prelude.wgsl): out = softmax(σ·Q·Kᵀ)·V per batch and head,
// the probabilities kept in probs for the backward pass.
// Shapes: q, k, v, out [B, T, D]; probs [B, nh, T, T]. Dispatch and tiles: see the prelude.
// Bindings (group 0)
//   0 uniform               p { B, T, D, nh, hd, scale }
//   1 storage, read         q
//   2 storage, read         k
//   3 storage, read         v
//   4 storage, read_write   out
//   5 storage, read_write   probs (scores, then probabilities, in place)

@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<storage, read_write> probs: array<f32>;

// product()'s operands here: q, k, v ([B, T, D]) and probs ([B, nh, T, T]); 0 outside the tensor.
fn operand(id: u32, t: Block, i: u32, j: u32) -> f32 {
  if (id == PROBS) { if (sq_in(i, j)) { return probs[sq(t, i, j)]; } return 0.0; }
  if (!tok_in(i, j)) { return 0.0; }
  if (id == Q) { return q[tok(t, i, j)]; }
  if (id == K) { return k[tok(t, i, j)]; }
  return v[tok(t, i, j)];
}

@compute @workgroup_size(WG)
fn forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
           @builtin(local_invocation_index) lid: u32) {
  let t = block_of(wid, nwg);
  if (!t.ok) { return; }
  let th = vec2u(lid % TX, lid / TX);
  var mx = vec4f(LOWEST);
  for (var j0 = 0u; j0 < p.T; j0 += BN) { // S = σ·Q·Kᵀ, tile by tile, into probs
    let acc = product(Q, true, K, true, t, th, lid, j0, p.hd);
    for (var r = 0u; r < 4u; r++) {
      for (var c = 0u; c < 4u; c++) {
        let x = at(t, th, j0, r, c);
        if (sq_in(x.x, x.y)) {
          let s = acc[r][c] * p.scale;
          probs[sq(t, x.x, x.y)] = s;
          mx[r] = max(mx[r], s);
        }
      }
    }
  }
  mx = row_reduce(mx, th, true);
  var sum = vec4f(0.0);
  for (var j0 = 0u; j0 < p.T; j0 += BN) { // exp(S − max) over this thread's own entries
    for (var r = 0u; r < 4u; r++) {
      for (var c = 0u; c < 4u; c++) {
        let x = at(t, th, j0, r, c);
        if (sq_in(x.x, x.y)) {
          let e = exp(probs[sq(t, x.x, x.y)] - mx[r]);
          probs[sq(t, x.x, x.y)] = e;
          sum[r] += e;
        }
      }
    }
  }
  sum = row_reduce(sum, th, false);
  for (var j0 = 0u; j0 < p.T; j0 += BN) {
    for (var r = 0u; r < 4u; r++) {
      for (var c = 0u; c < 4u; c++) {
        let x = at(t, th, j0, r, c);
        if (sq_in(x.x, x.y)) { probs[sq(t, x.x, x.y)] /= sum[r]; }
      }
    }
  }
  storageBarrier();
  for (var e0 = 0u; e0 < p.hd; e0 += BN) { // out = P·V
    let acc = product(PROBS, true, V, false, t, th, lid, e0, p.T);
    for (var r = 0u; r < 4u; r++) {
      for (var c = 0u; c < 4u; c++) {
        let x = at(t, th, e0, r, c);
        if (tok_in(x.x, x.y)) { out[tok(t, x.x, x.y)] = acc[r][c]; }
      }
    }
  }
}
