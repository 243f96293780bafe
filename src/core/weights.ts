// Named float32 tensors on the host: a checkpoint's contents, a model's weights, a vector file's
// tensors. `data` is row-major over `shape`.

export interface NamedArray {
  shape: readonly number[];
  data: Float32Array;
}

/** Tensors by name. */
export type Weights = ReadonlyMap<string, NamedArray>;
