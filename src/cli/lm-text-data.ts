// The text --data names for a language model, as training and held-out rows (src/text/lm-data.ts):
//   FILE.txt        causal LM over its documents: the text splits into documents at blank lines
//                   (a line holding only whitespace) and form feeds; held out: 10% of the windows,
//                   picked by a permutation seeded with --seed
//   DIR             classification: one sub-folder per class (sorted by name), each .txt file one
//                   example; held out: 20% of each class, seeded (splitTrainTest stratified by label);
//                   with --task causal, causal LM over every file, its documents split the same way
//   spam-assassin   the emails (subject, blank line, body): causal LM, or --task classify for ham/spam;
//                   held out: the corpus's 20% stratified by spam/ham, seeded with --seed
//   brown           the Brown corpus's texts: causal LM; held out: every 10th text (the corpus's rule)
// Causal rows are causalLmWindows of --seq-len tokens (documents joined with EOS); classification rows
// keep each text's first --seq-len tokens. --train-examples / --test-examples keep the first N of a
// seeded permutation of each side's rows (0: all).

import { shuffled } from '../core/dataset.js';
import type { CausalRows, ClassifyRows, LmRows } from '../train/lm-examples.js';
import { causalLmWindows, classificationBatch, type LabeledText, splitTrainTest } from '../text/lm-data.js';
import type { Tokenizer } from '../text/tokenizer.js';
import { type Flags, UsageError } from './args.js';
import type { Host } from './host.js';

export const TEXT_FILE_TEST_FRACTION = 0.1;
export const TEXT_FOLDER_TEST_FRACTION = 0.2;

export interface LmData {
  task: 'causal' | 'classify';
  train: LmRows;
  test: LmRows;
  /** Class names (classify), else null. */
  classes: string[] | null;
  /** A line saying what the data are and how they were split. */
  description: string;
}

/** A text's documents: the pieces between blank lines and form feeds, trimmed, empty ones dropped. */
export function textDocuments(text: string): string[] {
  return text
    .split(/\f|\r?\n[ \t]*\r?\n/)
    .map((d) => d.trim())
    .filter((d) => d.length > 0);
}

const exists = (host: Host, path: string) =>
  host.files.stat(path).then(
    (s) => ({ isDirectory: s.isDirectory }),
    () => null,
  );

const readUtf8 = async (host: Host, path: string) => new TextDecoder().decode(await host.files.readFile(path));

export async function loadLmData(flags: Flags, tokenizer: Tokenizer, seqLen: number, host: Host): Promise<LmData> {
  const data = flags.data as string | undefined;
  const seed = flags.seed as number;
  const task = flags.task as 'causal' | 'classify' | undefined;
  if (!data)
    throw new UsageError('--data is required: a .txt file, a folder of class sub-folders of .txt files, spam-assassin or brown');
  const causal = (docs: string[]) => causalLmWindows(tokenizer, docs, { seqLen });
  const classify = (items: LabeledText[], classes: number) => classificationBatch(tokenizer, items, { seqLen, classes });
  let out: LmData;
  if (data === 'spam-assassin') {
    const { train, test } = await host.dataSets.spamAssassin(seed);
    const split = `${train.length} train / ${test.length} held-out emails (20% stratified by spam/ham, seed ${seed})`;
    out =
      task === 'classify'
        ? {
            task: 'classify',
            train: classify(train, 2),
            test: classify(test, 2),
            classes: ['ham', 'spam'],
            description: `SpamAssassin ham/spam: ${split}`,
          }
        : {
            task: 'causal',
            train: causal(train.map((e) => e.text)),
            test: causal(test.map((e) => e.text)),
            classes: null,
            description: `SpamAssassin emails, causal LM: ${split}`,
          };
  } else if (data === 'brown') {
    if (task === 'classify') throw new UsageError('--data brown is causal LM only: drop --task classify');
    const { train, validation } = await host.dataSets.brown();
    out = {
      task: 'causal',
      train: causal(train.map((t) => t.text)),
      test: causal(validation.map((t) => t.text)),
      classes: null,
      description: `Brown corpus, causal LM: ${train.length} train / ${validation.length} held-out texts (every 10th held out)`,
    };
  } else {
    const kind = await exists(host, data);
    if (!kind)
      throw new UsageError(
        `--data ${data}: no such file or folder; give a .txt file, a folder of class sub-folders, spam-assassin or brown`,
      );
    out = kind.isDirectory
      ? await folderData(host, data, task, seed, causal, classify)
      : await fileData(host, data, task, seed, causal);
  }
  return {
    ...out,
    train: keepFirst(out.train, flags['train-examples'] as number, seed),
    test: keepFirst(out.test, flags['test-examples'] as number, seed + 1),
  };
}

