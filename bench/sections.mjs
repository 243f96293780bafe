// BENCHMARKS.md as the bench writes it: a title, then one section per kind of machine, each between
// <!-- section:NAME --> and <!-- /section:NAME -->. A run of bench/compare.mjs replaces its own
// section and nothing else. The one part of a section written by hand is its notes block at the end,
// between <!-- notes:NAME --> and <!-- /notes:NAME -->: a run carries it over unchanged. Anything
// else inside a section is the run's output and is replaced.

import { spawnSync } from 'node:child_process';

export const TITLE =
  '# Benchmarks: snell-js against PyTorch\n\n' +
  'Each section comes from one run of `npm run bench` on the machine it names, with the command and the commit it ran on; ' +
  'a run rewrites its own section only. Notes written by hand go in the block at the end of a section ' +
  '(between `<!-- notes:NAME -->` and `<!-- /notes:NAME -->`), which every run keeps.\n';

const literal = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const block = (kind, name) => new RegExp(`<!-- ${kind}:${literal(name)} -->([\\s\\S]*?)<!-- /${kind}:${literal(name)} -->`);

/** The notes block of section `name` in `doc` (its text between the markers), or '' when there is none. */
export function notesOf(doc, name) {
  const section = block('section', name).exec(doc)?.[1] ?? '';
  return block('notes', name).exec(section)?.[1].replace(/^\n/, '').replace(/\n$/, '') ?? '';
}

/** `doc` with section `name` replaced by `generated` plus the section's old notes (appended when absent). */
export function withSection(doc, name, generated) {
  const notes = notesOf(doc, name);
  const text = [
    `<!-- section:${name} -->`,
    generated,
    '',
    `<!-- notes:${name} -->`,
    ...(notes ? [notes] : []),
    `<!-- /notes:${name} -->`,
    `<!-- /section:${name} -->`,
  ].join('\n');
  const re = block('section', name);
  if (re.test(doc)) return doc.replace(re, () => text);
  const sections = doc.match(/<!-- section:[\s\S]*<!-- \/section:[^>]*-->/)?.[0];
  return `${TITLE}\n${sections ? `${sections}\n\n` : ''}${text}\n`;
}

/** The commit the checkout at `root` is on, "(+ uncommitted changes)" when tracked files differ from it. */
export function gitCommit(root) {
  const git = (...args) => spawnSync('git', args, { cwd: root, encoding: 'utf8' });
  const head = git('rev-parse', '--short', 'HEAD');
  if (head.status !== 0) return 'unknown (not a git checkout)';
  const dirty = git('status', '--porcelain', '--untracked-files=no').stdout.trim() !== '';
  return `${head.stdout.trim()}${dirty ? ' (+ uncommitted changes)' : ''}`;
}
