#!/usr/bin/env node
// The `snell` command line (Node and Deno). Commands:
//   snell conformance --vectors DIR [--backend webgpu|wasm] [--filter TEXT]

import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createBackend, detectRuntime } from '../runtimes/auto.js';
import { FAMILIES, isVectorFile, runConformance } from './conformance/run.js';
import type { BackendKind } from './backend.js';

const USAGE = `usage: snell conformance --vectors DIR [--backend webgpu|wasm] [--filter TEXT]

  conformance   run every golden vector (${FAMILIES.map((f) => `${f}*`).join(', ')}) in DIR and print one line per case;
                exits 1 if any case fails
  --vectors     folder of .safetensors vectors
  --backend     force a backend (default: WebGPU when an adapter exists, else Wasm)
  --filter      run only the files whose name contains TEXT`;

class UsageError extends Error {}

function parseFlags(args: string[]): Map<string, string> {
  const flags = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const key = args[i];
    if (!key.startsWith('--')) throw new UsageError(`unexpected argument "${key}"`);
    const value = args[i + 1];
    if (value === undefined || value.startsWith('--')) throw new UsageError(`${key} needs a value`);
    flags.set(key.slice(2), value);
    i++;
  }
  return flags;
}

async function conformance(flags: Map<string, string>): Promise<number> {
  const dir = flags.get('vectors');
  if (!dir) throw new UsageError('--vectors DIR is required');
  const prefer = flags.get('backend');
  if (prefer !== undefined && prefer !== 'webgpu' && prefer !== 'wasm') {
    throw new UsageError(`--backend must be webgpu or wasm, got "${prefer}"`);
  }
  for (const key of flags.keys()) {
    if (!['vectors', 'backend', 'filter'].includes(key)) throw new UsageError(`unknown flag --${key}`);
  }
  let names: string[];
  try {
    names = (await readdir(dir)).sort();
  } catch (e) {
    console.error(`snell: cannot read the vectors folder ${dir}: ${(e as Error).message}`);
    return 2;
  }
  const vectors = names.filter(isVectorFile);
  const others = names.filter((n) => n.endsWith('.safetensors') && !isVectorFile(n));
  if (vectors.length === 0) {
    console.error(`snell: no ${FAMILIES.map((f) => `${f}*.safetensors`).join(' or ')} vectors in ${dir}`);
    return 2;
  }
  const filter = flags.get('filter');
  const files = [];
  for (const name of vectors) {
    if (!filter || name.includes(filter)) files.push({ name, bytes: new Uint8Array(await readFile(join(dir, name))) });
  }
  const backend = await createBackend({ prefer: prefer as BackendKind | undefined });
  try {
    const runtime = detectRuntime();
    console.log(`# ${backend.kind} on ${runtime}: ${backend.description}`);
    const { passed, failed } = await runConformance(files, { backend, runtime, log: (l) => console.log(l) });
    if (others.length) console.log(`# not checked by this version (other families): ${others.join(', ')}`);
    console.log(`${passed} passed, ${failed} failed`);
    return failed === 0 && passed > 0 ? 0 : 1;
  } finally {
    backend.destroy();
  }
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === undefined || command === '--help' || command === '-h') {
      console.log(USAGE);
      return command === undefined ? 2 : 0;
    }
    if (command === 'conformance') return await conformance(parseFlags(rest));
    throw new UsageError(`unknown command "${command}"`);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`snell: ${e.message}\n${USAGE}`);
      return 2;
    }
    console.error(`snell: ${(e as Error).message}`);
    return 1;
  }
}

// Deno 2 provides `process` too, with the same argv layout.
process.exitCode = await main(process.argv.slice(2));
