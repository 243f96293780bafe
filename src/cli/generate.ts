// snell generate: continue a prompt with a decoder language model (--model a checkpoint folder or
// embedded-lm; --adapter a folder that snell train wrote), streaming the new text to stdout as it is
// drawn. Sampling: src/text/sampler.ts (temperature, top-k, top-p, seeded; temperature 0 is greedy);
// it stops at the tokenizer's EOS or after --max-new-tokens.

import type { BackendKind } from '../backend.js';
import { loadLmAdapter } from '../io/lm-adapter.js';
import { DecoderLM } from '../model/decoder/lm.js';
import { generate as generateTokens } from '../text/generate.js';
import { type Command, type Flags, UsageError } from './args.js';
import type { Host } from './host.js';
import { promptIds, textStream } from './lm-samples.js';
import { EMBEDDED_LM, isLmModel, loadLmSource } from './lm-source.js';

export const generate: Command = {
  summary: 'continue a prompt with a language model (and an adapter), streaming the text',
  synopsis: '--prompt TEXT [--model DIR|embedded-lm] [--adapter DIR] [--max-new-tokens 64] [--temperature 0.8] …',
  flags: {
    model: { type: 'string', help: 'a decoder checkpoint folder (with its tokenizer) or embedded-lm', default: EMBEDDED_LM },
    adapter: { type: 'string', help: 'an adapter folder written by snell train on this model' },
    prompt: { type: 'string', help: 'the text to continue' },
    'max-new-tokens': { type: 'number', help: 'tokens to add at most', default: 64, range: { min: 1, integer: true } },
    temperature: { type: 'number', help: 'softmax temperature (0: greedy)', default: 0.8, range: { min: 0 } },
    'top-k': {
      type: 'number',
      help: 'draw from the k most likely tokens (0: all)',
      default: 40,
      range: { min: 0, integer: true },
    },
    'top-p': {
      type: 'number',
      help: 'draw from the most likely tokens whose probability reaches p',
      default: 1,
      range: { min: 0, max: 1, openMin: true },
    },
    seed: { type: 'number', help: 'seed of the draws', default: 0, range: { min: 0, integer: true } },
    backend: {
      type: 'string',
      help: 'force a backend (default: WebGPU when an adapter exists, else Wasm)',
      choices: ['webgpu', 'wasm'],
    },
  },
  run,
};

async function run(flags: Flags, _positional: string[], host: Host): Promise<number> {
  const prompt = flags.prompt as string | undefined;
  if (prompt === undefined) throw new UsageError('--prompt TEXT is required');
  const name = flags.model as string;
  if (!(await isLmModel(name, host.files)))
    throw new UsageError(
      `--model ${name} is not a language model: give a decoder checkpoint folder (config.json with a decoder model_type) or embedded-lm`,
    );
  const source = await loadLmSource(name, host.files);
  const adapterDir = flags.adapter as string | undefined;
  const adapter = adapterDir ? await loadLmAdapter(host.files.folder(adapterDir), source.base) : null;
  if (adapter?.adapterConfig.task_type === 'SEQ_CLS')
    throw new UsageError(
      `--adapter ${adapterDir} is a classifier's (task_type SEQ_CLS): it has no language-model head to generate with`,
    );
  const backend = await host.createBackend({ prefer: flags.backend as BackendKind | undefined });
  const model = new DecoderLM(backend, source.base.config, adapter?.weights ?? source.base.weights, {
    plan: adapter?.plan ?? null,
    seed: 0,
  });
  try {
    const maxNewTokens = flags['max-new-tokens'] as number;
    const ids = promptIds(source.tokenizer, model, prompt, maxNewTokens);
    const eos = source.tokenizer.eosId;
    const drawn: number[] = [];
    const stream = textStream(source.tokenizer);
    host.stdout.write(prompt);
    await generateTokens(model, ids, {
      maxNewTokens,
      temperature: flags.temperature as number,
      topK: flags['top-k'] as number,
      topP: flags['top-p'] as number,
      seed: flags.seed as number,
      stopTokens: eos === null ? [] : [eos],
      onStep: ([token]) => {
        if (token === null || token === undefined) return;
        drawn.push(token);
        host.stdout.write(stream(drawn));
      },
    });
    host.stdout.write(`${stream(drawn, true)}\n`);
    return 0;
  } finally {
    model.dispose();
    backend.destroy();
  }
}
