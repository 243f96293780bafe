// snell eval: top-1 accuracy and loss of a base model with a saved adapter on a data set's test split.

import { Trainer } from '../train/trainer.js';
import type { Command, Flags } from './args.js';
import { ADAPTER_FLAG, loadAdapted } from './adapted.js';
import type { Host } from './host.js';
import { progress } from './progress.js';
import { DATA_FLAGS, loadData, MODEL_FLAGS } from './setup.js';

export const evaluate: Command = {
  summary: 'evaluate a model with an adapter on the test split',
  synopsis: '--adapter DIR [--model DIR|embedded] [--data mnist|fashion-mnist|DIR] [--split full|vtab1k]',
  flags: {
    ...MODEL_FLAGS,
    ...ADAPTER_FLAG,
    ...DATA_FLAGS,
    batch: { type: 'number', help: 'images per forward pass', default: 256 },
    json: { type: 'boolean', help: 'print the result as JSON' },
  },
  run,
};

async function run(flags: Flags, _positional: string[], host: Host): Promise<number> {
  const { backend, model, source } = await loadAdapted(flags, host);
  try {
    const data = await loadData(flags, source.geometry, host);
    const split = data.test ?? data.val;
    if (!split) throw new Error(`${flags.data} has no test or validation split to evaluate on`);
    if (data.classes.length !== model.config.classes)
      throw new Error(`the adapter's head has ${model.config.classes} classes, ${flags.data} has ${data.classes.length}`);
    const r = await new Trainer(model).evaluate(split, flags.batch as number);
    progress(Boolean(flags.json), host.stdout).info(
      'evaluation',
      { ...r },
      `accuracy ${(100 * r.accuracy).toFixed(2)}%, loss ${r.loss.toFixed(4)} on ${r.samples} images (${backend.kind})`,
    );
    return 0;
  } finally {
    model.dispose();
    backend.destroy();
  }
}
