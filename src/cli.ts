#!/usr/bin/env node
// The `snell` command line (Node and Deno): one module per command in src/cli/.

import { type Command, parseFlags, usage, UsageError } from './cli/args.js';
import { conformance } from './cli/conformance.js';
import { evaluate } from './cli/eval.js';
import { exportAdapter } from './cli/export.js';
import { info } from './cli/info.js';
import { merge } from './cli/merge.js';
import { train } from './cli/train.js';

const COMMANDS: Record<string, Command> = { train, eval: evaluate, merge, export: exportAdapter, info, conformance };

const HELP = `usage: snell <command> [flags]   (snell <command> --help for its flags)

${Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(12)} ${c.summary}`).join('\n')}`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h') {
    console.log(HELP);
    return command === undefined ? 2 : 0;
  }
  const c = COMMANDS[command];
  try {
    if (!c) throw new UsageError(`unknown command "${command}"`);
    if (rest.includes('--help')) {
      console.log(usage(command, c.synopsis, c.flags));
      return 0;
    }
    const { flags, positional } = parseFlags(rest, c.flags);
    return await c.run(flags, positional);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`snell: ${e.message}\n\n${HELP}`);
      return 2;
    }
    console.error(`snell: ${(e as Error).message}`);
    return 1;
  }
}

// Deno 2 provides `process` too, with the same argv layout.
process.exitCode = await main(process.argv.slice(2));
