// The page's text mode (main thread): the mode switch, then a language model (the embedded one, or a
// dropped or picked checkpoint folder), a text (pasted, or a dropped or picked .txt), the training
// settings, the live loss chart, speed and memory, the held-out perplexity before and after training,
// and generation from a prompt, streamed token by token (the base model before training, the adapted
// one after), with the adapter or merged model to download. The language-model worker (lm-worker.ts)
// starts on the first switch to text mode, loading the embedded model. Hooks for tests:
// #text-mode[data-state][data-trained], #lm-chart[data-losses][data-steps], #lm-perplexity[data-before][data-after], #lm-output[data-model][data-text].

import { type ChartData, drawChart } from './chart.js';
import { droppedFiles, dropZone, pickedFiles } from './drop.js';
import type { FromLmWorker, LmMethod, ToLmWorker } from './lm-protocol.js';
import { memoryRows } from './memory.js';
import type { PathFile } from './protocol.js';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const num = (id: string) => Number($<HTMLInputElement>(id).value);
const root = $('text-mode');

/**
 * The learning rate each method starts with (editable): the one of two tried per method that lowered
 * the embedded LM's held-out perplexity most in the page's default run (3 epochs, batch 8, 64 tokens,
 * on a repeated two-sentence text): SNELL 0.1 or 0.2, LoRA 0.005 or 0.01, full 5e-4 or 1e-3, head
 * 2e-3 or 1e-2.
 */
const LEARNING_RATES: Record<LmMethod, number> = { snell: 0.2, lora: 0.01, full: 1e-3, head: 1e-2 };

type State = 'empty' | 'loading' | 'ready' | 'training' | 'generating';

let worker: Worker | null = null;
let chart: ChartData = { loss: [], accuracy: [], validation: [] };
let checkpoint: PathFile[] | null = null;
/** The method of the model trained last (full fine-tuning has no adapter to save). */
let trainedMethod: LmMethod | null = null;
/** The method of the run in progress. */
let method: LmMethod = 'snell';

const send = (m: ToLmWorker) => {
  worker ??= startWorker();
  worker.postMessage(m);
};

function setState(state: State) {
  root.dataset.state = state;
  const ready = state === 'ready';
  $<HTMLButtonElement>('lm-train').disabled = !ready;
  $<HTMLButtonElement>('lm-generate').disabled = !ready;
  $<HTMLButtonElement>('lm-stop').disabled = state !== 'training';
  // the worker takes a new model only when idle
  for (const id of ['lm-checkpoint', 'lm-backend']) $<HTMLInputElement>(id).disabled = !(ready || state === 'empty');
  $<HTMLButtonElement>('lm-adapter').disabled = !ready || trainedMethod === null || trainedMethod === 'full';
  $<HTMLButtonElement>('lm-merged').disabled = !ready || trainedMethod === null;
}

function showError(text: string | null) {
  const el = $('lm-error');
  el.hidden = text === null;
  el.textContent = text ?? '';
}

const status = (text: string) => {
  $('lm-status').textContent = text;
};

function draw() {
  const c = $<HTMLCanvasElement>('lm-chart');
  c.dataset.losses = JSON.stringify(chart.loss);
  drawChart(c, chart);
}

const ppl = (v: number | null | undefined) => (v === null || v === undefined ? '—' : v.toFixed(2));

function showPerplexity() {
  const el = $('lm-perplexity');
  const { before, after, tokens } = el.dataset;
  el.textContent =
    before === undefined
      ? ''
      : `held-out perplexity (${tokens} tokens): base ${ppl(Number(before))} → adapted ${after === undefined ? '…' : ppl(Number(after))}`;
}

