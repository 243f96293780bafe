// The training worker (a module Web Worker): builds the backend, the model and the data, trains with
// SNELL and reports every step to the page; then evaluates, saves the adapter or the merged model
// into memory for download, and classifies single images. A stop request arrives through a shared
// flag (the page is cross-origin isolated), since a Wasm training loop never yields to messages.
// Every CHECKPOINT_EVERY steps, and on Stop, the run is saved to IndexedDB (saved-run.ts), so that a
// reloaded or crashed tab can resume it; a lost WebGPU device takes the run on from that checkpoint.
// With SNELLA, each epoch's allocation goes to the page as a heat strip (sparsitySvg), and after each
// epoch the kept-entry map of the layer the page selected (keptMapOf, max-pooled to 256 × 256 at most).

import {
  type AdamWSnapshot,
  ALLOCATOR_DEFAULTS,
  type AllocatorOptions,
  type AllocatorSnapshot,
  type Backend,
  blobFolder,
  createBackend,
  type Dataset,
  decodeBrowser,
  DEFAULT_PLAN,
  DeviceLostError,
  type Geometry,
  geometryOf,
  ImageDataset,
  ImagePrep,
  type LabeledImages,
  loadAdapter,
  loadFolderEntries,
  type LoadedCheckpoint,
  MAX_RECOVERIES,
  keptImage,
  keptMapOf,
  type LayerAllocation,
  replacementBackend,
  saveAdapter,
  saveMerged,
  sparsitySvg,
  Trainer,
  ViT,
  withFreshHead,
} from 'snell-js';
import { advice } from './errors.js';
import { type Images, loadBase, loadBuiltin, loadFolder } from './load.js';
import type { FromWorker, StartRequest, Thumb, ToWorker } from './protocol.js';
import type { ChartData } from './chart.js';
import { clearRun, loadRun, type SavedRun, saveRun } from './saved-run.js';

interface Session {
  backend: Backend;
  base: LoadedCheckpoint;
  /** 'embedded' or the checkpoint file's name, recorded in the adapter. */
  baseName: string;
  model: ViT;
  trainer: Trainer;
  prep: ImagePrep;
  geometry: Geometry;
  data: Images;
  val: ImageDataset;
  grid: ImageDataset;
  training: boolean;
  /** SNELLA: the latest allocation, and the layer whose kept-entry map the page shows. */
  allocation: LayerAllocation | null;
  selected: string | null;
  epochsDone: number;
}

const GRID = 8;
let session: Session | null = null;
let stopFlag: Int32Array<ArrayBufferLike> = new Int32Array(1);
let stopRequested = false;

const post = (m: FromWorker) => postMessage(m);
post({ type: 'defaults', targetSparsity: ALLOCATOR_DEFAULTS.targetSparsity });

self.onmessage = async (e: MessageEvent<ToWorker | { type: 'stop-flag'; flag: SharedArrayBuffer }>) => {
  const m = e.data;
  try {
    if (m.type === 'stop-flag') stopFlag = new Int32Array(m.flag);
    else if (m.type === 'stop') stopRequested = true;
    else if (m.type === 'start') await start(m);
    else if (m.type === 'resume') await resume();
    else if (m.type === 'discard') await clearRun().then(savedSummary);
    else if (m.type === 'saved?') await savedSummary();
    else if (m.type === 'evaluate') await evaluate(need());
    else if (m.type === 'download') await download(need(), m.what);
    else if (m.type === 'classify') await classify(need(), m.file);
    else if (m.type === 'select-layer') await selectLayer(m.layer);
  } catch (err) {
    if (session) session.training = false;
    post({ type: 'error', text: advice(err) });
  }
};

function need(): Session {
  if (!session) throw new Error('nothing is trained yet: press Train first');
  if (session.training) throw new Error('training is still running: press Stop or wait for it to finish');
  return session;
}

const options = (g: Geometry) => ({ patch: g.patch, size: g.size, channels: g.channels });

/** Steps between the checkpoints kept in the browser's storage (and in memory, for a lost device). */
const CHECKPOINT_EVERY = 10;

