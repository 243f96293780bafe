// Browser files (and memory): a ByteSource over a Blob or File, read by slices, and a Folder over a
// set of named Blobs (e.g. the files of an <input type="file" multiple>). Writes collect their chunks
// and replace the entry only once complete (atomic); the written Blob is then in `files`, ready to be
// downloaded or stored (OPFS, IndexedDB) by the caller.

import { type ByteSource, type Folder, checkPlainName } from './source.js';

export function blobSource(blob: Blob): ByteSource {
  return {
    size: blob.size,
    read: async (offset, length) => new Uint8Array(await blob.slice(offset, Math.min(blob.size, offset + length)).arrayBuffer()),
  };
}

export interface BlobFolder extends Folder {
  /** The folder's files by name, written ones included. */
  readonly files: Map<string, Blob>;
}

/** A folder of Blobs: from File objects (keyed by their `name`) or a record of named Blobs or bytes. */
export function blobFolder(initial: Iterable<File> | Record<string, Blob | Uint8Array> = {}, name = 'memory'): BlobFolder {
  const files = new Map<string, Blob>();
  if (Symbol.iterator in initial) {
    for (const f of initial as Iterable<File>) files.set(f.name, f);
  } else {
    for (const [k, v] of Object.entries(initial)) files.set(k, v instanceof Blob ? v : new Blob([v as Uint8Array<ArrayBuffer>]));
  }
  return {
    name,
    files,
    async open(file) {
      checkPlainName(file, name);
      const b = files.get(file);
      return b ? blobSource(b) : null;
    },
    async write(file, produce) {
      checkPlainName(file, name);
      const parts: Uint8Array<ArrayBuffer>[] = [];
      await produce(async (chunk) => {
        parts.push(chunk.slice());
      });
      files.set(file, new Blob(parts));
    },
  };
}
