// lookup.wgsl: the decoder's row lookups (ids and index u32).
//   embed:         out[n, d] = table[ids[n], d] (0 for an id ≥ V)                 one thread per out element
//   embed_bw:      dTable[id, d] += Σ_{n: ids[n] = id} dOut[n, d], n increasing    one thread per column d
//   gather:        out[b, d] = x[b, index[b], d] (0 for an index ≥ T)              one thread per out element
//   gather_bw:     dx[b, t, d] = [t = index[b]]·dOut[b, d]                         one thread per dx element
// embed_bw without float atomics: thread d walks the N positions in order and adds dOut[n, d] into row
// ids[n] of column d, which only it writes, so repeated ids sum deterministically, in the order
// assembly/lookup.ts uses (the backends agree bit for bit). The work is N·D additions with D-way
// parallelism, small next to the products around it; no sorting or host grouping of the ids is needed.
// Shapes: ids [N], table, dTable [V, D], out, dOut [N, D] (embed); x, dx [B, T, D], index [B],
//   out, dOut [B, D] (gather).
// Bindings (group 0)                      used by
//   0 uniform               p { rows, span, D, n }: embed (N, V, D, N·D), gather (B, T, D, B·D or B·T·D)
//   1 storage, read         ids or index (u32)    all
//   2 storage, read         table or x            embed, gather
//   3 storage, read         dOut                  embed_bw, gather_bw
//   4 storage, read_write   out, dTable or dx     all
// Dispatch: ⌈n/WG⌉ workgroups on a 2-D grid (i = (wid.y·nwg.x + wid.x)·WG + lid), embed_bw ⌈D/WG⌉.

const WG: u32 = 256u;

struct Params { rows: u32, span: u32, D: u32, n: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> ids: array<u32>;
@group(0) @binding(2) var<storage, read> src: array<f32>;
@group(0) @binding(3) var<storage, read> dOut: array<f32>;
@group(0) @binding(4) var<storage, read_write> dst: array<f32>;

fn index(wid: vec3u, nwg: vec3u, lid: u32) -> u32 { return (wid.y * nwg.x + wid.x) * WG + lid; }

@compute @workgroup_size(WG)
fn embed(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = index(wid, nwg, lid);
  if (i >= p.n) { return; }
  let id = ids[i / p.D];
  var value = 0.0;
  if (id < p.span) { value = src[id * p.D + i % p.D]; }
  dst[i] = value;
}

@compute @workgroup_size(WG)
fn embed_bw(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let d = index(wid, nwg, lid);
  if (d >= p.D) { return; }
  for (var n = 0u; n < p.rows; n++) {
    let id = ids[n];
    if (id < p.span) { dst[id * p.D + d] += dOut[n * p.D + d]; }
  }
}

@compute @workgroup_size(WG)
fn gather(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = index(wid, nwg, lid);
  if (i >= p.n) { return; }
  let b = i / p.D;
  let t = ids[b];
  var value = 0.0;
  if (t < p.span) { value = src[(b * p.span + t) * p.D + i % p.D]; }
  dst[i] = value;
}

@compute @workgroup_size(WG)
fn gather_bw(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = index(wid, nwg, lid);
  if (i >= p.n) { return; }
  let b = i / (p.span * p.D);
  let t = (i / p.D) % p.span;
  dst[i] = select(0.0, dOut[b * p.D + i % p.D], ids[b] == t);
}
