// Node and Deno: an image folder on disk (see folder.ts), read with node:fs. Class folders are the
// root's sub-folders, sorted; files are collected recursively inside each, sorted by path. Files
// directly in the root belong to no class and are reported as skipped.

import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { decodeNode } from './decode-node.js';
import { type FolderEntry, type FolderImages, type FolderOptions, loadFolderEntries } from './folder.js';
import type { ImagePrep } from './prep.js';

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const d of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, d.name);
    if (d.isDirectory()) out.push(...(await filesUnder(path)));
    else out.push(path);
  }
  return out;
}

export async function loadImageFolder(root: string, prep: ImagePrep, options: FolderOptions): Promise<FolderImages> {
  const top = await readdir(root, { withFileTypes: true });
  const classes = top.filter((d) => d.isDirectory()).map((d) => d.name).sort();
  const entry = (label: string, path: string): FolderEntry => ({ label, file: relative(root, path), read: async () => new Uint8Array(await readFile(path)) });
  const entries: FolderEntry[] = top.filter((d) => !d.isDirectory()).map((d) => entry('', join(root, d.name)));
  for (const c of classes) entries.push(...(await filesUnder(join(root, c))).sort().map((p) => entry(c, p)));
  return loadFolderEntries(entries, classes, decodeNode, prep, options);
}
