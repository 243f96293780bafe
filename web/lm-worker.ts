// The language-model worker (a module Web Worker) behind the page's text mode: loads a decoder LM (the
// embedded one, or a dropped folder) and its tokenizer onto the backend (WebGPU when the browser has
// it, else Wasm), generates from a prompt (streaming the text as each token is drawn), and fine-tunes
// on the page's text: the text's last tenth is held out (lm-text.ts), the base model's held-out
// perplexity is measured, the model with the method's branches (or every tensor, or the head) trains
// on causal-LM windows of the rest, reporting
// every step, and the held-out perplexity is measured again. Generation then uses the adapted model;
// the adapter (or, for full fine-tuning, the whole model) can be saved into memory for download.
// LmTrainer yields to the event loop between steps, so a stop message arrives while training runs.

import {
  type Backend,
  blobFolder,
  causalLmWindows,
  createBackend,
  DecoderLM,
  type DecoderPlan,
  generate,
  LmTrainer,
  saveLmAdapter,
  saveMergedLm,
  targetNames,
} from 'snell-js';
import { lmAdvice } from './errors.js';
import { type LmBase, loadLmBase } from './lm-load.js';
import type { FromLmWorker, LmGenerateRequest, LmMethod, LmTrainRequest, ToLmWorker } from './lm-protocol.js';
import { splitText } from './lm-text.js';
import type { PathFile } from './protocol.js';

interface Session {
  backend: Backend;
  preference: 'auto' | 'webgpu' | 'wasm';
  base: LmBase;
  /** The model generation uses: the base (plan null), or the one trained last. */
  model: DecoderLM;
  adapted: boolean;
  busy: boolean;
}

/** SNELL's and LoRA's branches: rank 8 over 2 kernel heads on every projection; SNELL keeps half of each ΔW. */
const BRANCH = { rank: 8, kernelHeads: 2 };
const SNELL_SPARSITY = 0.5;

let session: Session | null = null;
let stop: AbortController | null = null;
const post = (m: FromLmWorker) => postMessage(m);

self.onmessage = async (e: MessageEvent<ToLmWorker>) => {
  const m = e.data;
  if (m.type === 'stop') return stop?.abort();
  try {
    if (m.type === 'load') await load(m.checkpoint, m.backend);
    else if (m.type === 'train') await train(idle(), m);
    else if (m.type === 'generate') await write(idle(), m);
    else if (m.type === 'download') await download(idle(), m.what);
  } catch (err) {
    if (session) session.busy = false;
    post({ type: 'error', text: lmAdvice(err) });
  }
};

function idle(): Session {
  if (!session) throw new Error('no model is loaded yet: drop a checkpoint folder (or pick the embedded model) first');
  if (session.busy) throw new Error('the model is busy: wait for training or generation to finish, or press Stop');
  return session;
}

/** The frozen base model on the session's backend. */
const baseModel = (backend: Backend, base: LmBase) =>
  new DecoderLM(backend, base.lm.config, base.lm.weights, { plan: null, seed: 0 });

async function load(files: PathFile[] | null, preference: Session['preference']): Promise<void> {
  if (session?.busy) throw new Error('the model is busy: wait for training or generation to finish, or press Stop');
  session?.model.dispose();
  const old = session;
  session = null;
  post({ type: 'status', text: 'loading the model…' });
  const base = await loadLmBase(files);
  let backend = old?.preference === preference ? old.backend : null;
  if (!backend) {
    old?.backend.destroy();
    let fallback: string | null = null;
    backend = await createBackend({
      prefer: preference === 'auto' ? undefined : preference,
      onFallback: (why) => {
        fallback = why;
      },
    });
    post({ type: 'backend', kind: backend.kind, description: backend.description, fallback });
  }
  const model = baseModel(backend, base);
  session = { backend, preference, base, model, adapted: false, busy: false };
  const c = base.lm.config;
  const parameters = [...base.lm.weights.values()].reduce((a, w) => a + w.data.length, 0);
  post({
    type: 'loaded',
    name: base.name,
    summary:
      `${c.modelType}, ${c.layers} layers, hidden ${c.hidden}, ${c.heads} heads` +
      `${c.kvHeads !== c.heads ? ` (${c.kvHeads} KV)` : ''}, vocabulary ${c.vocabSize}, ${c.maxPositions} positions`,
    parameters,
    maxPositions: c.maxPositions,
    notes: base.lm.notes,
    memory: model.memory(),
  });
}

function planOf(method: LmMethod, arch: 'llama' | 'gpt2'): DecoderPlan {
  const sparsity = method === 'snell' ? SNELL_SPARSITY : 0;
  return { method, ...BRANCH, sparsity, targets: targetNames(arch) };
}

