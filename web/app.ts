// The page (main thread): reads the settings, starts the training worker and shows what it reports:
// the live chart, speed, memory by pool, the validation grid, the evaluation, downloads and
// single-image classification, and the offer to resume a run saved in the browser's storage; for
// SNELLA, each epoch's sparsity by layer (a heat strip whose cells pick the layer) and the kept-entry
// map of the picked layer. Hooks for tests: body[data-state], #chart[data-losses],
// #evaluation[data-validation], #saved[data-step], #strip rect[data-layer], #kept[data-layer][data-epoch].

import { drawChart, type ChartData } from './chart.js';
import { droppedFiles, dropZone, pickedFiles } from './drop.js';
import { memoryRows } from './memory.js';
import './text-mode.js';
import type { FromWorker, KeptView, PathFile, Thumb, ToWorker } from './protocol.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const num = (id: string) => Number($<HTMLInputElement>(id).value);
const radio = (name: string) => (document.querySelector(`input[name=${name}]:checked`) as HTMLInputElement).value;

const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
// Stop reaches a busy Wasm loop only through shared memory (cross-origin isolated pages: web/serve.mjs).
const stopFlag = globalThis.crossOriginIsolated ? new Int32Array(new SharedArrayBuffer(4)) : null;
if (stopFlag) worker.postMessage({ type: 'stop-flag', flag: stopFlag.buffer });
const send = (m: ToWorker) => worker.postMessage(m);

let chart: ChartData = { loss: [], accuracy: [], validation: [] };
let classes: string[] = [];
let grid: Thumb[] = [];
let droppedFolder: PathFile[] | null = null;

function setState(state: 'idle' | 'loading' | 'training' | 'done' | 'error') {
  document.body.dataset.state = state;
  $<HTMLButtonElement>('train').disabled = state === 'loading' || state === 'training';
  $<HTMLButtonElement>('stop').disabled = state !== 'training';
  $<HTMLButtonElement>('resume').disabled = state === 'loading' || state === 'training';
  const trained = state === 'done';
  for (const id of ['evaluate', 'adapter', 'merged', 'classify']) $<HTMLButtonElement>(id).disabled = !trained;
}

function showError(text: string | null) {
  const el = $('error');
  el.hidden = text === null;
  el.textContent = text ?? '';
}

function status(text: string) {
  $('status').textContent = text;
}

function draw() {
  const c = $<HTMLCanvasElement>('chart');
  c.dataset.losses = JSON.stringify(chart.loss);
  drawChart(c, chart);
}

function drawGrid(predicted: string[] = []) {
  const el = $('grid');
  el.replaceChildren(
    ...grid.map((t, i) => {
      const fig = document.createElement('figure');
      const canvas = document.createElement('canvas');
      [canvas.width, canvas.height] = [t.width, t.height];
      const img = new ImageData(t.width, t.height);
      const n = t.width * t.height;
      for (let p = 0; p < n; p++) {
        for (let c = 0; c < 3; c++) img.data[4 * p + c] = t.pixels[(t.channels === 3 ? c * n : 0) + p];
        img.data[4 * p + 3] = 255;
      }
      canvas.getContext('2d')?.putImageData(img, 0, 0);
      const cap = document.createElement('figcaption');
      const guess = predicted[i];
      cap.textContent = guess === undefined ? `true ${t.label}` : `${guess} (true ${t.label})`;
      if (guess !== undefined && guess !== t.label) cap.className = 'wrong';
      fig.append(canvas, cap);
      return fig;
    }),
  );
}

function showMemory(m: Extract<FromWorker, { type: 'step' }>['memory']) {
  $('memory').innerHTML = memoryRows(m);
}

/** Offers to resume the run saved in the browser's storage (after a reload, a crashed tab or a Stop). */
function showSaved(run: Extract<FromWorker, { type: 'saved' }>['run']) {
  const el = $('saved');
  el.hidden = run === null;
  if (!run) return;
  el.dataset.step = String(run.step);
  $('saved-text').textContent =
    `A run saved ${new Date(run.savedAt).toLocaleString()} had reached step ${run.step} of ${run.steps} ` +
    `(${run.epochs} epochs, batch ${run.batch}, learning rate ${run.lr}).`;
}

