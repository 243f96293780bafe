// workgroup_reduce.wgsl: tree reductions over one workgroup, shared by layernorm.wgsl, mixture.wgsl and
// reduce.wgsl (src/webgpu/kernels.ts puts this text in front of theirs; each declares WG, a power of two).
// Every thread gets the result; call in uniform control flow. The four lanes of a vec4f reduce apart,
// so a narrower value rides in the low lanes with the same summation order as on its own.

var<workgroup> red: array<vec4f, WG>;

fn reduce_sum(v: vec4f, lid: u32) -> vec4f {
  red[lid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid] += red[lid + s]; }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}

fn reduce_max(v: f32, lid: u32) -> f32 {
  red[lid].x = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) { red[lid].x = max(red[lid].x, red[lid + s].x); }
    workgroupBarrier();
  }
  let r = red[0].x;
  workgroupBarrier();
  return r;
}
