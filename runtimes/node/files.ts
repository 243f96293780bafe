// Files for Node and Deno 2 (node:fs/promises): a ByteSource over an open file handle, read by range,
// and a Folder over a directory whose writes are atomic: the bytes go to a temporary file in the same
// directory, are fsynced, and the temporary file is renamed over the target (then the directory is
// fsynced where the platform allows). A failed write removes its temporary file and leaves the old file.
// Writing into a directory that does not exist yet creates it (and its parents) first.
// Exported by the node and deno entries (index.ts), never by the browser's.

import { mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { type ByteSource, type ChunkSink, type Folder, checkPlainName } from '../../src/io/source.js';

/** Opens `path` for reading by range; call `close()` when done. */
export async function fileSource(path: string): Promise<ByteSource & { close(): Promise<void> }> {
  const handle = await open(path, 'r');
  const size = (await handle.stat()).size;
  return {
    size,
    async read(offset, length) {
      const end = Math.min(size, offset + length);
      const out = new Uint8Array(Math.max(0, end - offset));
      let done = 0;
      while (done < out.length) {
        const { bytesRead } = await handle.read(out, done, out.length - done, offset + done);
        if (bytesRead === 0) return out.subarray(0, done); // the file shrank since it was opened
        done += bytesRead;
      }
      return out;
    },
    close: () => handle.close(),
  };
}

/** The directory `dir` as a Folder. */
export function nodeFolder(dir: string): Folder {
  return {
    name: dir,
    async open(file) {
      checkPlainName(file, dir);
      try {
        return await fileSource(join(dir, file));
      } catch (e) {
        if ((e as { code?: string }).code === 'ENOENT') return null;
        throw e;
      }
    },
    write: (file, produce) => {
      checkPlainName(file, dir);
      return writeAtomic(join(dir, file), produce);
    },
  };
}

/** Writes `path` atomically from the chunks `produce` hands to its sink. */
export async function writeAtomic(path: string, produce: (sink: ChunkSink) => Promise<void>): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.${Date.now().toString(36)}${Math.random().toString(36).slice(2)}.tmp`);
  const handle = await open(tmp, 'wx');
  let closed = false;
  try {
    await produce(async (chunk) => {
      let done = 0;
      while (done < chunk.length) done += (await handle.write(chunk, done, chunk.length - done)).bytesWritten;
    });
    await handle.sync();
    await handle.close();
    closed = true;
    await rename(tmp, path);
  } catch (e) {
    if (!closed) await handle.close().catch(() => {});
    await rm(tmp, { force: true }).catch(() => {});
    throw e;
  }
  await syncDirectory(dirname(path));
}

async function syncDirectory(dir: string): Promise<void> {
  try {
    const h = await open(dir, 'r');
    try {
      await h.sync();
    } finally {
      await h.close();
    }
  } catch {
    // directories cannot be opened or synced on some platforms (Windows); the rename is still atomic
  }
}