async function fileData(
  host: Host,
  path: string,
  task: string | undefined,
  seed: number,
  causal: (docs: string[]) => CausalRows,
): Promise<LmData> {
  if (task === 'classify')
    throw new UsageError(
      `--data ${path} is one text file: --task classify needs a folder with one sub-folder of .txt files per class`,
    );
  const docs = textDocuments(await readUtf8(host, path));
  if (docs.length === 0) throw new UsageError(`--data ${path} holds no text: give a file with at least one non-blank line`);
  const all = causal(docs);
  const N = all.shape[0];
  if (N < 2)
    throw new UsageError(
      `--data ${path} makes ${N} window of --seq-len ${all.shape[1]} tokens; training and a held-out split need at least 2: give more text or a lower --seq-len`,
    );
  const order = shuffled(N, seed);
  const held = Math.max(1, Math.round(TEXT_FILE_TEST_FRACTION * N));
  const test = order.slice(0, held).sort((a, b) => a - b);
  const train = order.slice(held).sort((a, b) => a - b);
  return {
    task: 'causal',
    train: pickRows(all, train),
    test: pickRows(all, test),
    classes: null,
    description: `${path}: ${docs.length} document(s), ${N} windows of ${all.shape[1]} tokens, ${train.length} train / ${test.length} held out (10%, seed ${seed})`,
  };
}

async function folderData(
  host: Host,
  dir: string,
  task: string | undefined,
  seed: number,
  causal: (docs: string[]) => CausalRows,
  classify: (items: LabeledText[], classes: number) => ClassifyRows,
): Promise<LmData> {
  const classes = (await host.files.list(dir))
    .filter((e) => e.isDirectory)
    .map((e) => e.name)
    .sort();
  const items: LabeledText[] = [];
  for (const [label, name] of classes.entries()) {
    const files = (await host.files.list(`${dir}/${name}`))
      .filter((e) => !e.isDirectory && e.name.endsWith('.txt'))
      .map((e) => e.name)
      .sort();
    for (const f of files) {
      const text = (await readUtf8(host, `${dir}/${name}/${f}`)).trim();
      if (text) items.push({ text, label });
    }
  }
  if (task === 'causal') {
    if (items.length === 0) throw new UsageError(`--data ${dir} has no non-empty .txt file in its sub-folders`);
    return fileLikeFolder(dir, items, seed, causal);
  }
  const counts = classes.map((_, c) => items.filter((i) => i.label === c).length);
  const filled = classes.filter((_, c) => counts[c]! > 0);
  if (filled.length < 2)
    throw new UsageError(
      `--data ${dir} has ${filled.length === 1 ? `one class with text (${filled[0]})` : 'no class sub-folder with .txt files'}: ` +
        'a classifier needs at least two sub-folders, one per class, each with .txt files (one example per file)',
    );
  const empty = classes.filter((_, c) => counts[c] === 0);
  if (empty.length) throw new UsageError(`--data ${dir}: class folder(s) ${empty.join(', ')} hold no non-empty .txt file`);
  const { train, test } = splitTrainTest(items, { testFraction: TEXT_FOLDER_TEST_FRACTION, seed, labelOf: (i) => i.label });
  if (test.length === 0) throw new UsageError(`--data ${dir} has too few files for a held-out split: give at least 3 per class`);
  return {
    task: 'classify',
    train: classify(train, classes.length),
    test: classify(test, classes.length),
    classes,
    description: `${dir}: ${classes.length} classes (${classes.join(', ')}), ${train.length} train / ${test.length} held-out files (20% of each class, seed ${seed})`,
  };
}

function fileLikeFolder(dir: string, items: LabeledText[], seed: number, causal: (docs: string[]) => CausalRows): LmData {
  const all = causal(items.flatMap((i) => textDocuments(i.text)));
  const N = all.shape[0];
  if (N < 2) throw new UsageError(`--data ${dir} makes ${N} window: give more text or a lower --seq-len`);
  const order = shuffled(N, seed);
  const held = Math.max(1, Math.round(TEXT_FILE_TEST_FRACTION * N));
  return {
    task: 'causal',
    train: pickRows(
      all,
      order.slice(held).sort((a, b) => a - b),
    ),
    test: pickRows(
      all,
      order.slice(0, held).sort((a, b) => a - b),
    ),
    classes: null,
    description: `${dir}: ${items.length} files, causal LM, ${N - held} train / ${held} held-out windows (10%, seed ${seed})`,
  };
}

/** The rows at `indices`, in that order. */
export function pickRows<R extends LmRows>(rows: R, indices: readonly number[]): R {
  const T = rows.shape[1];
  const take = <A extends Int32Array | Uint32Array>(a: A, width: number): A => {
    const out = new (a.constructor as new (n: number) => A)(indices.length * width);
    indices.forEach((r, i) => out.set(a.subarray(r * width, (r + 1) * width), i * width));
    return out;
  };
  const lengths = take(rows.lengths, 1);
  const shape = [indices.length, T] as const;
  if ('inputIds' in rows) return { inputIds: take(rows.inputIds, T), labels: take(rows.labels, T), lengths, shape } as R;
  return { ids: take(rows.ids, T), labels: take(rows.labels, 1), lengths, shape } as R;
}

/** The first n rows of a seeded permutation, in their original order (n 0 or ≥ the rows: all). */
function keepFirst(rows: LmRows, n: number, seed: number): LmRows {
  const N = rows.shape[0];
  if (!n || n >= N) return rows;
  return pickRows(
    rows,
    shuffled(N, seed)
      .slice(0, n)
      .sort((a, b) => a - b),
  );
}