/** The run's state after `step` steps, as the saved-run record holds it. */
async function snapshot(
  s: Session,
  r: StartRequest,
  step: number,
  optimizer: AdamWSnapshot,
  allocator: AllocatorSnapshot | undefined,
  history: ChartData,
  stepsPerEpoch: number,
): Promise<SavedRun> {
  const folder = blobFolder({}, 'checkpoint');
  await saveAdapter(folder, s.model, { baseModel: s.baseName, baseNaming: s.base.layout.naming, dtype: 'F32' });
  return {
    request: r,
    step,
    stepsPerEpoch,
    adapter: Object.fromEntries(folder.files),
    optimizer,
    allocator,
    allocation: s.allocation,
    history: structuredClone(history),
    savedAt: Date.now(),
  };
}

/** Stochastic depth of the blocks' residuals while training, as the reference trains (the CLI's --drop-path). */
const DROP_PATH = 0.1;

/** The model on `backend`: the base with a fresh head (a new task, as the reference starts one), or a checkpoint. */
async function buildModel(
  backend: Backend,
  base: LoadedCheckpoint,
  classes: number,
  r: StartRequest,
  from: SavedRun | null,
): Promise<ViT> {
  if (from) {
    const a = await loadAdapter(blobFolder(from.adapter, 'checkpoint'), base);
    // SNELLA's layers start at one sparsity; the allocator's snapshot then sets each layer's own
    const plan = a.plan && { ...a.plan, layerSparsity: undefined };
    return new ViT(backend, a.config, a.weights, { plan, seed: 0, dropPath: DROP_PATH });
  }
  const { weights, config } = withFreshHead(base, classes, 0);
  const plan = { ...DEFAULT_PLAN, method: r.method ?? 'snell', rank: r.rank, sparsity: r.sparsity };
  return new ViT(backend, config, weights, { plan, seed: 0, dropPath: DROP_PATH });
}