/** The method's own settings: the allocator's target, and what the sparsity field means. */
function showMethod() {
  const snella = $<HTMLSelectElement>('method').value === 'snella';
  ($('target-sparsity').parentElement as HTMLElement).hidden = !snella;
  $('sparsity-label').textContent = snella ? 'initial sparsity' : 'sparsity';
}

function showKept(k: KeptView) {
  const c = $<HTMLCanvasElement>('kept');
  [c.width, c.height] = [k.width, k.height];
  const scale = 256 / Math.max(k.width, k.height);
  [c.style.width, c.style.height] = [`${k.width * scale}px`, `${k.height * scale}px`];
  c.getContext('2d')?.putImageData(new ImageData(k.rgba, k.width, k.height), 0, 0);
  c.dataset.layer = k.layer;
  c.dataset.epoch = String(k.epoch);
  const pooled = k.width !== k.dOut || k.height !== k.dIn ? `, max-pooled to ${k.height}×${k.width}` : '';
  $('kept-text').textContent =
    `${k.layer} after epoch ${k.epoch}: ${k.kept} of ${k.dIn * k.dOut} entries kept ` +
    `(Ws ${k.dIn}×${k.dOut}${pooled}; red > 0, blue < 0, blank: dropped)`;
}

function showDownloads(files: { name: string; blob: Blob }[]) {
  $('downloads').replaceChildren(
    ...files.map(({ name, blob }) => {
      const a = document.createElement('a');
      a.href = URL.createObjectURL(blob);
      a.download = name;
      a.textContent = `⬇ ${name} (${(blob.size / 1024).toFixed(1)} KiB)`;
      return a;
    }),
  );
  status('ready: click each file to download it');
}

worker.onmessage = (e: MessageEvent<FromWorker>) => {
  const m = e.data;
  switch (m.type) {
    case 'status':
      return status(m.text);
    case 'defaults':
      $<HTMLInputElement>('target-sparsity').value = String(m.targetSparsity);
      return;
    case 'allocation': {
      $('allocation').hidden = false;
      $('strip').innerHTML = m.svg;
      const mean = m.sparsity.reduce((a, v) => a + v, 0) / m.sparsity.length;
      $('budget').textContent =
        `epoch ${m.epoch + 1}: budget ${Math.round(m.budget)} kept entries over ${m.layers.length} layers, ` +
        `mean sparsity ${mean.toFixed(3)}${m.remask ? ', re-masked' : ', sparsities kept'} — click a layer for its kept entries`;
      return;
    }
    case 'kept':
      return showKept(m);
    case 'backend':
      $('device').dataset.backend = m.kind;
      $('device').textContent = `Training on ${m.kind} (${m.description})${m.fallback ? ` — not WebGPU: ${m.fallback}` : ''}`;
      return;
    case 'ready':
      ({ classes, grid } = m);
      chart = m.history;
      $('saved').hidden = true;
      $('allocation').hidden = true;
      draw();
      drawGrid();
      status(
        `training: ${m.train} images, validation ${m.val}, ${m.trainable} trainable parameters, classes ${classes.join(', ')}`,
      );
      return setState('training');
    case 'step':
      chart.loss.push(m.loss);
      chart.accuracy.push(m.accuracy);
      $('speed').textContent =
        `epoch ${m.epoch + 1}, step ${m.step + 1}: ${m.imagesPerSecond.toFixed(0)} images/s, loss ${m.loss.toFixed(3)}`;
      showMemory(m.memory);
      return draw();
    case 'epoch':
      if (m.validation) chart.validation.push([chart.loss.length - 1, m.validation.accuracy]);
      status(
        `epoch ${m.epoch + 1}: loss ${m.loss.toFixed(3)}` +
          (m.validation ? `, validation accuracy ${(100 * m.validation.accuracy).toFixed(1)}%` : ''),
      );
      return draw();
    case 'saved':
      return showSaved(m.run);
    case 'recovered':
      chart = m.history;
      status(m.text);
      return draw();
    case 'predictions':
      return drawGrid(m.labels);
    case 'done':
      status(m.stopped ? 'stopped: what was learned is kept' : 'training finished');
      send({ type: 'saved?' });
      return setState('done');
    case 'evaluation': {
      const el = $('evaluation');
      const pct = (v: { accuracy: number; samples: number } | null, what: string) =>
        v ? `${what} ${(100 * v.accuracy).toFixed(2)}% (${v.samples} images)` : '';
      el.dataset.validation = JSON.stringify(m.validation);
      el.dataset.test = JSON.stringify(m.test);
      el.textContent = [pct(m.validation, 'validation'), pct(m.test, 'test')].filter(Boolean).join(', ');
      return status('evaluated');
    }
    case 'files':
      return showDownloads(m.files);
    case 'classified':
      $('classified').textContent = `predicted ${m.label} (${(100 * m.probability).toFixed(1)}%)`;
      return status('classified');
    case 'error':
      showError(m.text);
      return setState(
        document.body.dataset.state === 'training' || document.body.dataset.state === 'loading'
          ? 'error'
          : (document.body.dataset.state as 'idle'),
      );
  }
};
worker.onerror = (e) => {
  showError(
    `the training worker failed: ${e.message || 'it could not start'} — reload the page (a browser with module workers is needed).`,
  );
  setState('error');
};

