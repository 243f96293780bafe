// snell train: fine-tune (or, with --model scratch --method full, train from scratch) on a data set,
// evaluate on its test split, and write the adapter (or the full checkpoint) to --out.
// Ctrl-C or SIGTERM stops after the current step and saves what was learned, with training_state.json
// (exit status 130 or 143; a second signal quits at once);
// --resume DIR starts again from such a save. A lost WebGPU device takes the run on from its newest
// checkpoint on a new device, or on Wasm when none comes.

import { type BackendKind, DeviceLostError } from '../backend.js';
import { loadAdapter, referenceSparsities, saveAdapter } from '../io/adapter.js';
import { saveCheckpoint, withFreshHead } from '../io/checkpoint.js';
import { mergeAdapter } from '../io/merge.js';
import type { FileSystem } from '../io/file-system.js';
import { writeText } from '../io/source.js';
import type { Weights } from '../core/weights.js';
import { ViT } from '../model/vit.js';
import type { AdamWSnapshot } from '../train/adamw.js';
import { MAX_RECOVERIES, replacementBackend } from '../train/recover.js';
import { NonFiniteLossError } from '../train/fit-options.js';
import { Trainer } from '../train/trainer.js';
import { type Command, type Flag, type Flags, UsageError } from './args.js';
import type { Host, StopSignal } from './host.js';
import { progress } from './progress.js';
import { ALLOCATOR_FLAGS, allocatorFromFlags } from './allocator-flags.js';
import { RECIPES } from './recipes.js';
import { AllocationLog, writeReport } from './report.js';
import { findRunCheckpoint, readRunCheckpoint, writeRunCheckpoint } from './run-checkpoint.js';
import { DATA_FLAGS, loadData, loadModel, MODEL_FLAGS, type ModelSource, planFromFlags, PLAN_FLAGS } from './setup.js';

/** Exit statuses after a stop by signal, as shells report them (128 + the signal's number). */
const EXIT_CODE: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

/**
 * The peak learning rate when --lr is not given: the best mean test accuracy of each method's sweep
 * (3 seeds) on the embedded model and MNIST VTAB-1k with the other defaults (bench/methods.mjs): snell
 * 2e-2 / 5e-2 / 1e-1 / 2e-1, lora 2e-3 / 5e-3 / 1e-2 / 2e-2, full 5e-4 / 1e-3 / 2e-3 / 5e-3, linear 2e-2 /
 * 5e-2 / 1e-1. The kernel methods take SNELL's, dense ΔW full fine-tuning's.
 */
export const DEFAULT_LR: Record<string, number> = {
  snell: 1e-1,
  snella: 1e-1,
  'snella-kernel': 1e-1,
  klora: 1e-1,
  lora: 1e-2,
  dense: 2e-3,
  full: 2e-3,
  linear: 5e-2,
};

