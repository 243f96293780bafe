// snell train with a decoder language model (--model a transformers checkpoint folder or embedded-lm):
// fine-tune on text (lm-text-data.ts says what --data takes and how it is held out), report the
// held-out perplexity (causal LM) or accuracy (classify) before and after, samples before and after
// (--samples), the memory by pool, and write the adapter (saveLmAdapter; --method full: the whole
// checkpoint with the tokenizer) to --out.
// Ctrl-C or SIGTERM stops after the current step and saves what was learned to --out (exit status
// 130 or 143; a second signal quits at once); there is no --resume for a language model's run.

import type { BackendKind } from '../backend.js';
import { saveLmAdapter } from '../io/lm-adapter.js';
import { saveMergedLm } from '../io/lm-merge.js';
import { readText, writeText } from '../io/source.js';
import { type DecoderPlan, targetNames } from '../model/decoder/config.js';
import { DecoderLM, type DecoderTask } from '../model/decoder/lm.js';
import { NonFiniteLossError } from '../train/fit-options.js';
import { LmTrainer } from '../train/lm-trainer.js';
import type { LmEvaluation } from '../train/lm-passes.js';
import type { Command, Flag, Flags } from './args.js';
import { UsageError } from './args.js';
import type { Host, StopSignal } from './host.js';
import { ALLOCATOR_FLAGS, allocatorFromFlags, SNELLA_INITIAL_SPARSITY } from './allocator-flags.js';
import { allocationLine, allocationRecord } from './progress.js';
import { evaluationText, lmProgress, memoryText, mib } from './lm-progress.js';
import { drawSamples, SAMPLE_SAMPLING } from './lm-samples.js';
import { EMBEDDED_LM, type LmSource, loadLmSource } from './lm-source.js';
import { loadLmData } from './lm-text-data.js';
import { DEFAULT_SPARSITY } from './setup.js';

const EXIT_CODE: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

export const LM_METHODS = ['snell', 'snella', 'klora', 'lora', 'dense', 'full', 'head'] as const;

/**
 * The peak learning rate when --lr is not given. snell and lora: the best held-out perplexity of
 * bench/lm-task.mjs's sweep (an early, 30-step embedded-lm on spam-assassin, 256 windows of 128,
 * 1 epoch, batch 8, seed 0; not repeated on the final model): snell 1e-2 / 3e-2 / 1e-1 → 1724.6 / 1715.9 / 1674.3, lora 2e-3 / 1e-2 → 1724.3 / 1642.9, the
 * same rates as the ViT sweep picked (train.ts); snella and klora take SNELL's, dense the ViT's.
 * full and head were not swept.
 */
export const LM_DEFAULT_LR: Record<(typeof LM_METHODS)[number], number> = {
  snell: 1e-1,
  snella: 1e-1,
  klora: 1e-1,
  lora: 1e-2,
  dense: 2e-3,
  full: 5e-4,
  head: 1e-3,
};

/** The longest windows (or texts) when --seq-len is not given, or the model's positions when fewer. */
export const DEFAULT_SEQ_LEN = 128;

