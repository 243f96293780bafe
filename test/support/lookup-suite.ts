// The decoder cases of the shared transformer suite, every backend against the float64 references
// (src/reference/decoder-attention64.ts, decoder-tokens64.ts): grouped-query, causal, offset and
// padded attention with their gradients, the embedding lookup, the row gather, and the token
// cross-entropy with ignored labels. Outputs are poisoned with NaN where they are written.

import { expect, it } from 'vitest';
import { type AttentionOptions, type Backend, IGNORE_LABEL, type Tensor } from '../../src/backend.js';
import { uniform } from '../../src/reference/random.js';
import {
  allowed64,
  type DecoderAttention64,
  decoderAttention64,
  decoderAttentionBackward64,
} from '../../src/reference/decoder-attention64.js';
import {
  embed64,
  embedBackward64,
  gatherRows64,
  gatherRowsBackward64,
  tokenCrossEntropy64,
} from '../../src/reference/decoder-tokens64.js';
import { expectClose } from './close.js';

const TIGHT = 1e-5;

interface AttentionCase {
  B: number;
  Tq: number;
  Tk: number;
  heads: number;
  kvHeads: number;
  hd: number;
  causal?: boolean;
  offset?: number;
  /** real keys per sequence (right padding); none: no key mask */
  lengths?: number[];
}

/** A case's name, e.g. "B=2 Tq=1 Tk=70 H=4 KV=2 hd=16 causal offset=69 lengths=70,40". */
const label = (c: AttentionCase): string =>
  `B=${c.B} Tq=${c.Tq} Tk=${c.Tk} H=${c.heads} KV=${c.kvHeads} hd=${c.hd}` +
  `${c.causal ? ' causal' : ''}${c.offset !== undefined ? ` offset=${c.offset}` : ''}${c.lengths ? ` lengths=${c.lengths}` : ''}`;

// GQA with KV = 1 and KV = H, causal over and off the WebGPU tiles (32 query rows, 64 keys), offsets
// (a chunk after a cache, a decode step with Tq = 1), right padding with lengths down to 1 and 0.
const ATTENTION_CASES: readonly AttentionCase[] = [
  { B: 2, Tq: 9, Tk: 9, heads: 4, kvHeads: 1, hd: 8, causal: true },
  { B: 1, Tq: 33, Tk: 33, heads: 2, kvHeads: 2, hd: 12, causal: true },
  { B: 2, Tq: 5, Tk: 5, heads: 6, kvHeads: 2, hd: 4 },
  { B: 1, Tq: 4, Tk: 11, heads: 4, kvHeads: 2, hd: 8, causal: true },
  { B: 2, Tq: 4, Tk: 11, heads: 4, kvHeads: 4, hd: 5, causal: true, offset: 3 },
  { B: 2, Tq: 1, Tk: 70, heads: 4, kvHeads: 2, hd: 16, causal: true, lengths: [70, 40] },
  { B: 4, Tq: 12, Tk: 12, heads: 2, kvHeads: 1, hd: 8, causal: true, lengths: [12, 7, 1, 3] },
  { B: 3, Tq: 6, Tk: 6, heads: 3, kvHeads: 3, hd: 3, lengths: [6, 1, 0] },
  { B: 2, Tq: 65, Tk: 65, heads: 4, kvHeads: 2, hd: 20, causal: true, lengths: [65, 50] },
];

