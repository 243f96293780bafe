// importance.wgsl: SNELLA's importance moving averages of one adapter tensor, after an optimizer step.
//
// Math, per element (θ the parameter after the step, g the gradient that step used):
//   I = |θ·g|, a NaN product → 0 (as the authors' code);  Ī ← β1·Ī + (1 − β1)·I;
//   Ū ← β2·Ū + (1 − β2)·|I − Ī|  with the new Ī.
//   An infinite I would poison both averages for good: that entry keeps Ī and Ū and adds 1 to skipped.
// Shapes: theta, grad, ipt, unc f32[n] (any shape, flat); skipped u32[1] (accumulates over calls).
// Bindings (group 0)
//   0 uniform               p { n, beta1, one_minus_beta1, beta2, one_minus_beta2 }
//   1 storage, read         theta
//   2 storage, read         grad
//   3 storage, read_write   ipt
//   4 storage, read_write   unc
//   5 storage, read_write   skipped (atomic)
// Dispatch: one thread per element, ⌈n / WG⌉ workgroups on a 2-D grid, bounds-checked.
// NaN and inf are told apart by their bits, since WGSL lets a compiler assume finite floats.

override WG: u32 = 256u;

struct Params { n: u32, beta1: f32, one_minus_beta1: f32, beta2: f32, one_minus_beta2: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> theta: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> ipt: array<f32>;
@group(0) @binding(4) var<storage, read_write> unc: array<f32>;
@group(0) @binding(5) var<storage, read_write> skipped: array<atomic<u32>>;

const INF_BITS: u32 = 0x7f800000u;

fn magnitude_bits(x: f32) -> u32 { return bitcast<u32>(x) & 0x7fffffffu; }

@compute @workgroup_size(WG)
fn update(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let q = (wid.y * nwg.x + wid.x) * WG + lid;
  if (q >= p.n) { return; }
  let tb = magnitude_bits(theta[q]);
  let gb = magnitude_bits(grad[q]);
  let product = abs(theta[q] * grad[q]);
  // NaN when an operand is NaN or when inf meets 0; inf when an operand is inf or the product overflows
  let is_nan = tb > INF_BITS || gb > INF_BITS || (tb == INF_BITS && gb == 0u) || (gb == INF_BITS && tb == 0u);
  let is_inf = !is_nan && (tb == INF_BITS || gb == INF_BITS || magnitude_bits(product) >= INF_BITS);
  if (is_inf) {
    atomicAdd(&skipped[0], 1u);
    return;
  }
  let i = select(product, 0.0, is_nan);
  let mean = p.beta1 * ipt[q] + p.one_minus_beta1 * i;
  ipt[q] = mean;
  unc[q] = p.beta2 * unc[q] + p.one_minus_beta2 * abs(i - mean);
}