export const TRAIN_FLAGS = {
  ...MODEL_FLAGS,
  ...DATA_FLAGS,
  ...PLAN_FLAGS,
  ...ALLOCATOR_FLAGS,
  epochs: { type: 'number', help: 'passes over the training split', default: 20, range: { min: 1, integer: true } },
  batch: { type: 'number', help: 'images per step', default: 32, range: { min: 1, integer: true } },
  lr: {
    type: 'number',
    range: { min: 0, openMin: true },
    help: `peak learning rate (AdamW); default by method: ${Object.entries(DEFAULT_LR)
      .map(([m, lr]) => `${m} ${lr}`)
      .join(', ')}`,
  },
  'weight-decay': {
    type: 'number',
    help: 'AdamW weight decay (not on biases, 1-D tensors, cls_token, pos_embed)',
    default: 1e-4,
    range: { min: 0 },
  },
  'drop-path': {
    type: 'number',
    help: "stochastic depth of the blocks' residuals while training, rising linearly over the blocks to this rate (timm's drop_path_rate)",
    default: 0.1,
    range: { min: 0, max: 1, openMax: true },
  },
  'keep-head': {
    type: 'boolean',
    help: "start from the checkpoint's classifier head when its class count matches the data (default: a fresh head, as for a new task)",
  },
  select: {
    type: 'string',
    choices: ['best-val', 'last'],
    default: 'best-val',
    help: 'the model kept and tested: the epoch with the best validation accuracy (needs a validation split: --split vtab1k), or the last',
  },
  schedule: {
    type: 'string',
    help: 'the learning rate changes every step, or once per epoch as the reference trains',
    choices: ['step', 'epoch'],
    default: 'step',
  },
  warmup: {
    type: 'number',
    help: 'linear warmup steps before the cosine decay (--schedule step)',
    default: 20,
    range: { min: 0, integer: true },
  },
  'warmup-epochs': {
    type: 'number',
    help: 'linear warmup epochs before the cosine decay (--schedule epoch)',
    default: 10,
    range: { min: 0, integer: true },
  },
  'warmup-lr': { type: 'number', help: 'learning rate the warmup starts from', default: 0, range: { min: 0 } },
  'min-lr': { type: 'number', help: 'floor of the cosine decay', default: 0, range: { min: 0 } },
  recipe: {
    type: 'string',
    choices: Object.keys(RECIPES),
    presets: RECIPES,
    help: "a published recipe's hyper-parameters as defaults (snell-vtab: the SNELL authors' VTAB-1k scripts; src/cli/recipes.ts lists each value and its source); flags given still win",
  },
  'max-grad-norm': { type: 'number', help: 'clip the global gradient norm (0: off)', default: 0, range: { min: 0 } },
  out: { type: 'string', help: 'folder for the adapter (or, with --method full, the checkpoint)' },
  resume: {
    type: 'string',
    help:
      'continue the run saved in DIR (its --out, or one of its checkpoints) exactly, with its flags; ' +
      'given a plain adapter folder, start from its tensors with a fresh optimizer and schedule',
  },
  'save-every': {
    type: 'number',
    help: 'write a checkpoint to OUT/checkpoints every N steps (0: every epoch)',
    default: 0,
    range: { min: 0, integer: true },
  },
  keep: { type: 'number', help: 'checkpoints kept (the newest)', default: 2, range: { min: 1, integer: true } },
  'on-nonfinite': {
    type: 'string',
    help: 'a NaN or infinite loss: stop the run (saving nothing), or skip that step and count it',
    choices: ['stop', 'skip'],
    default: 'stop',
  },
  dtype: { type: 'string', help: 'float type of saved tensors', choices: ['F32', 'F16'], default: 'F32' },
  json: { type: 'boolean', help: 'print one JSON object per event instead of the progress bar' },
  report: {
    type: 'string',
    help: "write pictures of the run to DIR when it ends: each adapted layer's kept entries (kept-<layer>.png); snella also allocation.json and sparsity.svg",
  },
} as const;

export const train: Command = {
  summary:
    'fine-tune with SNELL (or LoRA, full, linear probe) and evaluate; save the adapter (a language model: snell train --model embedded-lm --help)',
  synopsis: '[--model DIR|embedded|scratch] [--data mnist|fashion-mnist|DIR] [--method snell] [--out DIR] …',
  flags: TRAIN_FLAGS,
  run,
};

/** Flags that may differ on --resume: none of them changes what the resumed steps compute. */
const FREE_ON_RESUME = new Set(['resume', 'out', 'epochs', 'save-every', 'keep', 'json', 'report']);

/** The run's own flags, with the ones given now that may change; any other given flag that differs is an error. */
function resumedFlags(saved: Flags, given: Flags): Flags {
  const flags: Flags = { ...saved };
  for (const [name, value] of Object.entries(given)) {
    // a value equal to the flag's default is taken as not given (parsing fills in defaults)
    if (value === undefined || value === (TRAIN_FLAGS as Record<string, Flag>)[name]?.default) continue;
    if (FREE_ON_RESUME.has(name)) flags[name] = value;
    else if (value !== saved[name]) {
      throw new UsageError(
        `--${name} ${value} differs from the run being resumed (${saved[name]}): ` +
          `a resumed run keeps its flags; only ${[...FREE_ON_RESUME]
            .filter((f) => f !== 'resume')
            .map((f) => `--${f}`)
            .join(', ')} may change`,
      );
    }
  }
  return flags;
}

