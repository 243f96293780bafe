// tokens.wgsl: ViT token assembly (cls token + patches + position embedding), pooling, and their gradients.
//
// Math (b < B, t < T, d < D):
//   embed:             out[b,0,d] = cls[d] + pos[0,d];  out[b,t,d] = patches[b,t−1,d] + pos[t,d]  (t ≥ 1)
//   embed_patches_bw:  dPatches[b,t−1,d] = dOut[b,t,d]                                   (written)
//   embed_sum_bw:      acc[t,d] += Σ_b dOut[b,t,d] for t < tcount                         (accumulated)
//                      (dPos: tcount = T; dCls: tcount = 1, acc = dCls)
//   pool:              MEAN: out[b,d] = (Σ_t x[b,t,d]) / T;   else (cls): out[b,d] = x[b,0,d]
//   pool_bw:           MEAN: dx[b,t,d] = dOut[b,d] / T;       else: dx[b,t,d] = dOut[b,d]·[t = 0]
// Shapes (f32): patches, dPatches [B, T−1, D]; cls, dCls [D]; pos, dPos [T, D]; out (embed), x, dOut (embed),
//   dx [B, T, D]; out (pool), dOut (pool) [B, D].
// Bindings (group 0)                               used by
//   0 uniform               p { B, T, D, n, tcount }   (n: threads of the dispatch)
//   1 storage, read         patches                embed
//   2 storage, read         cls                    embed
//   3 storage, read         pos                    embed
//   4 storage, read_write   out                    embed, pool
//   5 storage, read         dOut                   *_bw
//   6 storage, read_write   dPatches / dx          embed_patches_bw, pool_bw
//   7 storage, read_write   acc (dPos or dCls)     embed_sum_bw
//   8 storage, read         x                      pool
// Dispatch: one thread per output element (n of them: B·T·D, B·(T−1)·D, tcount·D or B·D), ⌈n / WG⌉
//   workgroups on a 2-D grid, q = (wid.y·nwg.x + wid.x)·WG + lid, bounds-checked. Sums over b or t run
//   in order inside one thread: deterministic.
// Edge rules: T = 1 has no patches (embed_patches_bw is not dispatched); NaN propagates.

override WG: u32 = 256u;
override MEAN: bool = false;

struct Params { B: u32, T: u32, D: u32, n: u32, tcount: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> patches: array<f32>;
@group(0) @binding(2) var<storage, read> cls: array<f32>;
@group(0) @binding(3) var<storage, read> pos: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<storage, read> dOut: array<f32>;
@group(0) @binding(6) var<storage, read_write> dx: array<f32>;
@group(0) @binding(7) var<storage, read_write> acc: array<f32>;
@group(0) @binding(8) var<storage, read> x: array<f32>;

fn index(wid: vec3u, nwg: vec3u, lid: u32) -> u32 {
  return (wid.y * nwg.x + wid.x) * WG + lid;
}

@compute @workgroup_size(WG)
fn embed(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let q = index(wid, nwg, lid);
  if (q >= p.n) { return; }
  let d = q % p.D;
  let t = (q / p.D) % p.T;
  let b = q / (p.D * p.T);
  var v: f32;
  if (t == 0u) { v = cls[d]; } else { v = patches[(b * (p.T - 1u) + t - 1u) * p.D + d]; }
  out[q] = v + pos[t * p.D + d];
}

@compute @workgroup_size(WG)
fn embed_patches_bw(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let q = index(wid, nwg, lid); // element of dPatches [B, T−1, D]
  if (q >= p.n) { return; }
  let per = (p.T - 1u) * p.D;
  dx[q] = dOut[(q / per) * p.T * p.D + p.D + q % per];
}

@compute @workgroup_size(WG)
fn embed_sum_bw(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let q = index(wid, nwg, lid); // element (t, d) of acc [tcount, D]
  if (q >= p.n) { return; }
  var s = 0.0;
  for (var b = 0u; b < p.B; b++) { s += dOut[b * p.T * p.D + q]; }
  acc[q] = acc[q] + s;
}

@compute @workgroup_size(WG)
fn pool(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let q = index(wid, nwg, lid); // element (b, d) of out [B, D]
  if (q >= p.n) { return; }
  let base = (q / p.D) * p.T * p.D + q % p.D;
  if (MEAN) {
    var s = 0.0;
    for (var t = 0u; t < p.T; t++) { s += x[base + t * p.D]; }
    out[q] = s / f32(p.T);
  } else {
    out[q] = x[base];
  }
}

@compute @workgroup_size(WG)
fn pool_bw(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let q = index(wid, nwg, lid); // element (b, t, d) of dx [B, T, D]
  if (q >= p.n) { return; }
  let d = q % p.D;
  let t = (q / p.D) % p.T;
  let g = dOut[(q / (p.D * p.T)) * p.D + d];
  if (MEAN) {
    dx[q] = g / f32(p.T);
  } else {
    dx[q] = select(0.0, g, t == 0u);
  }
}