export const TRAIN_LM_FLAGS: Record<string, Flag> = {
  ...ALLOCATOR_FLAGS,
  model: {
    type: 'string',
    help: 'a decoder checkpoint folder (config.json of a llama, qwen2, mistral, gpt2… model, model.safetensors, tokenizer.json, tokenizer_config.json) or embedded-lm',
    default: EMBEDDED_LM,
  },
  backend: {
    type: 'string',
    help: 'force a backend (default: WebGPU when an adapter exists, else Wasm)',
    choices: ['webgpu', 'wasm'],
  },
  data: {
    type: 'string',
    help: 'FILE.txt (causal LM; documents split at blank lines and form feeds), DIR of class sub-folders of .txt files (classify), spam-assassin or brown',
  },
  task: {
    type: 'string',
    choices: ['causal', 'classify'],
    help: 'causal (next-token LM) or classify (a class per text); default: classify for a folder, else causal',
  },
  seed: {
    type: 'number',
    help: 'seed of the held-out split, the initialisation, the shuffling and the samples',
    default: 0,
    range: { min: 0, integer: true },
  },
  'seq-len': {
    type: 'number',
    help: `tokens per window or text (default ${DEFAULT_SEQ_LEN}, or the model's positions when fewer)`,
    range: { min: 2, integer: true },
  },
  'train-examples': {
    type: 'number',
    help: 'train on the first N of a seeded permutation of the training rows (0: all)',
    default: 0,
    range: { min: 0, integer: true },
  },
  'test-examples': {
    type: 'number',
    help: 'evaluate on the first N of a seeded permutation of the held-out rows (0: all)',
    default: 0,
    range: { min: 0, integer: true },
  },
  method: { type: 'string', help: 'what trains', choices: LM_METHODS, default: 'snell' },
  rank: { type: 'number', help: 'rank r of the branches', default: 8, range: { min: 1, integer: true } },
  'kernel-heads': {
    type: 'number',
    help: 'kernel heads H of snell, snella, klora (lora uses 1)',
    default: 2,
    range: { min: 1, integer: true },
  },
  sparsity: {
    type: 'number',
    help: `sparsity s of snell (default ${DEFAULT_SPARSITY}) and snella (its starting s, which the allocator then moves; default ${SNELLA_INITIAL_SPARSITY}); 0 for the others`,
    range: { min: 0, max: 1, openMax: true },
  },
  targets: {
    type: 'string',
    help: "projections carrying branches, PEFT's names joined by commas (default: every projection of the arch)",
  },
  layers: { type: 'string', help: 'layers first:last (last excluded) carrying branches (default all)' },
  epochs: { type: 'number', help: 'passes over the training rows', default: 1, range: { min: 1, integer: true } },
  batch: { type: 'number', help: 'windows (or texts) per step', default: 8, range: { min: 1, integer: true } },
  lr: {
    type: 'number',
    range: { min: 0, openMin: true },
    help: `peak learning rate (AdamW, cosine decay); default by method (snell, lora: a small sweep, src/cli/train-lm.ts; the rest not swept): ${Object.entries(
      LM_DEFAULT_LR,
    )
      .map(([m, lr]) => `${m} ${lr}`)
      .join(', ')}`,
  },
  warmup: { type: 'number', help: 'linear warmup steps before the cosine decay', default: 10, range: { min: 0, integer: true } },
  'weight-decay': { type: 'number', help: 'AdamW weight decay', default: 0, range: { min: 0 } },
  'max-grad-norm': {
    type: 'number',
    help: 'clip the global gradient norm (0: off); default 1, and off for snella, whose allocator scores the unclipped gradients',
    range: { min: 0 },
  },
  samples: {
    type: 'number',
    help: 'samples to generate before and after training (causal LM)',
    default: 0,
    range: { min: 0, integer: true },
  },
  prompt: { type: 'string', help: `the samples' prompt (default: cycle through a fixed set, src/cli/lm-samples.ts)` },
  'sample-tokens': { type: 'number', help: 'new tokens per sample', default: 40, range: { min: 1, integer: true } },
  out: { type: 'string', help: 'folder for the adapter (or, with --method full, the checkpoint and its tokenizer)' },
  dtype: { type: 'string', help: 'float type of saved tensors', choices: ['F32', 'F16'], default: 'F32' },
  json: { type: 'boolean', help: 'print one JSON object per event instead of the progress lines' },
};

export const trainLm: Command = {
  summary: 'fine-tune a decoder language model on text and evaluate; save the adapter',
  synopsis: '--model DIR|embedded-lm --data FILE.txt|DIR|spam-assassin|brown [--method snell] [--out DIR] …',
  flags: TRAIN_LM_FLAGS,
  run: trainLmRun,
};

/** "first:last" → [first, last). */
function parseLayers(text: string, layers: number): [number, number] {
  const m = /^(\d+):(\d+)$/.exec(text);
  const [first, last] = m ? [Number(m[1]), Number(m[2])] : [Number.NaN, Number.NaN];
  if (!(first < last && last <= layers))
    throw new UsageError(
      `--layers ${text} must be first:last with 0 ≤ first < last ≤ ${layers} (the model's layers; last excluded)`,
    );
  return [first, last];
}

export function lmPlanFromFlags(flags: Flags, source: LmSource): DecoderPlan {
  const method = flags.method as string;
  if (!(LM_METHODS as readonly string[]).includes(method))
    throw new UsageError(`--method ${method} is not a language model's method: use one of ${LM_METHODS.join(', ')}`);
  const c = source.base.config;
  const names = targetNames(c.arch);
  const targets = flags.targets ? (flags.targets as string).split(',').map((t) => t.trim()) : names;
  const unknown = targets.filter((t) => !names.includes(t));
  if (unknown.length)
    throw new UsageError(
      `--targets ${unknown.join(',')}: not a projection of a ${c.arch} model; its projections: ${names.join(', ')}`,
    );
  const kernel = method === 'snell' || method === 'snella' || method === 'klora';
  const rank = flags.rank as number;
  const kernelHeads = kernel ? (flags['kernel-heads'] as number) : 1;
  if (kernel && rank % kernelHeads !== 0)
    throw new UsageError(`--rank ${rank} must be a multiple of --kernel-heads ${kernelHeads}`);
  const given = flags.sparsity as number | undefined;
  const sparsity =
    method === 'snell' ? (given ?? DEFAULT_SPARSITY) : method === 'snella' ? (given ?? SNELLA_INITIAL_SPARSITY) : 0;
  if (given !== undefined && method !== 'snell' && method !== 'snella')
    throw new UsageError(`--sparsity is snell's and snella's; ${method} has none: drop it`);
  return {
    method: method as DecoderPlan['method'],
    rank,
    kernelHeads,
    sparsity,
    targets,
    ...(flags.layers !== undefined && { layers: parseLayers(flags.layers as string, c.layers) }),
  };
}

