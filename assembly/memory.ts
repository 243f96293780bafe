// Linear-memory helpers shared by the kernels. The module has no allocator of its own (runtime
// "stub", nothing managed is ever allocated): the host (src/wasm/alloc.ts) owns every byte from
// `heapBase()` up, hands the kernels pointers and lengths, and grows the memory itself.
// Pointers are byte offsets (usize); element counts are i32 (a wasm32 tensor holds < 2^30 floats).

/** First byte the host may use: everything below is the module's static data and scratch. */
export function heapBase(): usize {
  return (__heap_base + 63) & ~(<usize>63);
}

/** Sum of the four f32 lanes. */
// @ts-ignore: decorator
@inline export function hsum(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

/** Loads `count` (< 4) floats from `ptr` into the low lanes, zeros elsewhere (no read past the end). */
// @ts-ignore: decorator
@inline export function loadPartial(ptr: usize, count: i32): v128 {
  let v = f32x4.splat(0);
  if (count > 0) v = f32x4.replace_lane(v, 0, load<f32>(ptr));
  if (count > 1) v = f32x4.replace_lane(v, 1, load<f32>(ptr, 4));
  if (count > 2) v = f32x4.replace_lane(v, 2, load<f32>(ptr, 8));
  return v;
}

/** Stores the low `count` (< 4) lanes of `v` at `ptr` (no write past the end). */
// @ts-ignore: decorator
@inline export function storePartial(ptr: usize, v: v128, count: i32): void {
  if (count > 0) store<f32>(ptr, f32x4.extract_lane(v, 0));
  if (count > 1) store<f32>(ptr, f32x4.extract_lane(v, 1), 4);
  if (count > 2) store<f32>(ptr, f32x4.extract_lane(v, 2), 8);
}

/** Loads lanes o..o+3 of a row of length `len` (pointer `row`), zero past the end. */
// @ts-ignore: decorator
@inline export function loadRow4(row: usize, o: i32, len: i32): v128 {
  const p = row + (<usize>o << 2);
  return o + 4 <= len ? v128.load(p) : loadPartial(p, len - o);
}

/** Stores lanes o..o+3 of a row of length `len`, dropping lanes past the end. */
// @ts-ignore: decorator
@inline export function storeRow4(row: usize, o: i32, len: i32, v: v128): void {
  const p = row + (<usize>o << 2);
  if (o + 4 <= len) v128.store(p, v);
  else storePartial(p, v, len - o);
}

/** Two f32 at `ptr` as an f64x2 (float64 kernels work on pairs). */
// @ts-ignore: decorator
@inline export function load2(ptr: usize): v128 {
  return f64x2.promote_low_f32x4(v128.load64_zero(ptr));
}

/** Rounds an f64x2 to two f32 stored at `ptr`. */
// @ts-ignore: decorator
@inline export function store2(ptr: usize, v: v128): void {
  v128.store64_lane(ptr, f32x4.demote_f64x2_zero(v), 0);
}

/** Sum of the two f64 lanes. */
// @ts-ignore: decorator
@inline export function hsum2(v: v128): f64 {
  return f64x2.extract_lane(v, 0) + f64x2.extract_lane(v, 1);
}