$('train').onclick = () => {
  showError(null);
  const checkpoint = radio('model') === 'file' ? Array.from($<HTMLInputElement>('checkpoint').files ?? []) : null;
  const folder = radio('data') === 'folder' ? (droppedFolder ?? pickedFiles($<HTMLInputElement>('folder'))) : null;
  if (checkpoint?.length === 0) return showError('pick a .safetensors file and its config.json, or choose the embedded ViT.');
  if (folder?.length === 0) return showError('pick or drop a folder of images, or choose the built-in MNIST.');
  chart = { loss: [], accuracy: [], validation: [] };
  draw();
  $('downloads').replaceChildren();
  $('evaluation').textContent = '';
  setState('loading');
  send({
    type: 'start',
    checkpoint,
    folder,
    backend: $<HTMLSelectElement>('backend').value as 'auto',
    method: $<HTMLSelectElement>('method').value as 'snell' | 'snella',
    rank: num('rank'),
    sparsity: num('sparsity'),
    targetSparsity: num('target-sparsity'),
    epochs: num('epochs'),
    lr: num('lr'),
    batch: num('batch'),
  });
};
$('stop').onclick = () => {
  if (stopFlag) Atomics.store(stopFlag, 0, 1);
  send({ type: 'stop' });
  status('stopping after this step…');
};
$('resume').onclick = () => {
  showError(null);
  $('downloads').replaceChildren();
  $('evaluation').textContent = '';
  setState('loading');
  send({ type: 'resume' });
};
$('discard').onclick = () => send({ type: 'discard' });
$('method').onchange = showMethod;
$('strip').onclick = (e) => {
  const layer = (e.target as Element).closest('[data-layer]')?.getAttribute('data-layer');
  if (layer) send({ type: 'select-layer', layer });
};
$('evaluate').onclick = () => send({ type: 'evaluate' });
$('adapter').onclick = () => send({ type: 'download', what: 'adapter' });
$('merged').onclick = () => send({ type: 'download', what: 'merged' });
$<HTMLInputElement>('folder').onchange = () => {
  droppedFolder = null;
  (document.querySelector('input[value=folder]') as HTMLInputElement).checked = true;
};
$<HTMLInputElement>('checkpoint').onchange = () => {
  (document.querySelector('input[value=file]') as HTMLInputElement).checked = true;
};
$<HTMLInputElement>('classify').onchange = (e) => {
  const f = (e.target as HTMLInputElement).files?.[0];
  if (f) send({ type: 'classify', file: f });
};

dropZone($('folder-drop'), async (t) => {
  droppedFolder = await droppedFiles(t);
  (document.querySelector('input[value=folder]') as HTMLInputElement).checked = true;
  $('folder-drop').textContent = `${droppedFolder.length} files dropped`;
});
dropZone($('classify-drop'), (t) => {
  const f = t.files[0];
  if (document.body.dataset.state !== 'done') return showError('train (or stop training) first, then drop an image to classify.');
  if (f) send({ type: 'classify', file: f });
});
setState('idle');
showMethod();
send({ type: 'saved?' });
if (!stopFlag)
  status('note: this page is not cross-origin isolated, so Stop cannot interrupt a Wasm run (serve it with web/serve.mjs).');
