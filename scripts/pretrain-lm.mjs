// Pretrains the embedded language model (src/pretrained/lm/) from scratch on the Brown corpus, against
// the built package (dist/node.js): `npm run pretrain:lm`.
//
// 1. A byte-level BPE tokenizer (4096 ids, "<|endoftext|>" as BOS, EOS and padding) trained on the
//    Brown training texts (every 10th text of cats.txt is held out, runtimes/node/text-corpora.ts).
// 2. A LLaMA: vocab 4096, hidden 128, 4 layers, 4 query heads and 2 key/value heads of width 32,
//    SwiGLU MLP 384, RMSNorm ε 1e-5, RoPE θ 10000, 256 positions, untied lm_head; transformers'
//    initialisation (N(0, 0.02²) linears and embedding, norms 1), seed 0.
// 3. Full training on causal windows of T = 128 tokens of the training texts (each text followed by
//    EOS, one stream cut into windows): batch 16, AdamW (β 0.9, 0.999; weight decay 0.1 on matrices
//    only), linear warmup then cosine to lr/10, seed 0, Wasm backend on 2 threads. After each epoch
//    the held-out loss on the validation texts' windows gives the perplexity exp(loss).
// 4. Writes config.json, model.safetensors (F16), tokenizer.json, tokenizer_config.json and
//    TRAINING.md (recipe, per-epoch figures, the first validation text's perplexity that
//    test/embedded-lm.test.ts recomputes, wall time, peak memory, machine, samples).
//
// Options: --epochs N (default 1: one pass over the 1.49 M training tokens fits
// 20 minutes on a 2-core CPU), --max-steps N (stop early, for a quick check of the whole path),
// --out DIR (default src/pretrained/lm), --threads N (default 2).

import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import {
  causalLmWindows,
  createBackend,
  DecoderLM,
  generate,
  initDecoderWeights,
  LmTrainer,
  loadBrownCorpus,
  nodeFolder,
  parseLmConfig,
  saveMergedLm,
  Tokenizer,
  trainBpe,
} from '../dist/node.js';

const { values } = parseArgs({
  options: {
    epochs: { type: 'string', default: '1' },
    'max-steps': { type: 'string' },
    out: { type: 'string', default: 'src/pretrained/lm' },
    threads: { type: 'string', default: '2' },
  },
});
const positive = (name, text) => {
  const n = Number(text);
  if (!(Number.isInteger(n) && n >= 1)) throw new TypeError(`--${name} must be an integer ≥ 1, got "${text}"`);
  return n;
};
const epochs = positive('epochs', values.epochs);
const maxSteps = values['max-steps'] === undefined ? null : positive('max-steps', values['max-steps']);
const threads = positive('threads', values.threads);
const out = values.out;

const VOCAB = 4096;
const SEQ_LEN = 128;
const BATCH = 16;
const LR = 3e-3;
const MIN_LR = 3e-4;
const WARMUP = 100;
const WEIGHT_DECAY = 0.1;
const SEED = 0;
const PROMPTS = ['The jury said', 'In the morning', 'He looked at her and', 'The government of the United States'];

const log = (line) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);
const started = performance.now();

const { train, validation } = await loadBrownCorpus();
const trainTexts = train.map((t) => t.text);
const validationTexts = validation.map((t) => t.text);
log(`Brown: ${train.length} training texts, ${validation.length} held out`);

const bpe = trainBpe(trainTexts, { vocabSize: VOCAB });
const tokenizer = Tokenizer.fromJSON(bpe.json, bpe.config);
const eos = tokenizer.eosId;
log(`tokenizer: ${VOCAB} ids, EOS ${eos} (${((performance.now() - started) / 1000).toFixed(1)} s)`);

const configJson = {
  architectures: ['LlamaForCausalLM'],
  model_type: 'llama',
  vocab_size: VOCAB,
  hidden_size: 128,
  num_hidden_layers: 4,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  head_dim: 32,
  intermediate_size: 384,
  hidden_act: 'silu',
  rms_norm_eps: 1e-5,
  rope_theta: 10000,
  max_position_embeddings: 256,
  tie_word_embeddings: false,
  attention_bias: false,
  mlp_bias: false,
  initializer_range: 0.02,
  bos_token_id: eos,
  eos_token_id: eos,
  torch_dtype: 'float16',
};
const config = parseLmConfig(configJson);
const weights = initDecoderWeights(config, SEED);
const parameters = [...weights.values()].reduce((n, t) => n + t.data.length, 0);

