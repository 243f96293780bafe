// A `merge_*` golden vector (test/vectors/README.md): one adapter's inputs, configuration and
// the reference outputs, read from safetensors and checked for completeness and consistent shapes.

import { type AdapterKind, resolveConfig, type AdapterConfig, AdapterConfigError, isSparsified } from '../adapter/config.js';
import { vectorReader } from './vector-reader.js';

export interface Array32 {
  shape: number[];
  data: Float32Array;
}

export interface MergeCase {
  name: string;
  config: Required<AdapterConfig>;
  rows: number;
  inputs: { A: Array32; B: Array32; x: Array32; g: Array32; alpha?: Array32; gamma?: Array32; beta?: Array32 };
  /** Reference outputs by vector name: W, W_sparse, y, grad.* */
  expected: Map<string, Array32>;
  /** Reference threshold and kept count (sparsified kinds only). */
  threshold: number | null;
  kept: number | null;
}

const KINDS: readonly AdapterKind[] = ['snell', 'klora', 'snella'];

/** Reads a merge vector; every problem becomes a SafetensorsError naming the file. */
export function readMergeCase(bytes: Uint8Array, file: string): MergeCase {
  const { st, fail, meta, int } = vectorReader(bytes, file);

  const kind = meta('kind') as AdapterKind;
  if (!KINDS.includes(kind)) fail(`metadata "kind" is ${JSON.stringify(kind)}; expected one of ${KINDS.join(', ')}`);
  const norm = st.metadata.norm_p === undefined ? 2 : meta('norm_p');
  if (norm !== 2) fail(`metadata "norm_p" is ${norm}; only the p = 2 distance kernel is supported`);
  const sparsity = meta('init_thres');
  if (typeof sparsity !== 'number') fail(`metadata "init_thres" must be a number`);
  const coeff = meta('coeff');
  if (!Array.isArray(coeff) || coeff.some((c) => typeof c !== 'number')) fail(`metadata "coeff" must be a list of numbers`);

  let config: Required<AdapterConfig>;
  try {
    config = resolveConfig({
      kind,
      dIn: int('d_in'),
      dOut: int('d_out'),
      rank: int('q_dim'),
      heads: int('num_Hs'),
      sparsity: sparsity as number,
      coeff: coeff as number[],
    });
  } catch (e) {
    if (e instanceof AdapterConfigError) fail(e.message);
    throw e;
  }
  const rows = int('n_rows');
  const { dIn: n, dOut: m, heads: H } = config;
  const k = config.rank / H;

  const tensor = (name: string, shape: number[], input: boolean): Array32 => {
    if (!st.has(name)) fail(`tensor "${name}" is missing (a ${kind} merge vector needs it)`);
    const t = st.tensor(name);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      fail(`tensor "${name}" has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}] from the metadata`);
    }
    if (input) {
      const bad = t.data.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0) fail(`input tensor "${name}" holds ${t.data[bad]} at flat index ${bad}: inputs must be finite`);
    }
    return t;
  };

  const snella = kind === 'snella';
  const sparse = isSparsified(config);
  const inputs: MergeCase['inputs'] = {
    A: tensor('In_Qs', [H, n, k], true),
    B: tensor('Out_Qs', [H, m, k], true),
    x: tensor('x', [rows, n], true),
    g: tensor('g', [rows, m], true),
  };
  const outputs: Array<[string, number[]]> = [
    ['W', [n, m]],
    ['y', [rows, m]],
    ['grad.In_Qs', [H, n, k]],
    ['grad.Out_Qs', [H, m, k]],
    ['grad.x', [rows, n]],
  ];
  // W_sparse is required when sparsified; when not, a vector may still store it (equal to W)
  if (sparse || st.has('W_sparse')) outputs.push(['W_sparse', [n, m]]);
  if (snella) {
    inputs.alpha = tensor('alpha', [1], true);
    inputs.gamma = tensor('gamma', [1], true);
    inputs.beta = tensor('beta', [1], true);
    outputs.push(['grad.alpha', [1]], ['grad.gamma', [1]], ['grad.beta', [1]]);
  }
  const expected = new Map(outputs.map(([name, shape]) => [name, tensor(name, shape, false)]));
  let threshold: number | null = null;
  let kept: number | null = null;
  if (sparse) {
    threshold = meta('threshold') as number;
    kept = meta('kept') as number;
    if (typeof threshold !== 'number' || !Number.isInteger(kept)) fail('metadata "threshold" and "kept" must be numbers');
  }
  return { name: file.replace(/^.*[\\/]/, '').replace(/\.safetensors$/, ''), config, rows, inputs, expected, threshold, kept };
}
