// How the bench writes BENCHMARKS.md (bench/sections.mjs): a run replaces its own section's generated
// text, carries the section's hand-written notes block over unchanged, leaves the other sections alone,
// and names the commit it ran on.

import { describe, expect, it } from 'vitest';
import { gitCommit, notesOf, TITLE, withSection } from '../bench/sections.mjs';

const doc = [
  TITLE,
  '<!-- section:cpu -->',
  '## CPU run 1',
  '',
  '<!-- notes:cpu -->',
  'A person wrote this.',
  '',
  '| and | a table |',
  '<!-- /notes:cpu -->',
  '<!-- /section:cpu -->',
  '',
  '<!-- section:gpu -->',
  '## GPU run',
  '<!-- /section:gpu -->',
  '',
].join('\n');

describe('BENCHMARKS.md sections', () => {
  it('replaces the generated part of one section and keeps its notes and the other sections', () => {
    const next = withSection(doc, 'cpu', '## CPU run 2');
    expect(next).not.toContain('CPU run 1');
    expect(next).toContain('## CPU run 2\n\n<!-- notes:cpu -->\nA person wrote this.\n\n| and | a table |\n<!-- /notes:cpu -->');
    expect(notesOf(next, 'cpu')).toBe(notesOf(doc, 'cpu'));
    expect(next.slice(next.indexOf('<!-- section:gpu -->'))).toBe(doc.slice(doc.indexOf('<!-- section:gpu -->')));
    expect(withSection(next, 'cpu', '## CPU run 2')).toBe(next);
  });

  it('gives a section without notes an empty notes block, and appends a new section under the title', () => {
    const gpu = withSection(doc, 'gpu', '## GPU run 2');
    expect(gpu).toContain('## GPU run 2\n\n<!-- notes:gpu -->\n<!-- /notes:gpu -->\n<!-- /section:gpu -->');
    const fresh = withSection('', 'cpu', '## first');
    expect(fresh.startsWith(TITLE)).toBe(true);
    expect(notesOf(fresh, 'cpu')).toBe('');
    const added = withSection(doc, 'arm', '## ARM run');
    expect(added.indexOf('<!-- section:arm -->')).toBeGreaterThan(added.indexOf('<!-- /section:gpu -->'));
    expect(notesOf(added, 'cpu')).toBe(notesOf(doc, 'cpu'));
  });

  it('names the commit of this checkout', () => {
    expect(gitCommit('.')).toMatch(/^[0-9a-f]{7,}( \(\+ uncommitted changes\))?$/);
    expect(gitCommit('/')).toBe('unknown (not a git checkout)');
  });
});