export function describeDecoderCases(backend: () => Backend): void {
  const size = (shape: number[]) => shape.reduce((x, y) => x * y, 1);
  const poisoned = (shape: number[]): Tensor => backend().upload(new Float32Array(size(shape)).fill(NaN), shape);
  const up = (data: Float32Array, shape: number[]) => backend().upload(data, shape);
  const u32 = (data: number[], shape: number[] = [data.length]) => backend().upload(Uint32Array.from(data), shape, 'u32');
  const f32 = async (t: Tensor) => (await backend().read(t)) as Float32Array;

  for (const c of ATTENTION_CASES) {
    it(`decoder attention and its gradient ${label(c)}`, async () => {
      const b = backend();
      const { B, Tq, Tk, heads, kvHeads, hd } = c;
      const [qShape, kShape] = [
        [B, Tq, heads * hd],
        [B, Tk, kvHeads * hd],
      ];
      const [q, k, v] = [uniform(size(qShape), 61, -2, 2), uniform(size(kShape), 62, -2, 2), uniform(size(kShape), 63)];
      const dOut = uniform(size(qShape), 64);
      const mask = c.lengths?.flatMap((len) => Array.from({ length: Tk }, (_, j) => (j < len ? 1 : 0)));
      const options: AttentionOptions = { kvHeads, causal: c.causal, offset: c.offset, keyMask: mask && u32(mask, [B, Tk]) };
      const spec: DecoderAttention64 = { B, Tq, Tk, heads, kvHeads, hd, causal: c.causal, offset: c.offset, keyMask: mask };
      const [qt, kt, vt] = [up(q, qShape), up(k, kShape), up(v, kShape)];
      const [out, probs] = [poisoned(qShape), poisoned([B, heads, Tq, Tk])];
      b.attention(qt, kt, vt, heads, out, probs, options);
      const ref = decoderAttention64(q, k, v, spec);
      expectClose(await f32(out), ref.out, TIGHT, 'out');
      const P = await f32(probs);
      expectClose(P, ref.probs, TIGHT, 'probs');
      P.forEach((p, i) => {
        const [j, row] = [i % Tk, Math.floor(i / Tk)];
        const [bi, qi] = [Math.floor(row / (heads * Tq)), row % Tq];
        if (!allowed64(spec, bi, qi, j)) expect(p, `forbidden probs[${i}]`).toBe(0);
      });
      const [dq, dk, dv] = [poisoned(qShape), poisoned(kShape), poisoned(kShape)];
      b.attentionBackward(up(dOut, qShape), qt, kt, vt, probs, heads, dq, dk, dv, options);
      const g = decoderAttentionBackward64(dOut, q, k, v, spec);
      expectClose(await f32(dq), g.dq, TIGHT, 'dq');
      expectClose(await f32(dk), g.dk, TIGHT, 'dk');
      expectClose(await f32(dv), g.dv, TIGHT, 'dv');
    });
  }

  it('decoder attention: an all-padding sequence attends key 0 alone; a padded query row sees the real keys only', async () => {
    const b = backend();
    const [B, T, heads, hd] = [2, 5, 2, 3];
    const shape = [B, T, heads * hd];
    const [q, k, v] = [uniform(size(shape), 71, -2, 2), uniform(size(shape), 72, -2, 2), uniform(size(shape), 73)];
    const keyMask = u32([0, 0, 0, 0, 0, 1, 1, 0, 0, 0], [B, T]); // lengths 0 and 2
    const [out, probs] = [poisoned(shape), poisoned([B, heads, T, T])];
    b.attention(up(q, shape), up(k, shape), up(v, shape), heads, out, probs, { causal: true, keyMask });
    const [o, P] = [await f32(out), await f32(probs)];
    for (let i = 0; i < T; i++) {
      // sequence 0: every row is [1, 0, 0, 0, 0] and its output is v[0, 0]
      for (let n = 0; n < heads; n++) expect(Array.from(P.slice((n * T + i) * T, (n * T + i + 1) * T))).toEqual([1, 0, 0, 0, 0]);
      expectClose(o.slice(i * heads * hd, (i + 1) * heads * hd), v.slice(0, heads * hd), 1e-7, `sequence 0, row ${i}`);
      // sequence 1, rows 2 … 4 (padding): only keys 0 and 1, never themselves
      const row = P.slice(((heads + 0) * T + i) * T, ((heads + 0) * T + i + 1) * T);
      expect(row.slice(Math.min(i + 1, 2)).every((p) => p === 0)).toBe(true);
    }
  });

  it('embedding lookup and its accumulated gradient, repeated ids and ids past the vocabulary', async () => {
    const b = backend();
    const [V, D] = [50, 7];
    const ids = [3, 49, 3, 0, 50, 17, 3, IGNORE_LABEL, 17, 8, 0, 3, 21, 49, 2, 2, 2, 9, 3, 40, 41, 42, 3];
    const N = ids.length;
    const table = uniform(V * D, 81);
    const out = poisoned([N, D]);
    const idt = u32(ids, [1, N]);
    b.embed(idt, up(table, [V, D]), out);
    const got = await f32(out);
    expectClose(got, embed64(ids, table, V, D), 1e-7, 'embed');
    expect(got.slice(4 * D, 5 * D).every((x) => x === 0)).toBe(true); // id 50 = V: a zero row
    const [dOut, start] = [uniform(N * D, 82), uniform(V * D, 83)];
    const dTable = up(start, [V, D]);
    b.embedBackward(up(dOut, [N, D]), idt, dTable);
    b.embedBackward(up(dOut, [N, D]), idt, dTable);
    const once = embedBackward64(dOut, ids, start, V, D);
    expectClose(await f32(dTable), embedBackward64(dOut, ids, once, V, D), TIGHT, 'embedBackward, twice');
  });

  it('gatherRows picks one row per sequence and its gradient scatters it back', async () => {
    const b = backend();
    const [B, T, D] = [4, 5, 6];
    const index = [4, 0, 7, 2]; // 7 ≥ T: a zero row, no gradient
    const x = uniform(B * T * D, 84);
    const out = poisoned([B, D]);
    b.gatherRows(up(x, [B, T, D]), u32(index), out);
    expectClose(await f32(out), gatherRows64(x, index, B, T, D), 1e-7, 'gatherRows');
    const dOut = uniform(B * D, 85);
    const dx = poisoned([B, T, D]);
    b.gatherRowsBackward(up(dOut, [B, D]), u32(index), dx);
    expect(Array.from(await f32(dx))).toEqual(Array.from(gatherRowsBackward64(dOut, index, B, T, D), Math.fround));
  });

  for (const [N, V, every] of [
    [1, 1, 1],
    [7, 13, 3],
    [33, 1000, 4],
    [24, 50257, 5],
  ]) {
    it(`token cross-entropy N=${N} V=${V}, every ${every}th label ignored`, async () => {
      const b = backend();
      const logits = uniform(N * V, 91, -8, 8);
      const labels = Array.from({ length: N }, (_, i) => (i % every === every - 1 ? IGNORE_LABEL : (i * 7919) % V));
      if (N > 1) logits[V + labels[1]] = 20; // row 1 predicts its label
      const [loss, dl] = [poisoned([1]), poisoned([N, V])];
      const correct = b.upload(new Uint32Array([12345]), [1], 'u32');
      b.tokenCrossEntropy(up(logits, [N, V]), u32(labels), loss, dl, correct);
      const ref = tokenCrossEntropy64(logits, labels, N, V);
      expectClose(await f32(loss), [ref.loss], TIGHT, 'loss');
      const d = await f32(dl);
      expectClose(d, ref.dLogits, TIGHT, 'dLogits');
      labels.forEach((y, n) => {
        if (y === IGNORE_LABEL) expect(d.slice(n * V, (n + 1) * V).every((x) => x === 0)).toBe(true);
      });
      expect((await b.read(correct))[0]).toBe(ref.correct);
      if (N > 1) expect(ref.correct).toBeGreaterThan(0);
    });
  }

  it('token cross-entropy with every label ignored, or no rows: loss 0, zero gradient, none correct', async () => {
    const b = backend();
    const [N, V] = [3, 10];
    const [loss, dl, correct] = [poisoned([1]), poisoned([N, V]), u32([7])];
    b.tokenCrossEntropy(up(uniform(N * V, 92), [N, V]), u32([IGNORE_LABEL, IGNORE_LABEL, IGNORE_LABEL]), loss, dl, correct);
    expect(Array.from(await f32(loss))).toEqual([0]);
    expect((await f32(dl)).every((x) => x === 0)).toBe(true);
    expect(Array.from(await b.read(correct))).toEqual([0]);
    const [loss0, correct0] = [poisoned([1]), u32([7])];
    b.tokenCrossEntropy(b.zeros([0, V]), b.zeros([0], 'u32'), loss0, b.zeros([0, V]), correct0);
    expect(Array.from(await f32(loss0))).toEqual([0]);
    expect(Array.from(await b.read(correct0))).toEqual([0]);
  });
}