/** Starts a run, or (with `from`, a saved run's record) continues it exactly from its checkpoint. */
async function start(r: StartRequest, from: SavedRun | null = null): Promise<void> {
  if (session?.training) throw new Error('training is already running');
  session?.model.dispose();
  session?.backend.destroy();
  session = null;
  Atomics.store(stopFlag, 0, 0);
  stopRequested = false;

  post({ type: 'status', text: 'starting the backend…' });
  let fallback: string | null = null;
  let backend = await createBackend({
    prefer: r.backend === 'auto' ? undefined : r.backend,
    onFallback: (why) => {
      fallback = why;
    },
  });
  post({ type: 'backend', kind: backend.kind, description: backend.description, fallback });
  post({ type: 'status', text: 'loading the model and the images…' });
  const base = await loadBase(r.checkpoint);
  const geometry = geometryOf(base);
  const prep = await ImagePrep.create();
  const data = r.folder
    ? await loadFolder(r.folder, prep, geometry, (text) => post({ type: 'status', text }))
    : await loadBuiltin();
  const view = (indices: number[]) => new ImageDataset(prep, data.images, options(geometry), indices);
  const s: Session = {
    backend,
    base,
    baseName: r.checkpoint?.find((f) => f.name.endsWith('.safetensors'))?.name ?? 'embedded',
    model: await buildModel(backend, base, data.classes.length, r, from),
    trainer: null!,
    prep,
    geometry,
    data,
    val: view(data.val),
    grid: view(data.val.slice(0, GRID)),
    training: true,
    allocation: from?.allocation ?? null,
    selected: null,
    epochsDone: from ? Math.floor(from.step / Math.ceil(data.train.length / r.batch)) : 0,
  };
  s.trainer = new Trainer(s.model);
  session = s;
  const history: ChartData = from ? structuredClone(from.history) : { loss: [], accuracy: [], validation: [] };
  post({
    type: 'ready',
    classes: [...data.classes],
    train: data.train.length,
    val: data.val.length,
    test: data.test?.count ?? 0,
    trainable: s.model.params().reduce((a, p) => a + p.tensor.size, 0),
    grid: thumbs(data.images, data.val.slice(0, GRID), data.classes),
    history,
    resumedAt: from?.step ?? null,
  });
  showAllocation(s);

  const stepsPerEpoch = Math.ceil(data.train.length / r.batch);
  const stop = new AbortController();
  let last = from;
  let stepsDone = from?.step ?? 0;
  const keep = async (step: number, optimizer: AdamWSnapshot, allocator: AllocatorSnapshot | undefined) => {
    last = await snapshot(s, r, step, optimizer, allocator, history, stepsPerEpoch);
    await saveRun(last);
  };
  const allocator: AllocatorOptions | undefined =
    r.method === 'snella'
      ? { ...ALLOCATOR_DEFAULTS, targetSparsity: r.targetSparsity ?? ALLOCATOR_DEFAULTS.targetSparsity }
      : undefined;
  for (let recoveries = 0; ; recoveries++) {
    try {
      await s.trainer.fit(view(data.train), {
        epochs: r.epochs,
        batchSize: r.batch,
        lr: r.lr,
        weightDecay: 1e-4,
        warmupSteps: 0,
        seed: 0,
        validation: s.val,
        signal: stop.signal,
        resume: last ? { step: last.step, optimizer: last.optimizer, allocator: last.allocator } : undefined,
        allocator,
        onAllocation: (a) => {
          s.allocation = a;
          showAllocation(s);
        },
        checkpointEvery: CHECKPOINT_EVERY,
        onCheckpoint: async (c) => keep(c.step, await c.optimizer.snapshot(), await c.allocation?.snapshot()),
        onStep: (ev) => {
          if (stopRequested || Atomics.load(stopFlag, 0)) stop.abort();
          stepsDone = ev.step + 1;
          [history.loss.length, history.accuracy.length] = [ev.step, ev.step];
          history.loss.push(ev.loss);
          history.accuracy.push(ev.accuracy);
          post({
            type: 'step',
            step: ev.step,
            epoch: ev.epoch,
            loss: ev.loss,
            accuracy: ev.accuracy,
            imagesPerSecond: ev.imagesPerSecond,
            memory: ev.memory,
          });
        },
        onEpoch: async (ev) => {
          if (ev.validation) history.validation.push([history.loss.length - 1, ev.validation.accuracy]);
          post({ type: 'epoch', epoch: ev.epoch, loss: ev.loss, accuracy: ev.accuracy, validation: ev.validation });
          void showPredictions(s);
          s.epochsDone = ev.epoch + 1;
          await showKept(s);
        },
      });
      break;
    } catch (e) {
      if (!(e instanceof DeviceLostError) || recoveries === MAX_RECOVERIES) throw e;
      // a new device, or Wasm, and the run again from its last checkpoint (or its first step)
      s.model.dispose();
      s.backend.destroy();
      const next = await replacementBackend((o) => createBackend(o), e);
      backend = s.backend = next.backend;
      s.model = await buildModel(backend, base, data.classes.length, r, last);
      s.trainer = new Trainer(s.model);
      history.validation = history.validation.filter(([i]) => i < (last?.step ?? 0));
      post({ type: 'backend', kind: backend.kind, description: backend.description, fallback: next.note });
      post({
        type: 'recovered',
        step: last?.step ?? 0,
        history: structuredClone(history),
        text: `${next.note}, from step ${(last?.step ?? 0) + 1}`,
      });
    }
  }
  s.training = false;
  if (stop.signal.aborted)
    // a reload offers to go on from here
    await keep(stepsDone, (await s.trainer.optimizerSnapshot())!, await s.trainer.allocator?.snapshot());
  else await clearRun(); // finished: nothing left to resume
  await showPredictions(s);
  await showKept(s);
  post({ type: 'done', stopped: stop.signal.aborted });
}

/** The latest allocation's heat strip, the selected layer outlined. */
function showAllocation(s: Session): void {
  const a = s.allocation;
  if (!a) return;
  s.selected ??= a.layers[0] ?? null;
  const { epoch, budget, remask, layers, sparsity } = a;
  const svg = sparsitySvg([a], { selected: s.selected });
  post({ type: 'allocation', epoch, budget, remask, layers, sparsity, svg });
}

/** The selected layer's kept-entry map (SNELLA runs), as it is now. */
async function showKept(s: Session): Promise<void> {
  if (!s.allocation || !s.selected) return;
  const map = await keptMapOf(s.model, s.selected);
  const { width, height, rgba } = keptImage(map);
  const { layer, dIn, dOut, kept } = map;
  const m: FromWorker = { type: 'kept', layer, epoch: s.epochsDone, dIn, dOut, kept, width, height, rgba };
  postMessage(m, { transfer: [rgba.buffer] });
}