const trainRows = causalLmWindows(tokenizer, trainTexts, { seqLen: SEQ_LEN });
const validationRows = causalLmWindows(tokenizer, validationTexts, { seqLen: SEQ_LEN });
const firstValidation = causalLmWindows(tokenizer, [validationTexts[0]], { seqLen: SEQ_LEN });
const tokens = (rows) => rows.lengths.reduce((a, n) => a + n, 0);
log(
  `${parameters} parameters; ${trainRows.shape[0]} training windows (${tokens(trainRows)} tokens), ` +
    `${validationRows.shape[0]} held out (${tokens(validationRows)} tokens)`,
);

const backend = await createBackend({ prefer: 'wasm', threads });
const full = { method: 'full', rank: 0, kernelHeads: 0, sparsity: 0, targets: [] };
const model = new DecoderLM(backend, config, weights, { plan: full, seed: SEED });
const trainer = new LmTrainer(model);
const stop = new AbortController();
let steps = 0;
let lastRate = 0;
const trainStarted = performance.now();
const epochEvents = await trainer.fit(trainRows, {
  epochs,
  batchSize: BATCH,
  lr: LR,
  minLr: MIN_LR,
  warmupSteps: WARMUP,
  weightDecay: WEIGHT_DECAY,
  seed: SEED,
  validation: validationRows,
  evalBatchSize: 32,
  signal: stop.signal,
  onStep: (e) => {
    steps = e.step + 1;
    lastRate = e.tokensPerSecond;
    if (e.step % 50 === 0)
      log(
        `step ${e.step} epoch ${e.epoch} loss ${e.loss.toFixed(4)} lr ${e.lr.toExponential(2)} ${e.tokensPerSecond.toFixed(0)} tok/s`,
      );
    if (maxSteps !== null && steps >= maxSteps) stop.abort();
  },
  onEpoch: (e) =>
    log(
      `epoch ${e.epoch}: train loss ${e.loss.toFixed(4)}, ${e.steps} steps, ${e.seconds.toFixed(1)} s` +
        (e.validation
          ? `, validation loss ${e.validation.loss.toFixed(4)} perplexity ${e.validation.perplexity.toFixed(2)}`
          : ''),
    ),
});
const trainSeconds = (performance.now() - trainStarted) / 1000;
const first = await trainer.evaluate(firstValidation, 32);
const final = epochEvents.at(-1)?.validation ?? (await trainer.evaluate(validationRows, 32));
log(
  `held out: perplexity ${final.perplexity.toFixed(2)}; first validation text (${validation[0].id}) ${first.perplexity.toFixed(3)}`,
);

const samples = [];
for (const prompt of PROMPTS) {
  const ids = tokenizer.encode(prompt);
  const text = async (options) =>
    tokenizer.decode(await generate(model, ids, { maxNewTokens: 32, stopTokens: [eos], ...options }), {
      skipSpecialTokens: true,
    });
  samples.push({
    prompt,
    greedy: await text({ temperature: 0 }),
    sampled: await text({ temperature: 0.8, topK: 40, seed: 0 }),
  });
}

const peakPools = model.memory().peakTotal;
mkdirSync(out, { recursive: true });
const folder = nodeFolder(out);
await saveMergedLm(
  folder,
  model,
  { weights, config, layout: { arch: 'llama', prefix: 'model.' }, sourceConfig: configJson },
  { dtype: 'F16' },
);
writeFileSync(`${out}/tokenizer.json`, `${JSON.stringify(bpe.json)}\n`);
writeFileSync(`${out}/tokenizer_config.json`, `${JSON.stringify(bpe.config, null, 2)}\n`);
backend.destroy();