/**
 * Where a model starts: the run's first step, or a checkpoint folder (by --resume, or after a lost
 * device). A checkpoint with SNELLA's allocator state starts every layer at the plan's one initial
 * sparsity, as the allocator requires; restoring its snapshot then sets each layer's own.
 */
async function startingModel(
  host: Host,
  flags: Flags,
  source: ModelSource,
  classes: number,
  dir: string | null,
  first: boolean,
  allocatorRestores: boolean,
) {
  const seed = flags.seed as number;
  if (flags.method === 'full' && dir !== null) {
    const { weights, config } = (await loadModel(dir, seed, host.files)).checkpoint;
    return { weights: weights as Weights, config, plan: planFromFlags(flags) };
  }
  if (dir !== null) {
    const a = await loadAdapter(host.files.folder(dir), source.checkpoint);
    return allocatorRestores && a.plan ? { ...a, plan: { ...a.plan, layerSparsity: undefined } } : a;
  }
  let { weights, config } = source.checkpoint;
  if (first && flags.resume && config.classes !== classes) {
    throw new Error(`the adapter in ${flags.resume} has a ${config.classes}-class head, ${flags.data} has ${classes} classes`);
  }
  // a new task starts from a fresh head, as the reference does; --keep-head keeps a matching one
  if (!flags.resume && (!flags['keep-head'] || config.classes !== classes)) {
    ({ weights, config } = withFreshHead({ weights, config }, classes, seed));
  }
  return { weights, config, plan: planFromFlags(flags) };
}

