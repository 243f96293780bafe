// The command line's Host (src/cli/host.ts) for Node, Deno 2 and Bun: process's streams, signals and
// exit, the node:fs file system, the pure-JS image decoders, the data set and text corpus packages in node_modules, and
// the backend of whichever of the three runtimes this is (../auto.ts).

import type { Host, StopSignal, Writer } from '../../src/cli/host.js';
import { createBackend, detectRuntime } from '../auto.js';
import { decodeNode } from './decode.js';
import { nodeFileSystem } from './file-system.js';
import { loadFashionMnist, loadMnist } from './packaged.js';
import { loadBrownCorpus, loadSpamAssassin } from './text-corpora.js';

/** A stream's writes, looked up at each call (so a replaced `write`, as tests make, takes them). */
function writer(stream: NodeJS.WriteStream): Writer {
  return {
    get isTTY() {
      return Boolean(stream.isTTY);
    },
    write: (text) => void stream.write(text),
  };
}

const STOP_SIGNALS: readonly StopSignal[] = ['SIGINT', 'SIGTERM'];

export function nodeHost(args: readonly string[] = []): Host {
  return {
    args,
    stdout: writer(process.stdout),
    stderr: writer(process.stderr),
    onStopSignal(listener) {
      const onSignal = (signal: NodeJS.Signals) => listener(signal as StopSignal);
      for (const s of STOP_SIGNALS) process.on(s, onSignal);
      return () => {
        for (const s of STOP_SIGNALS) process.off(s, onSignal);
      };
    },
    exit: (code) => process.exit(code),
    files: nodeFileSystem,
    decodeImage: decodeNode,
    dataSets: {
      mnist: () => loadMnist(),
      fashionMnist: () => loadFashionMnist(),
      spamAssassin: (seed) => loadSpamAssassin({ seed }),
      brown: () => loadBrownCorpus(),
    },
    runtime: detectRuntime(),
    createBackend: (options) => createBackend(options),
  };
}