async function trainLmRun(flags: Flags, _positional: string[], host: Host): Promise<number> {
  const started = performance.now();
  const show = lmProgress(Boolean(flags.json), host.stdout);
  const source = await loadLmSource(flags.model as string, host.files);
  const c = source.base.config;
  const plan = lmPlanFromFlags(flags, source);
  const seqLen = (flags['seq-len'] as number | undefined) ?? Math.min(DEFAULT_SEQ_LEN, c.maxPositions);
  if (seqLen > c.maxPositions)
    throw new UsageError(`--seq-len ${seqLen} exceeds the model's ${c.maxPositions} positions: give at most ${c.maxPositions}`);
  const data = await loadLmData(flags, source.tokenizer, seqLen, host);
  if (data.task === 'classify' && plan.method === 'full' && flags.out)
    throw new UsageError(
      "--method full saves a causal LM checkpoint, which has no place for a classifier's score: use a branch method or head to save a classifier",
    );
  const seed = flags.seed as number;
  const lr = (flags.lr as number | undefined) ?? LM_DEFAULT_LR[plan.method as keyof typeof LM_DEFAULT_LR];
  const task: DecoderTask =
    data.task === 'classify' ? { kind: 'classify', classes: data.classes!.length } : { kind: 'causal-lm' };
  const loaded = (performance.now() - started) / 1000;
  show.info(
    'data',
    { description: data.description, train: data.train.shape[0], test: data.test.shape[0], seqLen, seconds: loaded },
    `${data.description}; model and data loaded and tokenized in ${loaded.toFixed(1)} s`,
  );

  const backend = await host.createBackend({ prefer: flags.backend as BackendKind | undefined });
  let model: DecoderLM;
  try {
    model = new DecoderLM(backend, c, source.base.weights, { plan, seed, task });
  } catch (e) {
    backend.destroy();
    throw e;
  }
  const trainer = new LmTrainer(model);
  const trainable = model.params().reduce((a, p) => a + p.tensor.size, 0);
  const samples = async (when: string) => {
    const n = flags.samples as number;
    if (!n) return;
    if (data.task === 'classify') {
      if (when === 'before') show.info('samples', { skipped: true }, 'no samples: a classifier has no language-model head');
      return;
    }
    const prompts = flags.prompt !== undefined ? [flags.prompt as string] : [];
    const drawn = await drawSamples(model, source.tokenizer, prompts, n, {
      ...SAMPLE_SAMPLING,
      maxNewTokens: flags['sample-tokens'] as number,
      seed,
    });
    show.info(
      'samples',
      { when, temperature: SAMPLE_SAMPLING.temperature, topK: SAMPLE_SAMPLING.topK, samples: drawn },
      `samples ${when} training (temperature ${SAMPLE_SAMPLING.temperature}, top-k ${SAMPLE_SAMPLING.topK}, seed ${seed} + i):\n` +
        drawn.map((s) => `  [${s.seed}] ${JSON.stringify(s.prompt + s.text)}`).join('\n'),
    );
  };
  const evalBatch = Math.max(flags.batch as number, 16);
  const stop = new AbortController();
  let stopSignal: StopSignal | undefined;
  const unsubscribe = host.onStopSignal((signal) => {
    if (stop.signal.aborted) host.exit(EXIT_CODE[signal]!);
    stopSignal = signal;
    stop.abort();
    show.info(
      'stopping',
      { signal },
      `${signal}: stopping after this step and saving (${signal === 'SIGINT' ? 'Ctrl-C' : signal} again quits at once)`,
    );
  });
  try {
    show.info(
      'start',
      { backend: backend.kind, device: backend.description, method: plan.method, trainable, lr, seqLen, task: data.task },
      `${plan.method} on ${backend.kind} (${backend.description}): ${trainable} trainable parameters, lr ${lr}, ` +
        `${data.train.shape[0]} training ${data.task === 'causal' ? 'windows' : 'texts'} of ≤ ${seqLen} tokens`,
    );
    const before = await trainer.evaluate(data.test, evalBatch);
    show.info('before', { test: before }, `held-out before training: ${evaluationText(before)}`);
    await samples('before');
    const stepsPerEpoch = Math.ceil(data.train.shape[0] / (flags.batch as number));
    const trainStarted = performance.now();
    let after: LmEvaluation | null = null;
    try {
      const epochs = await trainer.fit(data.train, {
        epochs: flags.epochs as number,
        batchSize: flags.batch as number,
        lr,
        warmupSteps: flags.warmup as number,
        weightDecay: flags['weight-decay'] as number,
        maxGradNorm: clipNorm(flags),
        seed,
        validation: data.test,
        evalBatchSize: evalBatch,
        signal: stop.signal,
        onStep: (e) => show.step(e, stepsPerEpoch),
        onEpoch: (e) => show.epoch(e, flags.epochs as number),
        allocator: allocatorFromFlags(flags),
        onAllocation: (a) => show.info('allocation', allocationRecord(a), allocationLine(a)),
      });
      after = epochs[epochs.length - 1]?.validation ?? null;
    } catch (e) {
      if (!(e instanceof NonFiniteLossError)) throw e;
      show.done();
      show.info('diverged', { step: e.step, loss: e.loss }, `snell: ${e.message}; nothing was saved (lower --lr)`);
      return 1;
    }
    const trainSeconds = (performance.now() - trainStarted) / 1000;
    show.done();
    const out = flags.out as string | undefined;
    if (out) {
      await saveLm(host, model, source, out, flags);
      show.info('saved', { out, method: plan.method }, `${plan.method === 'full' ? 'checkpoint' : 'adapter'} written to ${out}`);
    }
    if (stop.signal.aborted) {
      show.info(
        'interrupted',
        { step: trainer.steps, out },
        `stopped after step ${trainer.steps}${out ? `; saved to ${out}` : ''}`,
      );
      return EXIT_CODE[stopSignal ?? 'SIGINT']!;
    }
    after ??= await trainer.evaluate(data.test, evalBatch);
    await samples('after');
    const memory = model.memory();
    const seconds = (performance.now() - started) / 1000;
    show.info('memory', { peak: memory.peak, peakTotal: memory.peakTotal }, memoryText(memory));
    show.info(
      'result',
      {
        method: plan.method,
        task: data.task,
        trainable,
        before,
        after,
        peakBytes: memory.peakTotal,
        trainSeconds,
        seconds,
        backend: backend.kind,
      },
      `${plan.method}: ${trainable} trainable parameters; held-out ${data.task === 'causal' ? 'perplexity' : 'accuracy'} ` +
        `${resultValue(before)} → ${resultValue(after)}; peak memory ${mib(memory.peakTotal)}; ` +
        `training ${trainSeconds.toFixed(1)} s, ${seconds.toFixed(1)} s in all`,
    );
    return 0;
  } finally {
    unsubscribe();
    model.dispose();
    backend.destroy();
  }
}