function onMessage(m: FromLmWorker) {
  switch (m.type) {
    case 'status':
      return status(m.text);
    case 'backend':
      $('lm-device').dataset.backend = m.kind;
      $('lm-device').textContent = `Running on ${m.kind} (${m.description})${m.fallback ? ` — not WebGPU: ${m.fallback}` : ''}`;
      return;
    case 'loaded':
      $('lm-model-info').textContent =
        `${m.name}: ${m.summary}, ${(m.parameters / 1e6).toFixed(2)} M parameters${m.notes.length ? ` (${m.notes.join('; ')})` : ''}`;
      $<HTMLInputElement>('lm-seq-len').max = String(m.maxPositions);
      $('lm-memory').innerHTML = memoryRows(m.memory);
      trainedMethod = null;
      root.dataset.trained = 'false';
      status('loaded: generate from the base model, or train on the text');
      return setState('ready');
    case 'before': {
      const el = $('lm-perplexity');
      el.dataset.before = String(m.evaluation.perplexity);
      el.dataset.tokens = String(m.evaluation.count);
      delete el.dataset.after;
      return showPerplexity();
    }
    case 'ready':
      $('lm-chart').dataset.steps = String(m.steps);
      status(
        `training: ${m.trainWindows} windows, ${m.trainable} trainable parameters, ${m.steps} steps; ` +
          `${m.heldTokens} held-out tokens`,
      );
      return;
    case 'step':
      chart.loss.push(m.loss);
      chart.accuracy.push(m.accuracy);
      $('lm-speed').textContent =
        `epoch ${m.epoch + 1}, step ${m.step + 1}: ${m.tokensPerSecond.toFixed(0)} tokens/s, loss ${m.loss.toFixed(3)}`;
      $('lm-memory').innerHTML = memoryRows(m.memory);
      return draw();
    case 'epoch':
      if (m.validation) chart.validation.push([chart.loss.length - 1, m.validation.accuracy]);
      status(
        `epoch ${m.epoch + 1}: loss ${m.loss.toFixed(3)}` +
          (m.validation ? `, held-out perplexity ${ppl(m.validation.perplexity)}` : ''),
      );
      return draw();
    case 'done':
      $('lm-perplexity').dataset.after = String(m.after.perplexity);
      $('lm-perplexity').dataset.stepsPerSecond = String(m.stepsPerSecond);
      showPerplexity();
      root.dataset.trained = 'true';
      trainedMethod = method;
      status(`${m.stopped ? 'stopped: what was learned is kept' : 'training finished'} (${m.stepsPerSecond.toFixed(1)} steps/s)`);
      return setState('ready');
    case 'token':
      $('lm-output').textContent = $<HTMLTextAreaElement>('lm-prompt').value + m.text;
      return;
    case 'generated': {
      const out = $('lm-output');
      out.textContent = $<HTMLTextAreaElement>('lm-prompt').value + m.text;
      out.dataset.model = m.model;
      out.dataset.text = m.text;
      status(`generated ${m.ids.length} tokens with the ${m.model} model (${m.tokensPerSecond.toFixed(1)} tokens/s)`);
      return setState('ready');
    }
    case 'files':
      $('lm-downloads').replaceChildren(
        ...m.files.map(({ name, blob }) => {
          const a = document.createElement('a');
          a.href = URL.createObjectURL(blob);
          a.download = name;
          a.textContent = `⬇ ${name} (${(blob.size / 1024).toFixed(1)} KiB)`;
          return a;
        }),
      );
      return status('ready: click each file to download it');
    case 'error':
      showError(m.text);
      if (root.dataset.state === 'training') {
        trainedMethod = null; // a failed run leaves nothing to save
        root.dataset.trained = 'false';
      }
      return setState(root.dataset.state === 'loading' ? 'empty' : 'ready');
  }
}

function startWorker(): Worker {
  const w = new Worker(new URL('./lm-worker.js', import.meta.url), { type: 'module' });
  w.onmessage = (e: MessageEvent<FromLmWorker>) => onMessage(e.data);
  w.onerror = (e) => {
    showError(`the language-model worker failed: ${e.message || 'it could not start'} — reload the page.`);
    setState('empty');
  };
  return w;
}

