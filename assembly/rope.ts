// Rotary position embedding in Hugging Face's rotate-half layout, over rows of x [B·T, C] holding
// C/hd heads of hd columns; the cos and sin tables are [P, hd/2] f32 (built on the host in float64).
// Row i of the call is global row r = first + i, at position p = r mod T + offset; for every head and
// c < hd/2, with a = x[c], b = x[c + hd/2], k = cos[p, c], s = sign·sin[p, c]:
//   out[c] = a·k − b·s,  out[c + hd/2] = b·k + a·s           (sign = 1: rope, −1: its transpose)
// Products and sums in float64, rounded once on store. Both values of a pair are loaded before either
// is stored, so out may be x (in place).

export function rope(
  x: usize, cos: usize, sin: usize, out: usize, first: i32, rows: i32, T: i32, C: i32, hd: i32, offset: i32, sign: f64,
): void {
  const half = hd >> 1;
  for (let i = 0; i < rows; i++) {
    const r = first + i;
    const at = <usize>r * <usize>C << 2;
    const table = <usize>(r % T + offset) * <usize>half << 2;
    for (let h = 0; h < C; h += hd) {
      for (let c = 0; c < half; c++) {
        const lo = at + (<usize>(h + c) << 2);
        const hi = lo + (<usize>half << 2);
        const a = <f64>load<f32>(x + lo);
        const b = <f64>load<f32>(x + hi);
        const k = <f64>load<f32>(cos + table + (<usize>c << 2));
        const s = sign * <f64>load<f32>(sin + table + (<usize>c << 2));
        store<f32>(out + lo, <f32>(a * k - b * s));
        store<f32>(out + hi, <f32>(b * k + a * s));
      }
    }
  }
}
