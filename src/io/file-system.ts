// A host's file system by path, as the command line and its run checkpoints use it: the contract every
// host implementation (runtimes/node/file-system.ts) keeps. Paths are the host's own (its separator,
// its notion of absolute); join, dirname and basename are the host's rules for them. Errors are the
// host's own, passed on unchanged so their messages reach the user as the host words them.

import type { ByteSource, Folder } from './source.js';

export interface DirectoryEntry {
  name: string;
  isDirectory: boolean;
}

export interface FileSystem {
  /** The directory `path` as a Folder: opens its files as sources and replaces them atomically. */
  folder(path: string): Folder;
  /** The file `path`, read by range; rejects when it cannot be opened. Call `close()` when done. */
  open(path: string): Promise<ByteSource & { close(): Promise<void> }>;
  /** The whole file; rejects when it cannot be read. */
  readFile(path: string): Promise<Uint8Array>;
  /** The entries of a directory, in the host's order; rejects when it cannot be read. */
  list(path: string): Promise<DirectoryEntry[]>;
  /** Whether `path` is a directory; rejects when nothing is there. */
  stat(path: string): Promise<{ isDirectory: boolean }>;
  /** Creates the directory and any missing parents; nothing happens when it exists. */
  mkdir(path: string): Promise<void>;
  /** Removes a file or a directory with everything in it; nothing happens when it does not exist. */
  remove(path: string): Promise<void>;
  /** Moves `from` to `to` in one step (a directory too); replaces a file at `to`. */
  rename(from: string, to: string): Promise<void>;
  /** Creates a new, empty directory in the host's temporary folder, its name starting with `prefix`. */
  makeTempDir(prefix: string): Promise<string>;
  join(...parts: string[]): string;
  dirname(path: string): string;
  basename(path: string): string;
}
