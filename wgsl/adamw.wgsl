// adamw.wgsl: one torch.optim.AdamW step on one tensor (decoupled weight decay, bias-corrected moments).
//
// Math, per element (g = grad·scale[0]; t ≥ 1 is the step):
//   param ← param·decay                          decay = 1 − lr·wd
//   m ← β1·m + (1 − β1)·g;   v ← β2·v + (1 − β2)·g²
//   param ← param − step_size·m / (sqrt(v)·inv_bc2 + eps)
//   with step_size = lr/(1 − β1^t) and inv_bc2 = 1/sqrt(1 − β2^t), both computed on the host in float64
//   and passed as f32 (as torch computes its bias corrections as Python floats).
// Shapes (f32): param, grad, m, v [n] (any shape, flat); scale [1] (the gradient-clipping factor, or a
//   1 when the host has none).
// Bindings (group 0)
//   0 uniform               p { n, decay, beta1, one_minus_beta1, beta2, one_minus_beta2, step_size, inv_bc2, eps }
//   1 storage, read_write   param
//   2 storage, read         grad
//   3 storage, read_write   m
//   4 storage, read_write   v
//   5 storage, read         scale
// Dispatch: one thread per element, ⌈n / WG⌉ workgroups on a 2-D grid,
//   q = (wid.y·nwg.x + wid.x)·WG + lid, bounds-checked.
// Edge rules: NaN or inf in grad or scale propagate into m, v and param (as torch); v stays ≥ 0.

override WG: u32 = 256u;

struct Params {
  n: u32, decay: f32, beta1: f32, one_minus_beta1: f32, beta2: f32, one_minus_beta2: f32,
  step_size: f32, inv_bc2: f32, eps: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> param: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> m: array<f32>;
@group(0) @binding(4) var<storage, read_write> v: array<f32>;
@group(0) @binding(5) var<storage, read> scale: array<f32>;

@compute @workgroup_size(WG)
fn step(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let q = (wid.y * nwg.x + wid.x) * WG + lid;
  if (q >= p.n) { return; }
  let g = grad[q] * scale[0];
  let mq = p.beta1 * m[q] + p.one_minus_beta1 * g;
  let vq = p.beta2 * v[q] + p.one_minus_beta2 * g * g;
  m[q] = mq;
  v[q] = vq;
  param[q] = param[q] * p.decay - p.step_size * mq / (sqrt(vq) * p.inv_bc2 + p.eps);
}
