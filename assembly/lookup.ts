// The decoder's row lookups, ids and index u32:
//   embed:               out[n] = table[ids[n]] (table [V, D], out [N, D]; a zero row for an id ≥ V)
//   embedBackward:       dTable[ids[n]] += dOut[n] for n = 0 … N−1 in order (an id ≥ V adds nothing)
//   gatherRows:          out[b] = x[b, index[b]] (x [B, T, D], out [B, D]; a zero row for an index ≥ T)
//   gatherRowsBackward:  dx[b] = 0 except dx[b, index[b]] = dOut[b] (written)
// embedBackward adds the rows one after another, so a repeated id sums its positions in increasing n,
// the order wgsl/lookup.wgsl uses too: the two backends give the same bits.

export function embed(ids: usize, table: usize, V: i32, D: i32, N: i32, out: usize): void {
  const row = <usize>D << 2;
  for (let n = 0; n < N; n++) {
    const id = load<u32>(ids + (<usize>n << 2));
    const dst = out + <usize>n * row;
    if (id < <u32>V) memory.copy(dst, table + <usize>id * row, row);
    else memory.fill(dst, 0, row);
  }
}

export function embedBackward(dOut: usize, ids: usize, N: i32, V: i32, D: i32, dTable: usize): void {
  const row = <usize>D << 2;
  for (let n = 0; n < N; n++) {
    const id = load<u32>(ids + (<usize>n << 2));
    if (id >= <u32>V) continue;
    const src = dOut + <usize>n * row;
    const dst = dTable + <usize>id * row;
    let d = 0;
    for (; d + 4 <= D; d += 4) {
      const o = <usize>d << 2;
      v128.store(dst + o, f32x4.add(v128.load(dst + o), v128.load(src + o)));
    }
    for (; d < D; d++) {
      const o = <usize>d << 2;
      store<f32>(dst + o, load<f32>(dst + o) + load<f32>(src + o));
    }
  }
}

export function gatherRows(x: usize, index: usize, B: i32, T: i32, D: i32, out: usize): void {
  const row = <usize>D << 2;
  for (let b = 0; b < B; b++) {
    const t = load<u32>(index + (<usize>b << 2));
    const dst = out + <usize>b * row;
    if (t < <u32>T) memory.copy(dst, x + (<usize>b * <usize>T + <usize>t) * row, row);
    else memory.fill(dst, 0, row);
  }
}

export function gatherRowsBackward(dOut: usize, index: usize, B: i32, T: i32, D: i32, dx: usize): void {
  const row = <usize>D << 2;
  memory.fill(dx, 0, <usize>B * <usize>T * row);
  for (let b = 0; b < B; b++) {
    const t = load<u32>(index + (<usize>b << 2));
    if (t < <u32>T) memory.copy(dx + (<usize>b * <usize>T + <usize>t) * row, dOut + <usize>b * row, row);
  }
}
