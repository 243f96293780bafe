// Float64 reference of SNELLA's importance update (test/vectors/README.md, "SNELLA sparsity allocator"),
// for one adapter tensor θ with the gradient g of the step that produced it:
//   I = |θ ⊙ g|, NaN → 0;   Ī ← β1·Ī + (1 - β1)·I;   Ū ← β2·Ū + (1 - β2)·|I - Ī|   (the new Ī)
// and the layer score S = mean(Ī ⊙ Ū over In_Qs) + mean(Ī ⊙ Ū over Out_Qs).

export interface Importance64 {
  ipt: Float64Array;
  unc: Float64Array;
}

export function importance64(size: number): Importance64 {
  return { ipt: new Float64Array(size), unc: new Float64Array(size) };
}

export function updateImportance64(
  m: Importance64,
  theta: ArrayLike<number>,
  grad: ArrayLike<number>,
  beta1: number,
  beta2: number,
): void {
  for (let i = 0; i < m.ipt.length; i++) {
    const raw = Math.abs(theta[i]! * grad[i]!);
    const I = Number.isNaN(raw) ? 0 : raw;
    m.ipt[i] = beta1 * m.ipt[i]! + (1 - beta1) * I;
    m.unc[i] = beta2 * m.unc[i]! + (1 - beta2) * Math.abs(I - m.ipt[i]!);
  }
}

/** mean(Ī ⊙ Ū) of one tensor. */
export function meanScore64(m: Importance64): number {
  let s = 0;
  for (let i = 0; i < m.ipt.length; i++) s += m.ipt[i]! * m.unc[i]!;
  return s / m.ipt.length;
}
