// An image folder in a file system (see folder.ts): class folders are the root's sub-folders, sorted;
// files are collected recursively inside each, sorted by path, and named by their path relative to the
// root. Files directly in the root belong to no class and are reported as skipped.

import type { FileSystem } from '../io/file-system.js';
import type { ImageDecoder } from './decoder.js';
import { type FolderEntry, type FolderImages, type FolderOptions, loadFolderEntries } from './folder.js';
import type { ImagePrep } from './prep.js';

/** The files under `dir`, as paths relative to `root` (`rel` names `dir` there). */
async function filesUnder(fs: FileSystem, root: string, rel: string): Promise<string[]> {
  const out: string[] = [];
  for (const d of await fs.list(fs.join(root, rel))) {
    const path = fs.join(rel, d.name);
    if (d.isDirectory) out.push(...(await filesUnder(fs, root, path)));
    else out.push(path);
  }
  return out;
}

export async function loadImageTree(
  fs: FileSystem,
  root: string,
  decode: ImageDecoder,
  prep: ImagePrep,
  options: FolderOptions,
): Promise<FolderImages> {
  const top = await fs.list(root);
  const classes = top
    .filter((d) => d.isDirectory)
    .map((d) => d.name)
    .sort();
  const entry = (label: string, file: string): FolderEntry => ({ label, file, read: () => fs.readFile(fs.join(root, file)) });
  const entries: FolderEntry[] = top.filter((d) => !d.isDirectory).map((d) => entry('', d.name));
  for (const c of classes) entries.push(...(await filesUnder(fs, root, c)).sort().map((p) => entry(c, p)));
  return loadFolderEntries(entries, classes, decode, prep, options);
}
