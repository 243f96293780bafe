// Runtime-neutral createBackend for code that runs under more than one host (the CLI runs under Node,
// Deno and Bun; Bun takes Node's host file): detects the runtime and delegates. Library users get the right host file directly through
// the package's export conditions (deno, node, browser).

import type { Backend } from '../src/backend.js';
import { createBackend as browserBackend } from './browser/backend.js';
import { createBackend as denoBackend } from './deno/backend.js';
import { detectRuntime, type CreateBackendOptions } from './detect.js';
import { createBackend as nodeBackend } from './node/backend.js';

export { detectRuntime } from './detect.js';
export type { CreateBackendOptions, RuntimeName } from './detect.js';

/** The backend for whichever host this is (Deno, Node, else a browser or worker). */
export function createBackend(options: CreateBackendOptions = {}): Promise<Backend> {
  switch (detectRuntime()) {
    case 'deno':
      return denoBackend(options);
    case 'node':
    case 'bun':
      return nodeBackend(options);
    default:
      return browserBackend(options);
  }
}
