// The `snell` command line on a host (src/cli/host.ts): one module per command in this folder; the
// program that starts it (runtimes/node/cli.ts) builds the host and sets the exit status returned.
// `snell train` whose --model is a decoder language model (a checkpoint folder whose config.json has a
// decoder model_type, or embedded-lm) runs train-lm.ts, with its own flags; any other, train.ts.

import { type Command, parseFlags, usage, UsageError } from './args.js';
import { conformance } from './conformance.js';
import { evaluate } from './eval.js';
import { exportAdapter } from './export.js';
import { generate } from './generate.js';
import { type Host, writeLine } from './host.js';
import { info } from './info.js';
import { merge } from './merge.js';
import { isLmModel } from './lm-source.js';
import { train } from './train.js';
import { trainLm } from './train-lm.js';

const COMMANDS: Record<string, Command> = { train, generate, eval: evaluate, merge, export: exportAdapter, info, conformance };

/** The command that runs `name`: train-lm for `train` with a language model's --model. */
async function commandFor(name: string, rest: readonly string[], host: Host): Promise<Command | undefined> {
  const at = rest.indexOf('--model');
  const model = at >= 0 ? rest[at + 1] : undefined;
  if (name === 'train' && model !== undefined && (await isLmModel(model, host.files))) return trainLm;
  return COMMANDS[name];
}

const HELP = `usage: snell <command> [flags]   (snell <command> --help for its flags)

${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(12)} ${c.summary}`)
  .join('\n')}`;

/** Runs the command `host.args` names; resolves to the exit status. */
export async function runCli(host: Host): Promise<number> {
  const [command, ...rest] = host.args;
  if (command === undefined || command === '--help' || command === '-h') {
    writeLine(host.stdout, HELP);
    return command === undefined ? 2 : 0;
  }
  try {
    const c = await commandFor(command, rest, host);
    if (!c) throw new UsageError(`unknown command "${command}"`);
    if (rest.includes('--help')) {
      writeLine(host.stdout, usage(command, c.synopsis, c.flags));
      return 0;
    }
    const { flags, positional } = parseFlags(rest, c.flags);
    return await c.run(flags, positional, host);
  } catch (e) {
    if (e instanceof UsageError) {
      writeLine(host.stderr, `snell: ${e.message}\n\n${HELP}`);
      return 2;
    }
    writeLine(host.stderr, `snell: ${(e as Error).message}`);
    return 1;
  }
}
