// SNELLA's importance moving averages of one adapter tensor of n elements, after an optimizer step
// (θ the parameter after the step, g the gradient that step used):
//   I = |θ·g|, a NaN product → 0 (as the authors' code);  Ī ← β1·Ī + (1 − β1)·I;
//   Ū ← β2·Ū + (1 − β2)·|I − Ī|  with the new Ī.
// Each element is computed in float64 and rounded once to f32 on store. An infinite I would poison
// both averages for good: that entry keeps Ī and Ū, and the u32 at `skipped` counts it.

export function importance(theta: usize, grad: usize, ipt: usize, unc: usize, n: i32, beta1: f64, beta2: f64, skipped: usize): void {
  let count: u32 = 0;
  for (let q = 0; q < n; q++) {
    const o = <usize>q << 2;
    const i = Math.abs(<f64>load<f32>(theta + o) * <f64>load<f32>(grad + o));
    if (<f32>i == Infinity) { // inf in float32, where the averages live (an overflow too)
      count++;
      continue;
    }
    const I = isNaN(i) ? 0.0 : i;
    const mean = beta1 * <f64>load<f32>(ipt + o) + (1.0 - beta1) * I;
    store<f32>(ipt + o, <f32>mean);
    store<f32>(unc + o, <f32>(beta2 * <f64>load<f32>(unc + o) + (1.0 - beta2) * Math.abs(I - mean)));
  }
  store<u32>(skipped, load<u32>(skipped) + count);
}