const seconds = (performance.now() - started) / 1000;
const rssMiB = process.resourceUsage().maxRSS / 1024;
const mib = (bytes) => (bytes / 2 ** 20).toFixed(1);
const stoppedEarly = maxSteps !== null && steps < epochs * Math.ceil(trainRows.shape[0] / BATCH);
const epochLines = epochEvents.map(
  (e) =>
    `| ${e.epoch + 1} | ${e.steps} | ${e.loss.toFixed(4)} | ${e.validation ? e.validation.loss.toFixed(4) : '–'} | ` +
    `${e.validation ? e.validation.perplexity.toFixed(2) : '–'} | ${e.seconds.toFixed(1)} |`,
);
const quote = (s) => s.replace(/\s+/g, ' ').trimEnd();
const sampleLines = samples.flatMap((s) => [
  `- greedy: **${s.prompt}**${quote(s.greedy)}`,
  `- temperature 0.8, top-k 40, seed 0: **${s.prompt}**${quote(s.sampled)}`,
]);
writeFileSync(
  `${out}/TRAINING.md`,
  `# The embedded language model

A small LLaMA pretrained from scratch on the Brown corpus, embedded in the package so the text
examples run offline (\`embeddedLmCheckpoint()\`, src/pretrained/lm/index.ts).${stoppedEarly ? `\n\n**Stopped after ${steps} steps (--max-steps): not the full recipe.**` : ''}

- Architecture: LLaMA (model_type llama): vocab 4096, hidden 128, 4 layers, 4 query heads and
  2 key/value heads of width 32, SwiGLU MLP 384, RMSNorm ε 1e-5, RoPE θ 10000, 256 positions,
  untied lm_head. ${parameters} parameters, stored as F16 (transformers' names).
- Tokenizer: byte-level BPE (GPT-2's pre-tokenization), 4096 ids, "<|endoftext|>" (id ${eos}) as BOS,
  EOS and padding, trained by \`trainBpe\` on the Brown training texts.
- Data: the Brown corpus's 500 texts without tags; every 10th text of cats.txt held out
  (${train.length} training, ${validation.length} validation). Each text is followed by EOS, the texts make one
  token stream cut into windows of ${SEQ_LEN} tokens: ${trainRows.shape[0]} training windows
  (${tokens(trainRows)} tokens), ${validationRows.shape[0]} validation windows (${tokens(validationRows)} tokens).
- Made by \`npm run pretrain:lm\` (scripts/pretrain-lm.mjs): full training, ${epochs} epoch(s), batch ${BATCH},
  AdamW (lr ${LR}, β = (0.9, 0.999), weight decay ${WEIGHT_DECAY} on matrices only), ${WARMUP} warmup steps then
  cosine decay to ${MIN_LR}, seed ${SEED}, initialisation N(0, 0.02²) (transformers' LLaMA), Wasm backend,
  ${threads} threads.

| epoch | steps | train loss | validation loss | validation perplexity | seconds |
| ---: | ---: | ---: | ---: | ---: | ---: |
${epochLines.join('\n')}

- **Validation perplexity ${final.perplexity.toFixed(2)}** (loss ${final.loss.toFixed(4)} over ${final.count} predicted
  tokens; a uniform guess over 4096 ids has perplexity 4096).
- First validation text (${validation[0].id}) alone, ${firstValidation.shape[0]} windows of ${SEQ_LEN}: perplexity
  ${first.perplexity.toFixed(3)} (float32 training weights; the test recomputes it from the F16 file).
- Recorded on ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'} (Node ${process.versions.node}, Wasm
  backend, ${threads} threads, shared with other work): training ${trainSeconds.toFixed(1)} s, ${steps} steps, last
  reported ${lastRate.toFixed(0)} tokens/s; ${seconds.toFixed(1)} s in all (tokenizer, evaluation, samples and
  writing included). Peak memory: the model's pools ${mib(peakPools)} MiB, the process ${rssMiB.toFixed(1)} MiB (max RSS).

Samples from fixed prompts (the prompt in bold, then at most 32 new tokens, stopping at EOS):

${sampleLines.join('\n')}
`,
);
log(`wrote ${out} (${seconds.toFixed(1)} s)`);
