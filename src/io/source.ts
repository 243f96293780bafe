// Byte sources and folders: how the readers and writers of src/io reach files without touching the
// host. A ByteSource serves byte ranges on demand (a file handle, a Blob, bytes in memory), so a reader
// can take a header first and each tensor when asked. A Folder names files: it opens them as sources
// and replaces them atomically with what a producer writes in chunks.
// Hosts: runtimes/node/files.ts (Node, Deno 2: node:fs/promises), source-blob.ts (browsers, or memory).

import { CheckpointError } from './errors.js';

export interface ByteSource {
  /** Total bytes. */
  readonly size: number;
  /** Exactly `length` bytes from `offset` (fewer only when the source is shorter than it claimed). */
  read(offset: number, length: number): Promise<Uint8Array>;
  /** Releases the underlying handle, where there is one. */
  close?(): Promise<void>;
}

/** Receives the chunks of a file being written, in order. */
export type ChunkSink = (chunk: Uint8Array) => Promise<void>;

export interface Folder {
  /** A path or a label, used in messages. */
  readonly name: string;
  /** The file as a source, or null when it does not exist. */
  open(file: string): Promise<ByteSource | null>;
  /**
   * Replaces `file` with what `produce` writes, atomically: until `produce` resolves and the bytes are
   * stored, an existing file is untouched; when `produce` throws, nothing changes.
   */
  write(file: string, produce: (sink: ChunkSink) => Promise<void>): Promise<void>;
}

/** A source over bytes already in memory (views, never copies). */
export function bytesSource(bytes: Uint8Array): ByteSource {
  return {
    size: bytes.length,
    read: async (offset, length) => bytes.subarray(offset, Math.min(bytes.length, offset + length)),
  };
}

/** The whole of a small file as UTF-8 text, or null when it does not exist; refuses files over `limit` bytes. */
export async function readText(folder: Folder, file: string, limit = 64 * 2 ** 20): Promise<string | null> {
  const src = await folder.open(file);
  if (!src) return null;
  try {
    if (src.size > limit)
      throw new CheckpointError(`${folder.name}/${file}`, `${src.size} bytes is too large for a JSON file (limit ${limit})`);
    return new TextDecoder().decode(await src.read(0, src.size));
  } finally {
    await src.close?.();
  }
}

/** Writes text atomically. */
export async function writeText(folder: Folder, file: string, text: string): Promise<void> {
  await folder.write(file, (sink) => sink(new TextEncoder().encode(text)));
}

/** Refuses file names that would leave the folder (a shard name read from an index file, say). */
export function checkPlainName(file: string, where: string): void {
  if (!file || /[/\\]|^\.\.?$/.test(file) || file.includes('\0')) {
    throw new CheckpointError(where, `"${file}" is not a plain file name in the same folder`);
  }
}