/** The page picked a layer: outlined at once; its map after the next epoch (now, when not training). */
async function selectLayer(layer: string): Promise<void> {
  const s = session;
  if (!s?.allocation?.layers.includes(layer)) return;
  s.selected = layer;
  showAllocation(s);
  if (!s.training) await showKept(s);
}

/** What the page shows of the saved run, if there is one. */
async function savedSummary(): Promise<void> {
  const run = await loadRun().catch(() => null);
  post({
    type: 'saved',
    run: run && {
      step: run.step,
      steps: run.request.epochs * run.stepsPerEpoch,
      savedAt: run.savedAt,
      epochs: run.request.epochs,
      lr: run.request.lr,
      batch: run.request.batch,
    },
  });
}

async function resume(): Promise<void> {
  const run = await loadRun();
  if (!run) throw new Error('there is no saved run to resume: press Train');
  await start(run.request, run);
}

function thumbs(images: LabeledImages, indices: number[], classes: readonly string[]): Thumb[] {
  const per = images.channels * images.height * images.width;
  return indices.map((i) => ({
    pixels: images.pixels.slice(i * per, (i + 1) * per),
    channels: images.channels,
    height: images.height,
    width: images.width,
    label: classes[images.labels[i]],
  }));
}

/** Class probabilities of every sample of `data` (one batch, no dropout). */
async function probabilities(model: ViT, data: Dataset): Promise<Float32Array[]> {
  const b = model.backend;
  const idx = Array.from({ length: data.size }, (_, i) => i);
  const { inputs } = data.get(idx);
  const { x, logits } = model.ledger.within('scratch', () => {
    const x = b.upload(inputs, [idx.length, ...data.sampleShape]);
    return { x, logits: model.forward(x, false) };
  });
  const all = (await b.read(logits)) as Float32Array;
  b.free(x);
  b.free(logits);
  const C = model.config.classes;
  return idx.map((i) => {
    const z = all.slice(i * C, (i + 1) * C);
    const max = Math.max(...z);
    const e = z.map((v) => Math.exp(v - max));
    const sum = e.reduce((a, v) => a + v, 0);
    return e.map((v) => v / sum);
  });
}

const argmax = (p: Float32Array) => p.indexOf(Math.max(...p));

async function showPredictions(s: Session): Promise<void> {
  const p = await probabilities(s.model, s.grid);
  post({ type: 'predictions', labels: p.map((q) => s.data.classes[argmax(q)]) });
}

async function evaluate(s: Session): Promise<void> {
  post({ type: 'status', text: 'evaluating…' });
  const validation = await s.trainer.evaluate(s.val, 64);
  const t = s.data.test;
  const test = t ? await s.trainer.evaluate(new ImageDataset(s.prep, t, options(s.geometry)), 64) : null;
  post({ type: 'evaluation', validation, test });
}

async function download(s: Session, what: 'adapter' | 'merged'): Promise<void> {
  post({ type: 'status', text: `saving the ${what === 'adapter' ? 'adapter' : 'merged model'}…` });
  const folder = blobFolder({}, what);
  if (what === 'adapter') await saveAdapter(folder, s.model, { baseModel: s.baseName, baseNaming: s.base.layout.naming });
  else await saveMerged(folder, s.model, s.base);
  post({ type: 'files', what, files: [...folder.files].map(([name, blob]) => ({ name, blob })) });
}

async function classify(s: Session, file: File): Promise<void> {
  const g = s.geometry;
  let reason = '';
  const images = await loadFolderEntries(
    [{ label: 'image', file: file.name, read: async () => new Uint8Array(await file.arrayBuffer()) }],
    ['image'],
    decodeBrowser,
    s.prep,
    {
      size: g.size,
      channels: g.channels,
      onSkip: (k) => {
        reason = k.reason;
      },
    },
  );
  if (images.count === 0) throw new Error(`${file.name} could not be read (${reason}): drop a PNG or JPEG image`);
  const [p] = await probabilities(s.model, new ImageDataset(s.prep, images, options(g)));
  const k = argmax(p);
  post({ type: 'classified', label: s.data.classes[k], probability: p[k] });
}