async function train(s: Session, r: LmTrainRequest): Promise<void> {
  const { config } = s.base.lm;
  if (!(Number.isInteger(r.seqLen) && r.seqLen >= 2 && r.seqLen <= config.maxPositions))
    throw new RangeError(
      `the sequence length must be an integer from 2 to the model's ${config.maxPositions} positions, got ${r.seqLen}`,
    );
  s.busy = true;
  stop = new AbortController();
  const { train: trainText, held: heldText } = splitText(r.text);
  const tokenizer = s.base.tokenizer;
  const windows = causalLmWindows(tokenizer, [trainText], { seqLen: r.seqLen });
  const held = causalLmWindows(tokenizer, [heldText], { seqLen: r.seqLen });
  // the base model's perplexity first: the model is rebuilt from the host weights after an earlier run
  if (s.adapted) {
    s.model.dispose();
    s.model = baseModel(s.backend, s.base);
    s.adapted = false;
  }
  post({ type: 'status', text: 'measuring the base model on the held-out tenth…' });
  post({ type: 'before', evaluation: await new LmTrainer(s.model).evaluate(held, r.batch) });
  s.model.dispose();
  try {
    s.model = new DecoderLM(s.backend, config, s.base.lm.weights, { plan: planOf(r.method, config.arch), seed: 0 });
  } catch (e) {
    s.model = baseModel(s.backend, s.base); // a refused method leaves the base to generate with
    throw e;
  }
  s.adapted = true;
  const trainer = new LmTrainer(s.model);
  const steps = r.epochs * Math.ceil(windows.shape[0] / r.batch);
  post({
    type: 'ready',
    trainWindows: windows.shape[0],
    heldTokens: held.labels.filter((l) => l >= 0).length,
    trainable: s.model.params().reduce((a, p) => a + p.tensor.size, 0),
    steps,
  });
  const started = performance.now();
  await trainer.fit(windows, {
    epochs: r.epochs,
    batchSize: r.batch,
    lr: r.lr,
    seed: 0,
    validation: held,
    signal: stop.signal,
    onStep: (ev) =>
      post({
        type: 'step',
        step: ev.step,
        epoch: ev.epoch,
        loss: ev.loss,
        accuracy: ev.accuracy,
        tokensPerSecond: ev.tokensPerSecond,
        memory: ev.memory,
      }),
    onEpoch: (ev) => post({ type: 'epoch', epoch: ev.epoch, loss: ev.loss, validation: ev.validation }),
  });
  const stepsPerSecond = trainer.steps / ((performance.now() - started) / 1000);
  const after = await trainer.evaluate(held, r.batch);
  s.busy = false;
  post({ type: 'done', stopped: stop.signal.aborted, after, stepsPerSecond });
}

/** Generates from the prompt (its tokens with the tokenizer's special tokens), streaming the text. */
async function write(s: Session, r: LmGenerateRequest): Promise<void> {
  const tokenizer = s.base.tokenizer;
  const encoded = tokenizer.encode(r.prompt);
  const start = tokenizer.bosId ?? tokenizer.eosId;
  const prompt = encoded.length > 0 ? encoded : start !== null ? [start] : [];
  s.busy = true;
  const out: number[] = [];
  const started = performance.now();
  try {
    await generate(s.model, prompt, {
      maxNewTokens: r.maxNewTokens,
      temperature: r.temperature,
      seed: r.seed,
      stopTokens: tokenizer.eosId === null ? [] : [tokenizer.eosId],
      onStep: ([token]) => {
        if (token === null || token === undefined) return;
        out.push(token);
        post({ type: 'token', text: tokenizer.decode(out, { skipSpecialTokens: true }) });
      },
    });
  } finally {
    s.busy = false;
  }
  post({
    type: 'generated',
    text: tokenizer.decode(out, { skipSpecialTokens: true }),
    ids: out,
    model: s.adapted ? 'adapted' : 'base',
    tokensPerSecond: out.length / ((performance.now() - started) / 1000),
  });
}

/** The trained adapter's files, or the merged model's (full fine-tuning's only file set). */
async function download(s: Session, what: 'adapter' | 'merged'): Promise<void> {
  if (!s.adapted) throw new Error('nothing is trained yet: press Train first');
  post({ type: 'status', text: `saving the ${what === 'adapter' ? 'adapter' : 'merged model'}…` });
  const folder = blobFolder({}, what);
  if (what === 'adapter') await saveLmAdapter(folder, s.model, { baseModel: s.base.name });
  else await saveMergedLm(folder, s.model, s.base.lm);
  post({ type: 'files', files: [...folder.files].map(([name, blob]) => ({ name, blob })) });
}
