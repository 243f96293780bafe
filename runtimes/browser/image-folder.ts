// Browsers: an image folder picked by the user (src/data/folder.ts), as the File list of
// <input type="file" webkitdirectory> (each file's webkitRelativePath is "root/class/…/name").
// Files directly in the root belong to no class and are reported as skipped.

import { type FolderEntry, type FolderImages, type FolderOptions, loadFolderEntries } from '../../src/data/folder.js';
import type { ImagePrep } from '../../src/data/prep.js';
import { decodeBrowser } from './decode.js';

export async function loadImageFolderFiles(
  files: Iterable<File>,
  prep: ImagePrep,
  options: FolderOptions,
): Promise<FolderImages> {
  const entries: FolderEntry[] = [];
  const classes = new Set<string>();
  for (const f of files) {
    const parts = (f.webkitRelativePath || f.name).split('/');
    const inClass = parts.length >= 3;
    if (inClass) classes.add(parts[1]);
    entries.push({
      label: inClass ? parts[1] : '',
      file: parts.slice(1).join('/') || f.name,
      read: async () => new Uint8Array(await f.arrayBuffer()),
    });
  }
  entries.sort((a, b) => (a.label === b.label ? (a.file < b.file ? -1 : 1) : a.label < b.label ? -1 : 1));
  return loadFolderEntries(entries, [...classes].sort(), decodeBrowser, prep, options);
}
