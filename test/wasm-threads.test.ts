// The wasm backend on worker threads (Node's worker_threads host), on each build of the kernels (plain
// and relaxed SIMD): the shared case tables with three threads (more than this machine may have, so
// pieces are uneven and workers contend), results bit-identical to one thread of the same build at
// sizes big enough to be split, and the one-thread path when asked for.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeThreads } from '../runtimes/node/threads.js';
import { type Backend, IGNORE_LABEL, type MatmulOptions } from '../src/backend.js';
import { ropeTables } from '../src/model/rope.js';
import { uniform } from '../src/reference/random.js';
import { createWasmBackend } from '../src/wasm/backend.js';
import type { ThreadHost } from '../src/wasm/threads.js';
import { describeBackend } from './support/backend-suite.js';
import { describeDecoderBackend } from './support/decoder-suite.js';
import { SIMD_PATHS } from './support/simd.js';
import { describeTransformerBackend } from './support/transformer-suite.js';

for (const simd of SIMD_PATHS) {
  const threaded = () => createWasmBackend({ host: nodeThreads, threads: 3, simd });

  describeBackend(`wasm, ${simd} SIMD, 3 threads`, threaded);
  describeTransformerBackend(`wasm, ${simd} SIMD, 3 threads`, threaded);
  describeDecoderBackend(`wasm, ${simd} SIMD, 3 threads`, threaded);

  describe(`wasm backend threads, ${simd} SIMD`, () => {
    let one: Backend;
    let three: Backend;
    beforeAll(async () => {
      [one, three] = [await createWasmBackend({ host: nodeThreads, threads: 1, simd }), await threaded()];
    });
    afterAll(() => {
      one.destroy();
      three.destroy();
    });

    /** Runs `op` on both backends with the same uploaded inputs; returns each backend's outputs. */
    async function both(
      inputs: [Float32Array, number[]][],
      outputs: number[][],
      op: (b: Backend, ins: ReturnType<Backend['upload']>[], outs: ReturnType<Backend['zeros']>[]) => void,
    ): Promise<[Float32Array[], Float32Array[]]> {
      const results: Float32Array[][] = [];
      for (const b of [one, three]) {
        const ins = inputs.map(([data, shape]) => b.upload(data, shape));
        const outs = outputs.map((shape) =>
          b.upload(
            uniform(
              shape.reduce((x, y) => x * y, 1),
              99,
            ),
            shape,
          ),
        ); // poisoned
        op(b, ins, outs);
        results.push((await Promise.all(outs.map((t) => b.read(t)))) as Float32Array[]);
        for (const t of [...ins, ...outs]) b.free(t);
      }
      return [results[0], results[1]];
    }

    function expectIdentical([a, b]: [Float32Array[], Float32Array[]]): void {
      a.forEach((x, i) => {
        const bad = x.findIndex((v, j) => !Object.is(v, b[i][j]));
        expect(bad, `output ${i}: first difference at ${bad}: ${x[bad]} vs ${b[i][bad]}`).toBe(-1);
      });
    }

    it('describes its build and thread count and keeps one thread when asked', () => {
      const build = simd === 'relaxed' ? 'simd128+relaxed-fma' : 'simd128';
      expect(three.description).toBe(`wasm32 SIMD (AssemblyScript, ${build}), 3 threads`);
      expect(one.description).toBe(`wasm32 SIMD (AssemblyScript, ${build}), 1 thread`);
    });

    it('refuses a thread count that is not a positive integer', async () => {
      await expect(createWasmBackend({ host: nodeThreads, threads: 0 })).rejects.toThrow(/threads must be an integer ≥ 1/);
    });

    it('workers that cannot start: an error for an explicit count, one thread by default', async () => {
      const blocked: ThreadHost = { cores: 4, spawn: () => Promise.reject(new Error('blob: workers are blocked')) };
      await expect(createWasmBackend({ host: blocked, threads: 2 })).rejects.toThrow(
        /worker thread failed to start: blob: workers are blocked.*threads: 1/,
      );
      const b = await createWasmBackend({ host: blocked });
      expect(b.description).toMatch(/, 1 thread$/);
      b.destroy();
    });

    const flavours: [string, MatmulOptions][] = [
      ['plain', {}],
      ['transA', { transA: true }],
      ['transB', { transB: true }],
      ['both, accumulate', { transA: true, transB: true, accumulate: true }],
    ];
    for (const [M, K, N] of [
      [301, 171, 130],
      [97, 203, 333],
    ]) {
      for (const [name, o] of flavours) {
        it(`matmul ${M}×${K}×${N} (${name}) split by ${M >= N ? 'rows' : 'columns'} is bit-identical to one thread`, async () => {
          expectIdentical(
            await both(
              [
                [uniform(M * K, 1), o.transA ? [K, M] : [M, K]],
                [uniform(K * N, 2), o.transB ? [N, K] : [K, N]],
              ],
              [[M, N]],
              (b, [x, y], [out]) => b.matmul(x, y, out, o),
            ),
          );
        });
      }
    }

    // merge splits rows of W; its backward fixed row groups, then rows of dB (the reduce splits only in the second shape)
    for (const [H, n, m, k] of [
      [2, 301, 203, 7],
      [3, 61, 517, 17],
    ]) {
      for (const kernel of ['distance', 'linear'] as const) {
        it(`merge and mergeBackward (${kernel}) H=${H} ${n}×${m} k=${k} are bit-identical to one thread`, async () => {
          const coeff = Array.from({ length: H }, (_, h) => 0.5 + 0.25 * h);
          expectIdentical(
            await both(
              [
                [uniform(H * n * k, 12), [H, n, k]],
                [uniform(H * m * k, 13), [H, m, k]],
                [uniform(n * m, 14), [n, m]],
              ],
              [
                [n, m],
                [H, n, k],
                [H, m, k],
              ],
              (b, [A, B, dW], [W, dA, dB]) => {
                b.merge(A, B, kernel, coeff, W);
                b.mergeBackward(A, B, dW, kernel, coeff, dA, dB);
              },
            ),
          );
        });
      }
    }

    it('sparsify and its backward are bit-identical to one thread, kept summed over the pieces', async () => {
      const n = 400_001;
      const inputs: [Float32Array, number[]][] = [
        [uniform(n, 15), [n]],
        [uniform(n, 16), [n]],
        [new Float32Array([0.6]), [1]],
      ];
      expectIdentical(
        await both(inputs, [[n], [n]], (b, [w, g, t], [ws, dw]) => {
          const count = b.zeros([1], 'u32');
          b.sparsify(w, t, ws, count);
          b.free(count);
          b.sparsifyBackward(g, w, t, dw);
        }),
      );
      const kept = await Promise.all(
        [one, three].map(async (b) => {
          const [w, t, ws, count] = [b.upload(inputs[0][0], [n]), b.upload(inputs[2][0], [1]), b.zeros([n]), b.zeros([1], 'u32')];
          b.sparsify(w, t, ws, count);
          const [c] = await b.read(count);
          for (const x of [w, t, ws, count]) b.free(x);
          return c;
        }),
      );
      expect(kept[1]).toBe(kept[0]);
      expect(kept[0]).toBe(inputs[0][0].filter((x) => Math.abs(x) > Math.fround(0.6)).length);
    });

    it('elementwise kernels, addBias, layerNorm and attention are bit-identical to one thread', async () => {
      const n = 400_001;
      expectIdentical(
        await both(
          [
            [uniform(n, 3, -4, 4), [n]],
            [uniform(n, 4), [n]],
          ],
          [[n], [n], [n], [n], [n]],
          (b, [x, y], [g, dg, d, s, c]) => {
            b.gelu(x, g);
            b.geluBackward(y, x, dg);
            b.dropout(x, 0.3, 12345, d);
            b.add(x, y, s);
            b.copy(x, c);
            b.addInto(c, y);
          },
        ),
      );
      const [Rb, Nb] = [797, 501];
      expectIdentical(
        await both(
          [
            [uniform(Rb * Nb, 17), [Rb, Nb]],
            [uniform(Nb, 18), [Nb]],
          ],
          [[Rb, Nb]],
          (b, [x, bias], [out]) => {
            b.copy(x, out);
            b.addBias(out, bias);
          },
        ),
      );
      const [R, D] = [397, 250];
      expectIdentical(
        await both(
          [
            [uniform(R * D, 5, -3, 3), [R, D]],
            [uniform(D, 6), [D]],
            [uniform(D, 7), [D]],
          ],
          [[R, D], [R], [R]],
          (b, [x, w, bias], [out, mean, rstd]) => b.layerNorm(x, w, bias, 1e-6, out, mean, rstd),
        ),
      );
      const [B, T, E, H] = [3, 37, 48, 4];
      const tok = B * T * E;
      expectIdentical(
        await both(
          [
            [uniform(tok, 8, -2, 2), [B, T, E]],
            [uniform(tok, 9, -2, 2), [B, T, E]],
            [uniform(tok, 10), [B, T, E]],
            [uniform(tok, 11), [B, T, E]],
          ],
          [
            [B, T, E],
            [B, H, T, T],
            [B, T, E],
            [B, T, E],
            [B, T, E],
          ],
          (b, [q, k, v, dOut], [out, probs, dq, dk, dv]) => {
            b.attention(q, k, v, H, out, probs);
            b.attentionBackward(dOut, q, k, v, probs, H, dq, dk, dv);
          },
        ),
      );
      const zeros = three.zeros([800_001]);
      expect((await three.read(zeros)).every((v) => v === 0)).toBe(true);
      three.free(zeros);
    });

    it('rmsNorm, RoPE and the decoder activations are bit-identical to one thread', async () => {
      const n = 400_001;
      expectIdentical(
        await both(
          [
            [uniform(n, 12, -12, 12), [n]],
            [uniform(n, 13), [n]],
            [uniform(n, 14), [n]],
          ],
          [[n], [n], [n], [n], [n]],
          (b, [x, y, dy], [s, dg, du, g, dx]) => {
            b.siluMul(x, y, s);
            b.siluMulBackward(dy, x, y, dg, du);
            b.geluTanh(x, g);
            b.geluTanhBackward(dy, x, dx);
          },
        ),
      );
      const [R, D] = [397, 250];
      expectIdentical(
        await both(
          [
            [uniform(R * D, 15, -3, 3), [R, D]],
            [uniform(D, 16), [D]],
          ],
          [[R, D], [R]],
          (b, [x, w], [out, rstd]) => b.rmsNorm(x, w, 1e-6, out, rstd),
        ),
      );
      const [B, T, C, H, P] = [3, 130, 256, 2, 150]; // 3 pieces of rows
      const tables = ropeTables(C / H, P, 10000);
      expectIdentical(
        await both(
          [
            [uniform(B * T * C, 17, -2, 2), [B, T, C]],
            [tables.cos, tables.shape],
            [tables.sin, tables.shape],
          ],
          [
            [B, T, C],
            [B, T, C],
          ],
          (b, [x, cos, sin], [out, back]) => {
            b.rope(x, cos, sin, H, 19, out);
            b.ropeBackward(out, cos, sin, H, 19, back);
          },
        ),
      );
    });

    it('grouped-query causal padded attention and the token cross-entropy are bit-identical to one thread', async () => {
      const [B, T, H, KV, hd] = [3, 21, 4, 2, 8];
      const [q, kv] = [B * T * H * hd, B * T * KV * hd];
      const lengths = [21, 9, 1];
      const results: Float32Array[][] = [];
      for (const b of [one, three]) {
        const keyMask = b.upload(
          Uint32Array.from({ length: B * T }, (_, i) => (i % T < lengths[Math.floor(i / T)] ? 1 : 0)),
          [B, T],
          'u32',
        );
        const options = { kvHeads: KV, causal: true, keyMask };
        const [qt, kt, vt, dOut] = [
          b.upload(uniform(q, 12, -2, 2), [B, T, H * hd]),
          b.upload(uniform(kv, 13, -2, 2), [B, T, KV * hd]),
          b.upload(uniform(kv, 14), [B, T, KV * hd]),
          b.upload(uniform(q, 15), [B, T, H * hd]),
        ];
        const [out, probs, dq, dk, dv] = [
          [B, T, H * hd],
          [B, H, T, T],
          [B, T, H * hd],
          [B, T, KV * hd],
          [B, T, KV * hd],
        ].map((s) => b.zeros(s));
        b.attention(qt, kt, vt, H, out, probs, options);
        b.attentionBackward(dOut, qt, kt, vt, probs, H, dq, dk, dv, options);
        const [N, V] = [37, 20011]; // N·V past three pieces of 2^16
        const labels = b.upload(
          Uint32Array.from({ length: N }, (_, i) => (i % 4 === 3 ? IGNORE_LABEL : (i * 811) % V)),
          [N],
          'u32',
        );
        const [loss, dLogits] = [b.zeros([1]), b.zeros([N, V])];
        b.tokenCrossEntropy(b.upload(uniform(N * V, 16, -6, 6), [N, V]), labels, loss, dLogits, b.zeros([1], 'u32'));
        results.push((await Promise.all([out, probs, dq, dk, dv, loss, dLogits].map((t) => b.read(t)))) as Float32Array[]);
      }
      expectIdentical([results[0], results[1]]);
    });
    it('the sparse product (sparseB) and keptGradient split by panels and rows are bit-identical to one thread', async () => {
      const [R, K, N] = [401, 300, 350];
      // 10% of the update kept, as at s = 0.9: nonzeros of b and |W| above the threshold at the same places
      const w = uniform(K * N, 21);
      const t = 0.9;
      const ws = w.map((v) => (Math.abs(v) > t ? v * Math.abs(v) : 0));
      expectIdentical(
        await both(
          [
            [uniform(R * K, 19), [R, K]],
            [uniform(R * N, 20), [R, N]],
            [ws, [K, N]],
            [w, [K, N]],
            [new Float32Array([t]), [1]],
          ],
          [
            [R, N],
            [R, K],
            [K, N],
          ],
          (b, [x, dy, Ws, W, thr], [y, dx, dW]) => {
            b.matmul(x, Ws, y, { sparseB: true });
            b.matmul(dy, Ws, dx, { transB: true, sparseB: true });
            b.keptGradient(x, dy, W, thr, dW);
          },
        ),
      );
    });
  });
}