/** Loads the chosen model: the embedded one, or the dropped or picked folder. */
function load() {
  const embedded = (document.querySelector('input[name=lm-model]:checked') as HTMLInputElement).value === 'embedded';
  if (!embedded && !checkpoint) return;
  if (root.dataset.state !== 'ready' && root.dataset.state !== 'empty')
    return showError('the model is busy: wait for training or generation to finish, then choose the model again.');
  showError(null);
  setState('loading');
  send({ type: 'load', checkpoint: embedded ? null : checkpoint, backend: $<HTMLSelectElement>('lm-backend').value as 'auto' });
}

/** Picked or dropped files: the folder becomes the model. */
function useFolder(files: PathFile[]) {
  checkpoint = files;
  (document.querySelector('input[name=lm-model][value=dropped]') as HTMLInputElement).checked = true;
  load();
}

function switchMode() {
  const text = (document.querySelector('input[name=mode]:checked') as HTMLInputElement).value === 'text';
  $('images-mode').hidden = text;
  root.hidden = !text;
  if (text && !worker) load(); // the embedded model, on the first visit
}

document.querySelectorAll<HTMLInputElement>('input[name=mode]').forEach((r) => {
  r.onchange = switchMode;
});
$<HTMLInputElement>('lm-checkpoint').onchange = () => useFolder(pickedFiles($<HTMLInputElement>('lm-checkpoint')));
dropZone($('lm-drop'), async (t) => {
  const files = await droppedFiles(t);
  $('lm-drop').textContent = `${files.length} files dropped`;
  useFolder(files);
});
document.querySelectorAll<HTMLInputElement>('input[name=lm-model]').forEach((r) => {
  r.onchange = load;
});
$('lm-backend').onchange = load;
const readText = async (file: File | undefined) => {
  if (file) $<HTMLTextAreaElement>('lm-text').value = await file.text();
};
$<HTMLInputElement>('lm-text-file').onchange = () => readText($<HTMLInputElement>('lm-text-file').files?.[0]);
dropZone($('lm-text-drop'), (t) => readText(t.files[0]));
$('lm-method').onchange = () => {
  $<HTMLInputElement>('lm-lr').value = String(LEARNING_RATES[$<HTMLSelectElement>('lm-method').value as LmMethod]);
};
$('lm-train').onclick = () => {
  showError(null);
  const text = $<HTMLTextAreaElement>('lm-text').value;
  if (!text.trim()) return showError('paste a text or drop a .txt file first.');
  chart = { loss: [], accuracy: [], validation: [] };
  draw();
  $('lm-downloads').replaceChildren();
  setState('training');
  method = $<HTMLSelectElement>('lm-method').value as LmMethod;
  send({
    type: 'train',
    text,
    method,
    epochs: num('lm-epochs'),
    seqLen: num('lm-seq-len'),
    lr: num('lm-lr'),
    batch: num('lm-batch'),
  });
};
$('lm-stop').onclick = () => {
  send({ type: 'stop' });
  status('stopping after this step…');
};
$('lm-generate').onclick = () => {
  showError(null);
  const out = $('lm-output');
  out.textContent = $<HTMLTextAreaElement>('lm-prompt').value;
  delete out.dataset.text;
  delete out.dataset.model;
  setState('generating');
  send({
    type: 'generate',
    prompt: $<HTMLTextAreaElement>('lm-prompt').value,
    maxNewTokens: num('lm-max-new'),
    temperature: num('lm-temperature'),
    seed: num('lm-seed'),
  });
};
$('lm-adapter').onclick = () => send({ type: 'download', what: 'adapter' });
$('lm-merged').onclick = () => send({ type: 'download', what: 'merged' });
$<HTMLInputElement>('lm-lr').value = String(LEARNING_RATES.snell);
setState('empty');
switchMode();
