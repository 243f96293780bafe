// What the `snell` command line needs from the program that runs it (runtimes/node/host.ts builds it
// for Node, Deno and Bun). The commands reach the terminal, signals, files, images, the packaged data
// sets and the backends through this alone. Contract:
//   stdout, stderr   written in order, text as given (no newline added); isTTY: a terminal that can
//                    take carriage returns and ANSI line clears
//   onStopSignal     calls `listener` on each SIGINT or SIGTERM (Ctrl-C, a kill) until the returned
//                    function is called; while subscribed, a signal does not end the program by itself
//   exit             ends the program at once with `code` (the exit status), not returning
//   createBackend    a backend for this host; { prefer } as CreateBackendOptions takes it

import type { ImageDecoder } from '../data/decoder.js';
import type { SplitSet } from '../data/splits.js';
import type { BrownText, SpamEmail } from '../data/text-corpora.js';
import type { FileSystem } from '../io/file-system.js';
import type { BackendFactory } from '../train/recover.js';

export interface Writer {
  readonly isTTY: boolean;
  write(text: string): void;
}

export type StopSignal = 'SIGINT' | 'SIGTERM';

/** The data sets that come as packages beside the program (--data mnist, fashion-mnist, spam-assassin, brown). */
export interface PackagedDataSets {
  mnist(): Promise<SplitSet>;
  fashionMnist(): Promise<SplitSet>;
  /** The SpamAssassin emails, 20% held out stratified by spam/ham with `seed`. */
  spamAssassin(seed: number): Promise<{ train: SpamEmail[]; test: SpamEmail[] }>;
  /** The Brown corpus's texts, every 10th held out. */
  brown(): Promise<{ train: BrownText[]; validation: BrownText[] }>;
}

export interface Host {
  /** The command line's words after the program's name. */
  readonly args: readonly string[];
  readonly stdout: Writer;
  readonly stderr: Writer;
  onStopSignal(listener: (signal: StopSignal) => void): () => void;
  exit(code: number): never;
  readonly files: FileSystem;
  readonly decodeImage: ImageDecoder;
  readonly dataSets: PackagedDataSets;
  /** The runtime's name in reports (node, deno, bun). */
  readonly runtime: string;
  readonly createBackend: BackendFactory;
}

/** Writes `text` and a newline. */
export function writeLine(out: Writer, text: string): void {
  out.write(`${text}\n`);
}
