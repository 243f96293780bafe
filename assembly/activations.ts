// The gated and tanh activations of decoder MLPs, elementwise over flat f32 arrays (n elements):
//   siluMul:           out = silu(g)·u = g·σ(g)·u                        (SwiGLU; g = gate, u = up)
//   siluMulBackward:   dUp = dy·g·σ(g);  dGate = dy·u·σ(g)·(1 + g·σ(−g))
//   geluTanh:          out = x·σ(v), v = 2√(2/π)·(x + 0.044715·x³)        (= x/2·(1 + tanh(v/2)): gelu_new)
//   geluTanhBackward:  dx = dy·(σ(v) + x·σ(v)·σ(−v)·2√(2/π)·(1 + 3·0.044715·x²))
// σ(z) = 1/(1 + e^−z) is evaluated from the side where the exponential cannot overflow (e^−|z| ≤ 1), and
// 1 − σ(z) as σ(−z), so no finite input gives inf/inf or a cancelled 1 − σ: every finite x (x³ stays
// finite in float64 for any float32 x) gives a finite result. Per element in float64, rounded once
// on store. NaN propagates; ±inf inputs give what their formulas give (e.g. gelu_new(−inf) = −inf·0 = NaN).

const GELU_K2 = 1.5957691216057308; // 2·√(2/π)
const GELU_C = 0.044715;

// @ts-ignore: decorator
@inline function sigmoid(z: f64): f64 {
  if (z >= 0) return 1.0 / (1.0 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1.0 + e);
}

export function siluMul(gate: usize, up: usize, out: usize, n: i32): void {
  for (let q = 0; q < n; q++) {
    const o = <usize>q << 2;
    const g = <f64>load<f32>(gate + o);
    store<f32>(out + o, <f32>(g * sigmoid(g) * <f64>load<f32>(up + o)));
  }
}

export function siluMulBackward(dy: usize, gate: usize, up: usize, dGate: usize, dUp: usize, n: i32): void {
  for (let q = 0; q < n; q++) {
    const o = <usize>q << 2;
    const g = <f64>load<f32>(gate + o);
    const d = <f64>load<f32>(dy + o);
    const s = sigmoid(g);
    store<f32>(dUp + o, <f32>(d * g * s));
    store<f32>(dGate + o, <f32>(d * <f64>load<f32>(up + o) * s * (1.0 + g * sigmoid(-g))));
  }
}

export function geluTanh(x: usize, out: usize, n: i32): void {
  for (let q = 0; q < n; q++) {
    const o = <usize>q << 2;
    const v = <f64>load<f32>(x + o);
    store<f32>(out + o, <f32>(v * sigmoid(GELU_K2 * (v + GELU_C * v * v * v))));
  }
}

export function geluTanhBackward(dy: usize, x: usize, dx: usize, n: i32): void {
  for (let q = 0; q < n; q++) {
    const o = <usize>q << 2;
    const v = <f64>load<f32>(x + o);
    const z = GELU_K2 * (v + GELU_C * v * v * v);
    const s = sigmoid(z);
    const slope = GELU_K2 * (1.0 + 3.0 * GELU_C * v * v);
    store<f32>(dx + o, <f32>(<f64>load<f32>(dy + o) * (s + v * s * sigmoid(-z) * slope)));
  }
}
