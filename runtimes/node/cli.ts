#!/usr/bin/env node
// The `snell` program (the package's bin, dist/cli.js) for Node, Deno and Bun: the command line of
// src/cli/ on the Node host. It ends by returning, never by process.exit() (see backend.ts, Exit).

import { runCli } from '../../src/cli/main.js';
import { nodeHost } from './host.js';

// Deno 2 provides `process` too, with the same argv layout.
process.exitCode = await runCli(nodeHost(process.argv.slice(2)));
