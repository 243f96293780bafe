// Decoder primitives at GPT-2-small shapes (12 heads of 64, T = 512, vocabulary 50 257): median wall
// time of attention forward + backward for the ViT's bidirectional call and the decoder's variants
// (causal, grouped-query with 4 key/value heads, causal with a padding mask, a KV-cache decode step),
// the token cross-entropy over 512 rows, and the embedding lookup with its gradient; then generate()
// on a small random GPT-2 (4 layers of 256, vocabulary 4096): tokens/s of cached greedy decoding after
// a 32-token prompt. Runs against the built package (npm run build first).
//
//   node bench/decoder.mjs [--backend wasm|webgpu] [--reps N]

import { DecoderLM, generate, IGNORE_LABEL, lmWeightShapes, parseLmConfig } from '../dist/node.js';
import { backendOf, timed, uniform } from './adapter.mjs';

const args = process.argv.slice(2);
const opt = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const kind = opt('--backend', 'wasm');
const reps = Number(opt('--reps', 5));
const [T, H, hd, V, D] = [512, 12, 64, 50257, 768];

const report = (what, ms) => console.log(`  ${what.padEnd(56)} ${ms.toFixed(2).padStart(9)} ms`);

const b = await backendOf(kind);
console.log(`${b.description}: median of ${reps}`);

async function attentionCase(name, { Tq = T, Tk = T, kvHeads = H, ...options }) {
  const up = (n, seed, shape) => b.upload(uniform(n, seed, 1), shape);
  const [q, dOut] = [up(Tq * H * hd, 1, [1, Tq, H * hd]), up(Tq * H * hd, 2, [1, Tq, H * hd])];
  const [k, v] = [up(Tk * kvHeads * hd, 3, [1, Tk, kvHeads * hd]), up(Tk * kvHeads * hd, 4, [1, Tk, kvHeads * hd])];
  const [out, probs, dq] = [b.zeros([1, Tq, H * hd]), b.zeros([1, H, Tq, Tk]), b.zeros([1, Tq, H * hd])];
  const [dk, dv] = [b.zeros([1, Tk, kvHeads * hd]), b.zeros([1, Tk, kvHeads * hd])];
  const all = { kvHeads, ...options };
  const ms = await timed(reps, async () => {
    b.attention(q, k, v, H, out, probs, all);
    b.attentionBackward(dOut, q, k, v, probs, H, dq, dk, dv, all);
    await b.flush();
  });
  report(`attention fwd+bwd ${name}`, ms);
  for (const t of [q, dOut, k, v, out, probs, dq, dk, dv]) b.free(t);
}

await attentionCase('bidirectional (the ViT call)', {});
await attentionCase('causal', { causal: true });
await attentionCase('causal, grouped-query KV = 4', { causal: true, kvHeads: 4 });
const keyMask = b.upload(
  Uint32Array.from({ length: T }, (_, j) => (j < 300 ? 1 : 0)),
  [1, T],
  'u32',
);
await attentionCase('causal, padded to 300 real keys', { causal: true, keyMask });
await attentionCase('decode step Tq = 1, Tk = 512', { causal: true, Tq: 1 });

const logits = b.upload(uniform(T * V, 5, 8), [T, V]);
const labels = b.upload(
  Uint32Array.from({ length: T }, (_, i) => (i % 10 === 9 ? IGNORE_LABEL : (i * 7919) % V)),
  [T],
  'u32',
);
const [loss, dLogits, correct] = [b.zeros([1]), b.zeros([T, V]), b.zeros([1], 'u32')];
const xentMs = await timed(reps, async () => {
  b.tokenCrossEntropy(logits, labels, loss, dLogits, correct);
  await b.flush();
});
report(`tokenCrossEntropy N = ${T}, V = ${V}`, xentMs);
for (const t of [logits, dLogits]) b.free(t);

const ids = b.upload(
  Uint32Array.from({ length: T }, (_, i) => (i * 104729) % V),
  [T],
  'u32',
);
const [table, rows, dTable] = [b.upload(uniform(V * D, 6, 1), [V, D]), b.zeros([T, D]), b.zeros([V, D])];
const embedMs = await timed(reps, async () => {
  b.embed(ids, table, rows);
  b.embedBackward(rows, ids, dTable);
  await b.flush();
});
report(`embed + embedBackward N = ${T}, V = ${V}, D = ${D}`, embedMs);
for (const t of [ids, table, rows, dTable]) b.free(t);

const small = parseLmConfig({ model_type: 'gpt2', vocab_size: 4096, n_embd: 256, n_layer: 4, n_head: 4, n_positions: 128 });
const weights = new Map(
  [...lmWeightShapes(small)].map(([name, shape], i) => {
    const size = shape.reduce((a, d) => a * d, 1);
    return [name, { shape, data: /ln_.*weight/.test(name) ? new Float32Array(size).fill(1) : uniform(size, 10 + i, 0.05) }];
  }),
);
const model = new DecoderLM(b, small, weights, { plan: null, seed: 0 });
const [prompt, newTokens] = [Array.from({ length: 32 }, (_, i) => (i * 37) % 4096), 64];
const genMs = await timed(reps, () => generate(model, prompt, { maxNewTokens: newTokens, temperature: 0 }));
console.log(
  `  ${`generate() ${newTokens} greedy tokens after 32, GPT-2 4×256`.padEnd(56)} ${(newTokens / (genMs / 1000)).toFixed(1).padStart(9)} tokens/s`,
);
model.dispose();
b.destroy();