const resultValue = (e: LmEvaluation) => (e.perplexity !== null ? e.perplexity.toFixed(2) : `${(100 * e.accuracy).toFixed(2)}%`);

/** The adapter, or for full fine-tuning the whole checkpoint with the base's tokenizer files. */
async function saveLm(host: Host, model: DecoderLM, source: LmSource, out: string, flags: Flags): Promise<void> {
  await host.files.mkdir(out);
  const folder = host.files.folder(out);
  const dtype = flags.dtype as 'F32' | 'F16';
  if (model.options.plan!.method === 'full') {
    await saveMergedLm(folder, model, source.base, { dtype });
    for (const file of ['tokenizer.json', 'tokenizer_config.json']) {
      const text = await readText(source.folder, file);
      if (text !== null) await writeText(folder, file, text);
    }
  } else await saveLmAdapter(folder, model, { baseModel: source.name, dtype });
}

/** --max-grad-norm, or its default: 1, and off for snella (the allocator scores unclipped gradients). */
function clipNorm(flags: Flags): number | null {
  const given = flags['max-grad-norm'] as number | undefined;
  if (flags.method === 'snella' && given !== undefined && given > 0)
    throw new UsageError(
      "--max-grad-norm with --method snella: SNELLA's allocator scores the gradients each step used, before any clipping; drop --max-grad-norm",
    );
  const norm = given ?? (flags.method === 'snella' ? 0 : 1);
  return norm > 0 ? norm : null;
}
