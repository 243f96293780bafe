// Files from the page: a folder dropped on a drop zone (walked through webkitGetAsEntry) or picked
// with <input webkitdirectory>, as files with their paths ("root/class/name.png"); and the drop zones themselves.

import type { PathFile } from './protocol.js';

export function pickedFiles(input: HTMLInputElement): PathFile[] {
  return Array.from(input.files ?? [], (file) => ({ path: file.webkitRelativePath || file.name, file }));
}

const entries = (dir: FileSystemDirectoryEntry) =>
  new Promise<FileSystemEntry[]>((ok, fail) => {
    const reader = dir.createReader();
    const all: FileSystemEntry[] = [];
    const next = () =>
      reader.readEntries((batch) => {
        if (!batch.length) return ok(all);
        all.push(...batch);
        next();
      }, fail);
    next();
  });

async function walk(entry: FileSystemEntry, out: PathFile[]): Promise<void> {
  if (entry.isFile) {
    const file = await new Promise<File>((ok, fail) => (entry as FileSystemFileEntry).file(ok, fail));
    out.push({ path: entry.fullPath.replace(/^\//, ''), file });
  } else if (entry.isDirectory) {
    for (const e of await entries(entry as FileSystemDirectoryEntry)) await walk(e, out);
  }
}

export async function droppedFiles(t: DataTransfer): Promise<PathFile[]> {
  const out: PathFile[] = [];
  const roots = Array.from(t.items, (i) => i.webkitGetAsEntry()).filter((e): e is FileSystemEntry => e !== null);
  for (const e of roots) await walk(e, out);
  return out;
}

/** Makes the element a drop zone: highlighted while something is dragged over it, `onDrop` on a drop. */
export function dropZone(el: HTMLElement, onDrop: (t: DataTransfer) => void): void {
  el.ondragover = (e) => {
    e.preventDefault();
    el.classList.add('over');
  };
  el.ondragleave = () => el.classList.remove('over');
  el.ondrop = (e) => {
    e.preventDefault();
    el.classList.remove('over');
    if (e.dataTransfer) onDrop(e.dataTransfer);
  };
}
