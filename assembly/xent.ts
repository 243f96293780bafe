// Mean softmax cross-entropy over a batch, logits [B, C], labels u32 [B]:
//   loss = (1/B)·Σ_b (log Σ_c exp(l[b,c] − max_b) + max_b − l[b, label_b])      (stable log-sum-exp)
//   dLogits[b,c] = (softmax(l[b])[c] − [c = label_b])/B;  correct = #{b: argmax_c l[b,c] = label_b}
// argmax: the first maximum wins (strict >). float64 throughout, rounded once on store.
// A label ≥ C (torch raises) makes that row's loss term and gradient NaN, so the loss is NaN, and
// never counts as correct, as in wgsl/xent.wgsl (the rule of src/backend.ts).

export function softmaxCrossEntropy(logits: usize, labels: usize, B: i32, C: i32, loss: usize, dLogits: usize, correct: usize): void {
  let total = 0.0;
  let hits: u32 = 0;
  const fb = <f64>B;
  for (let b = 0; b < B; b++) {
    const row = logits + (<usize>b * <usize>C << 2);
    const grow = dLogits + (<usize>b * <usize>C << 2);
    const y = load<u32>(labels + (<usize>b << 2));
    if (y >= <u32>C) {
      total = NaN;
      for (let c = 0; c < C; c++) store<f32>(grow + (<usize>c << 2), <f32>NaN);
      continue;
    }
    const label = <i32>y;
    let max = -Infinity;
    let arg = 0;
    for (let c = 0; c < C; c++) {
      const v = <f64>load<f32>(row + (<usize>c << 2));
      if (v > max) {
        max = v;
        arg = c;
      }
    }
    let sum = 0.0;
    for (let c = 0; c < C; c++) sum += Math.exp(<f64>load<f32>(row + (<usize>c << 2)) - max);
    total += Math.log(sum) + max - <f64>load<f32>(row + (<usize>label << 2));
    const inv = 1.0 / sum;
    for (let c = 0; c < C; c++) {
      const p = Math.exp(<f64>load<f32>(row + (<usize>c << 2)) - max) * inv;
      store<f32>(grow + (<usize>c << 2), <f32>((c == label ? p - 1.0 : p) / fb));
    }
    if (arg == label) hits++;
  }
  store<f32>(loss, <f32>(total / fb));
  store<u32>(correct, hits);
}