async function run(given: Flags, _positional: string[], host: Host): Promise<number> {
  const { files } = host;
  const started = performance.now();
  const resumeDir = given.resume ? await findRunCheckpoint(files, given.resume as string) : null;
  let from = resumeDir ? { dir: resumeDir, ...(await readRunCheckpoint(files, resumeDir)) } : null;
  const flags: Flags = from
    ? resumedFlags(from.state.flags, given)
    : { ...given, lr: given.lr ?? DEFAULT_LR[given.method as string] };
  const seed = flags.seed as number;
  const show = progress(Boolean(flags.json), host.stdout);
  // a plain adapter folder given to --resume (no run state) is where the weights start, with a fresh optimizer
  const plainAdapter = flags.resume && !from ? (flags.resume as string) : null;
  if (plainAdapter && flags.method === 'full')
    throw new UsageError(`--resume ${plainAdapter}: no run_state.json there or in its checkpoints/: nothing to resume`);
  const source = await loadModel(flags.model as string, seed, files);
  const data = await loadData(flags, source.geometry, host);
  if (from) show.info('resume', { from: from.dir, step: from.state.step }, `resuming ${from.dir} after step ${from.state.step}`);

  // The first SIGINT/SIGTERM stops after the current step and saves; a second exits at once (files on
  // disk are written to a temporary name and renamed, so none is left half-written).
  const stop = new AbortController();
  let stopSignal: StopSignal | undefined;
  const unsubscribe = host.onStopSignal((signal) => {
    if (stop.signal.aborted) host.exit(EXIT_CODE[signal]);
    stopSignal = signal;
    stop.abort();
    show.info(
      'stopping',
      { signal },
      `${signal}: stopping after this step and saving (${signal === 'SIGINT' ? 'Ctrl-C' : signal} again quits at once)`,
    );
  });
  let backend = await host.createBackend({ prefer: flags.backend as BackendKind | undefined });
  // checkpoints go to --out; a WebGPU run without one keeps them in a temporary folder, to continue after a lost device
  const out = flags.out as string | undefined;
  const scratch = !out && backend.kind === 'webgpu' ? await files.makeTempDir('snell-train-') : null;
  const checkpoints = out ?? scratch;
  const stepsPerEpoch = Math.ceil(data.train.size / (flags.batch as number));
  let lastStep = (from?.state.step ?? 0) - 1;
  const keepBest = flags.select === 'best-val' && data.val !== null;
  if (flags.select === 'best-val' && !data.val)
    show.info('select', { select: 'last' }, 'no validation split (--split full): the last model is kept and tested');
  let model: ViT | null = null;
  let trainer: Trainer | null = null;
  const allocations = new AllocationLog();
  const checkpoint = async (step: number, optimizer: AdamWSnapshot) => {
    const t0 = performance.now();
    const best = trainer?.best ?? null;
    const bestValidation = best ? { ...best.validation, step: best.step, epoch: best.epoch, sparsity: best.sparsity } : null;
    const allocator = (await trainer?.allocator?.snapshot()) ?? null;
    const dir = await writeRunCheckpoint(
      files,
      checkpoints!,
      { step, flags, bestValidation },
      optimizer,
      best,
      allocator,
      flags.keep as number,
      (d) => saveModel(files, model!, source.checkpoint, d, { ...flags, dtype: 'F32' }),
    ); // F32 whatever --dtype says: a resume must be exact
    show.info(
      'checkpoint',
      { step, dir, ms: performance.now() - t0 },
      `checkpoint after step ${step}: ${dir} (${(performance.now() - t0).toFixed(0)} ms)`,
    );
  };
  const teardown = () => {
    model?.dispose();
    backend.destroy();
  };
  try {
    for (let recoveries = 0; ; recoveries++) {
      const dir = from?.dir ?? plainAdapter;
      const start = await startingModel(
        host,
        flags,
        source,
        data.classes.length,
        dir,
        recoveries === 0,
        Boolean(from?.allocator),
      );
      model = new ViT(backend, start.config, start.weights, { plan: start.plan, seed, dropPath: flags['drop-path'] as number });
      trainer = new Trainer(model);
      const trainable = model.params().reduce((a, p) => a + p.tensor.size, 0);
      if (recoveries === 0) {
        show.info(
          'start',
          { backend: backend.kind, device: backend.description, method: flags.method, trainable, train: data.train.size },
          `${flags.method} on ${backend.kind} (${backend.description}): ${trainable} trainable parameters, ${data.train.size} training images`,
        );
      }
      try {
        await trainer.fit(data.train, {
          epochs: flags.epochs as number,
          batchSize: flags.batch as number,
          lr: flags.lr as number,
          weightDecay: flags['weight-decay'] as number,
          schedule: flags.schedule as 'step' | 'epoch',
          warmupSteps: flags.warmup as number,
          warmupEpochs: flags['warmup-epochs'] as number,
          warmupLr: flags['warmup-lr'] as number,
          minLr: flags['min-lr'] as number,
          maxGradNorm: (flags['max-grad-norm'] as number) > 0 ? (flags['max-grad-norm'] as number) : null,
          seed,
          validation: data.val ?? undefined,
          keepBest,
          signal: stop.signal,
          resume: from
            ? { step: from.state.step, optimizer: from.optimizer, best: from.best, allocator: from.allocator ?? undefined }
            : undefined,
          allocator: allocatorFromFlags(flags),
          onAllocation: (a) => {
            allocations.add(a);
            show.allocation(a);
          },
          onNonFinite: flags['on-nonfinite'] as 'stop' | 'skip',
          onSkip: (e) => show.info('skipped', e, `step ${e.step + 1}: loss ${e.loss}, step skipped (--on-nonfinite skip)`),
          checkpointEvery: checkpoints ? (flags['save-every'] as number) || stepsPerEpoch : undefined,
          onCheckpoint: checkpoints ? async (c) => checkpoint(c.step, await c.optimizer.snapshot()) : undefined,
          onStep: (e) => {
            lastStep = e.step;
            show.step(e, stepsPerEpoch);
          },
          onEpoch: (e) => show.epoch(e, flags.epochs as number),
        });
        break;
      } catch (e) {
        if (!(e instanceof DeviceLostError) || recoveries === MAX_RECOVERIES) throw e;
        // start again from the newest checkpoint (or the beginning) on whatever backend comes
        teardown();
        model = null;
        const dir = checkpoints ? await findRunCheckpoint(files, checkpoints) : null;
        from = dir ? { dir, ...(await readRunCheckpoint(files, dir)) } : null;
        lastStep = (from?.state.step ?? 0) - 1;
        const next = await replacementBackend(host.createBackend, e);
        backend = next.backend;
        show.done();
        show.info(
          'device-lost',
          { step: e.step, backend: backend.kind, device: backend.description, resumeStep: from?.state.step ?? 0 },
          `snell: ${next.note}, from ${from ? `the checkpoint after step ${from.state.step}` : 'the first step (no checkpoint yet)'}`,
        );
      }
    }
  } catch (e) {
    if (!(e instanceof NonFiniteLossError)) throw e;
    // nothing is saved: the parameters of a diverged run would overwrite a good adapter with NaN
    show.done();
    show.info('diverged', { step: e.step, loss: e.loss }, `snell: ${e.message}; nothing was saved${out ? ` to ${out}` : ''}`);
    teardown();
    return 1;
  } finally {
    unsubscribe();
    if (scratch) await files.remove(scratch);
  }
  const [m, t] = [model!, trainer!];
  show.done();
  // what was kept: the best validation epoch (the trainer ended with its parameters), or the last step
  const best = keepBest && !stop.signal.aborted ? t.best : null;
  const selected = best ? { epoch: best.epoch + 1, step: best.step, validation: best.validation } : { step: lastStep + 1 };
  if (best)
    show.info(
      'selected',
      selected,
      `kept epoch ${best.epoch + 1} (after step ${best.step}): best validation accuracy ${(100 * best.validation.accuracy).toFixed(2)}%`,
    );
  if (out) {
    await saveModel(files, m, source.checkpoint, out, flags);
    await writeText(
      files.folder(out),
      'training_state.json',
      `${JSON.stringify({ interrupted: stop.signal.aborted, step: lastStep, selected, flags }, null, 2)}\n`,
    );
  }
  if (stop.signal.aborted && out) await checkpoint(lastStep + 1, (await t.optimizerSnapshot())!);
  if (flags.report) {
    const r = await writeReport(files, flags.report as string, m, allocations.epochs);
    show.info('report', { dir: r.dir, files: r.files }, `report: ${r.files.length} files in ${r.dir}`);
  }
  if (stop.signal.aborted) {
    show.info('interrupted', { step: lastStep, out }, `stopped at step ${lastStep + 1}${out ? `; saved to ${out}` : ''}`);
    teardown();
    return EXIT_CODE[stopSignal ?? 'SIGINT'];
  }
  const test = data.test ? await t.evaluate(data.test, 256) : null;
  const seconds = (performance.now() - started) / 1000;
  const peak = m.memory().peakTotal;
  const trainable = m.params().reduce((a, p) => a + p.tensor.size, 0);
  show.info(
    'result',
    {
      method: flags.method,
      trainable,
      test,
      selected,
      peakBytes: peak,
      seconds,
      backend: backend.kind,
      ...(t.allocator && { sparsity: referenceSparsities(m) }),
    },
    `${flags.method}: ${trainable} trainable parameters, ` +
      (test ? `test accuracy ${(100 * test.accuracy).toFixed(2)}% (${test.samples} images), ` : 'no test split, ') +
      `peak memory ${(peak / 2 ** 20).toFixed(1)} MiB, ${seconds.toFixed(1)} s`,
  );
  teardown();
  return 0;
}

/** The adapter (or, for full fine-tuning, the merged checkpoint) into `out`. */
async function saveModel(files: FileSystem, model: ViT, base: ModelSource['checkpoint'], out: string, flags: Flags) {
  await files.mkdir(out);
  const folder = files.folder(out);
  const dtype = flags.dtype as 'F32' | 'F16';
  if (model.options.plan?.method === 'full') {
    const weights = await mergeAdapter(model, base.weights);
    await saveCheckpoint(folder, weights, model.config, base.layout, { dtype, sourceConfig: base.sourceConfig });
  } else {
    await saveAdapter(folder, model, { baseModel: flags.model as string, baseNaming: base.layout.naming, dtype });
  }
}
