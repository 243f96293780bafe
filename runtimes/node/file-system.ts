// The FileSystem (src/io/file-system.ts) for Node, Deno 2 and Bun: node:fs/promises, node:path and
// node:os, with folders and atomic writes from files.ts.

import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { FileSystem } from '../../src/io/file-system.js';
import { fileSource, nodeFolder } from './files.js';

export const nodeFileSystem: FileSystem = {
  folder: nodeFolder,
  open: fileSource,
  readFile: async (path) => new Uint8Array(await readFile(path)),
  list: async (path) =>
    (await readdir(path, { withFileTypes: true })).map((d) => ({ name: d.name, isDirectory: d.isDirectory() })),
  stat: async (path) => ({ isDirectory: (await stat(path)).isDirectory() }),
  mkdir: async (path) => {
    await mkdir(path, { recursive: true });
  },
  remove: (path) => rm(path, { recursive: true, force: true }),
  rename,
  makeTempDir: (prefix) => mkdtemp(join(tmpdir(), prefix)),
  join,
  dirname,
  basename,
};
