import { expNeg4 } from './exp';
import { hsum2 } from './memory';

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

// Token cross-entropy with ignored labels (Hugging Face's causal-LM loss), logits [N, V], labels u32 [N],
// a label 0xFFFFFFFF (IGNORE) skips its row; count = #rows not ignored:
//   rows:   per row r: m = max_c l[c]; Σ = Σ_c exp(l[c] − m); partial[2r] = log Σ + m − l[y];
//           partial[2r+1] = [first argmax = y]; dLogits[r,c] = (exp(l[c] − m)/Σ − [c = y])/count;
//           an ignored row: partial 0, 0 and dLogits 0; a label ≥ V: NaN term and row, never correct.
//   total:  loss = Σ_r partial[2r] / count (0 when count = 0), correct = Σ_r partial[2r+1], in row order.
// The rows run in f32x4 with the Cephes exp of exp.ts (≤ 2 ulp), the sums and the loss terms in float64;
// partial is float64 scratch [N, 2]. Each call of rows takes rows r0 … r0+n−1 (threads split the rows)
// and counts the labels itself (N reads), so no call waits for another.

const IGNORE: u32 = 0xffffffff;

function countedRows(labels: usize, N: i32): i32 {
  let count = 0;
  for (let r = 0; r < N; r++) if (load<u32>(labels + (<usize>r << 2)) != IGNORE) count++;
  return count;
}

export function tokenCrossEntropyRows(logits: usize, labels: usize, N: i32, V: i32, r0: i32, n: i32, dLogits: usize, partial: usize): void {
  const invCount = 1.0 / <f64>countedRows(labels, N);
  const rowBytes = <usize>V << 2;
  for (let r = r0; r < r0 + n; r++) {
    const row = logits + <usize>r * rowBytes;
    const grow = dLogits + <usize>r * rowBytes;
    const part = partial + (<usize>r << 4);
    const y = load<u32>(labels + (<usize>r << 2));
    if (y == IGNORE || y >= <u32>V) {
      const fill = y == IGNORE ? <f32>0 : <f32>NaN;
      for (let c = 0; c < V; c++) store<f32>(grow + (<usize>c << 2), fill);
      store<f64>(part, y == IGNORE ? 0 : NaN);
      store<f64>(part + 8, 0);
      continue;
    }
    const top = rowMax(row, V);
    const sum = expInto(row, V, top, grow);
    const f = f32x4.splat(<f32>(invCount / sum));
    let c = 0;
    for (; c + 4 <= V; c += 4) {
      const p = grow + (<usize>c << 2);
      v128.store(p, f32x4.mul(v128.load(p), f));
    }
    for (; c < V; c++) store<f32>(grow + (<usize>c << 2), load<f32>(grow + (<usize>c << 2)) * f32x4.extract_lane(f, 0));
    const ly = <f64>load<f32>(row + (<usize>y << 2));
    store<f32>(grow + (<usize>y << 2), <f32>((Math.exp(ly - <f64>top) / sum - 1.0) * invCount));
    store<f64>(part, Math.log(sum) + <f64>top - ly);
    store<f64>(part + 8, firstIndexOf(row, V, top) == <i32>y ? 1 : 0);
  }
}

export function tokenCrossEntropyTotal(partial: usize, labels: usize, N: i32, loss: usize, correct: usize): void {
  let total = 0.0;
  let hits = 0.0;
  for (let r = 0; r < N; r++) {
    total += load<f64>(partial + (<usize>r << 4));
    hits += load<f64>(partial + (<usize>r << 4) + 8);
  }
  const count = countedRows(labels, N);
  store<f32>(loss, count == 0 ? 0 : <f32>(total / <f64>count));
  store<u32>(correct, <u32>hits);
}

function rowMax(row: usize, V: i32): f32 {
  let mv = f32x4.splat(-Infinity);
  let c = 0;
  for (; c + 4 <= V; c += 4) mv = f32x4.pmax(mv, v128.load(row + (<usize>c << 2)));
  let top = max(max(f32x4.extract_lane(mv, 0), f32x4.extract_lane(mv, 1)), max(f32x4.extract_lane(mv, 2), f32x4.extract_lane(mv, 3)));
  for (; c < V; c++) top = max(top, load<f32>(row + (<usize>c << 2)));
  return top;
}

/** out[c] = exp(row[c] − top) (f32); returns their sum in float64. */
function expInto(row: usize, V: i32, top: f32, out: usize): f64 {
  const m4 = f32x4.splat(top);
  let a0 = f64x2.splat(0), a1 = f64x2.splat(0);
  let c = 0;
  for (; c + 4 <= V; c += 4) {
    const e = expNeg4(f32x4.sub(v128.load(row + (<usize>c << 2)), m4));
    v128.store(out + (<usize>c << 2), e);
    a0 = f64x2.add(a0, f64x2.promote_low_f32x4(e));
    a1 = f64x2.add(a1, f64x2.promote_low_f32x4(i64x2.shuffle(e, e, 1, 1)));
  }
  let sum = hsum2(f64x2.add(a0, a1));
  for (; c < V; c++) {
    const e = f32x4.extract_lane(expNeg4(f32x4.splat(load<f32>(row + (<usize>c << 2)) - top)), 0);
    store<f32>(out + (<usize>c << 2), e);
    sum += <f64>e;
  }
  return sum;
}

/** The first c with row[c] = value (−1 if none, e.g. for a NaN maximum). */
function firstIndexOf(row: usize, V: i32, value: f32): i32 {
  for (let c = 0; c < V; c++) if (load<f32>(row + (<usize>c << 2)) == value) return c;
  return -1;
}
