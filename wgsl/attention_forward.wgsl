// attention_forward.wgsl (after attention_prelude.wgsl): out = softmax(σ·Q·Kᵀ)·V per batch and query
// head over the allowed keys, the probabilities kept in probs for the backward pass.
// Shapes: q, out [B, Tq, Dq]; k, v [B, Tk, Dk]; probs [B, nh, Tq, Tk]; keyMask u32 [B, Tk]. Dispatch
// and tiles: see the prelude (B·nh·⌈Tq/BM⌉ workgroups).
// Masks (compiled in with MASKED = true): query i sits at position offset + i; with causal ≠ 0 it may
// attend key j only if j ≤ offset + i; with keyed ≠ 0 only if keyMask[b, j] ≠ 0 or j = 0 (key 0 is
// always allowed, so every row has a finite maximum). Forbidden keys take no part in the maximum and
// get P = 0 exactly. MASKED = false (the ViT) allows every key and never reads keyMask.
// Bindings (group 0)
//   0 uniform               p (see the prelude)
//   1 storage, read         q
//   2 storage, read         k
//   3 storage, read         v
//   4 storage, read_write   out
//   5 storage, read_write   probs (scores, then probabilities, in place)
//  12 storage, read         keyMask (u32; any 4 bytes when not keyed)

override MASKED: bool = false;

@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<storage, read_write> probs: array<f32>;
@group(0) @binding(12) var<storage, read> keyMask: array<u32>;

// product()'s operands here: q ([B, Tq, Dq]), k, v ([B, Tk, Dk]) and probs ([B, nh, Tq, Tk]); 0 outside.
fn operand(id: u32, t: Block, i: u32, j: u32) -> f32 {
  if (id == PROBS) { if (sq_in(i, j)) { return probs[sq(t, i, j)]; } return 0.0; }
  if (id == Q) { if (tok_in(i, j)) { return q[tok(t, i, j)]; } return 0.0; }
  if (!key_in(i, j)) { return 0.0; }
  if (id == K) { return k[key(t, i, j)]; }
  return v[key(t, i, j)];
}

// Whether query i may attend key j (the masks above).
fn allowed(t: Block, i: u32, j: u32) -> bool {
  if (!MASKED) { return true; }
  if (p.causal != 0u && j > p.offset + i) { return false; }
  return p.keyed == 0u || j == 0u || keyMask[t.b * p.Tk + j] != 0u;
}

@compute @workgroup_size(WG)
fn forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
           @builtin(local_invocation_index) lid: u32) {
  let s0 = slice_of(wid, nwg, p.nh, p.Tq);
  if (!s0.ok) { return; }
  let t = head_block(s0.b, s0.h, s0.r0, s0.ok);
  let th = vec2u(lid % TX, lid / TX);
  var mx = vec4f(LOWEST);
  for (var j0 = 0u; j0 < p.Tk; j0 += BN) { // S = σ·Q·Kᵀ, tile by tile, into probs
    let acc = product(Q, true, K, true, t, th, lid, j0, p.hd);
    for (var r = 0u; r < 4u; r++) {
      for (var c = 0u; c < 4u; c++) {
        let x = at(t, th, j0, r, c);
        if (sq_in(x.x, x.y)) {
          let s = acc[r][c] * p.scale;
          probs[sq(t, x.x, x.y)] = s;
          if (allowed(t, x.x, x.y)) { mx[r] = max(mx[r], s); }
        }
      }
    }
  }
  mx = row_reduce(mx, th, true);
  var sum = vec4f(0.0);
  for (var j0 = 0u; j0 < p.Tk; j0 += BN) { // exp(S − max) over this thread's own entries
    for (var r = 0u; r < 4u; r++) {
      for (var c = 0u; c < 4u; c++) {
        let x = at(t, th, j0, r, c);
        if (sq_in(x.x, x.y)) {
          let e = select(0.0, exp(probs[sq(t, x.x, x.y)] - mx[r]), allowed(t, x.x, x.y));
          probs[sq(t, x.x, x.y)] = e;
          sum[r] += e;
        }
      }
    }
  }
  sum = row_reduce(sum, th, false);
  for (var j0 = 0u; j0 < p.Tk; j0 += BN) {
    for (var r = 0u; r < 4u; r++) {
      for (var c = 0u; c < 4u; c++) {
        let x = at(t, th, j0, r, c);
        if (sq_in(x.x, x.y)) { probs[sq(t, x.x, x.y)] /= sum[r]; }
      }
    }
  }
  storageBarrier();
  for (var e0 = 0u; e0 < p.hd; e0 += BN) { // out = P·V
    let acc = product(PROBS, true, V, false, t, th, lid, e0, p.Tk);
    for (var r = 0u; r < 4u; r++) {
      for (var c = 0u; c < 4u; c++) {
        let x = at(t, th, e0, r, c);
        if (tok_in(x.x, x.y)) { out[tok(t, x.x, x.y)] = acc[r][c]; }
      }
    }
  }
}
