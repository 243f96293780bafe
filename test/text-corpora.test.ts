// The text corpora: Brown's tagged text becomes plain prose (tags gone, quotes and punctuation
// spaced as printed, paragraphs a line each), emails give their subject and the text of their MIME
// tree (plain parts first, HTML without tags, transfer encodings undone), and both splits follow
// their stated rule on the packaged corpora.

import { describe, expect, it } from 'vitest';
import { loadBrownCorpus, loadSpamAssassin } from '../runtimes/node/text-corpora.js';
import { brownCategories, brownText, emailText, spamAssassinCorpus } from '../src/data/text-corpora.js';

describe('Brown corpus text', () => {
  it('drops the tags and spaces words as printed, a paragraph a line', () => {
    const tagged = [
      '',
      '',
      "\tThe/at jury/nn said/vbd ``/`` it/pps was/bedz fine/jj ''/'' ,/, and/cc left/vbd ./.",
      '',
      'Then/rb (/( briefly/rb )/) 1/2/cd cups/nns ;/. ok/uh ?/.',
      '',
      '\tNew/jj-hl paragraph/nn-hl',
    ].join('\n');
    expect(brownText(tagged)).toBe('The jury said "it was fine", and left. Then (briefly) 1/2 cups; ok?\nNew paragraph');
  });

  it('reads cats.txt and refuses a malformed line', () => {
    expect(brownCategories('ca01 news\ncb02 editorial\n')).toEqual([
      { id: 'ca01', genre: 'news' },
      { id: 'cb02', genre: 'editorial' },
    ]);
    expect(() => brownCategories('ca01 news\nca02\n')).toThrow(/cats.txt line 2/);
  });

  it('loads the packaged corpus with every 10th text held out', async () => {
    const { train, validation } = await loadBrownCorpus();
    expect([train.length, validation.length]).toEqual([450, 50]);
    expect(validation.slice(0, 2).map((t) => t.id)).toEqual(['ca10', 'ca20']);
    expect(train[0]!.text.startsWith('The Fulton County Grand Jury said Friday an investigation of')).toBe(true);
    // every one of the million tokens had a /tag; the few slashes left are the words' own (fractions as 1/2)
    const all = [...train, ...validation].map((t) => t.text).join('\n');
    const words = all.split(/\s+/).length;
    expect(words).toBeGreaterThan(900_000);
    expect(all.split('/').length - 1).toBeLessThan(words / 1000);
    expect(new Set(validation.map((t) => t.genre)).size).toBe(15);
  });
});

const PLAIN = ['Subject: Hello', ' there', 'Content-Type: text/plain', '', 'Body   line one.', 'Line two.'].join('\r\n');

const MULTIPART = [
  'Subject: =?ignored?= deal',
  'Content-Type: multipart/alternative; boundary="XX"',
  '',
  'preamble',
  '--XX',
  'Content-Type: text/plain; charset=iso-8859-1',
  'Content-Transfer-Encoding: quoted-printable',
  '',
  'Caf=E9 prices =',
  'today',
  '--XX',
  'Content-Type: text/html',
  '',
  '<p>ignored html</p>',
  '--XX--',
].join('\n');

const HTML = [
  'Subject: Offer',
  'Content-Type: text/html; charset=utf-8',
  'Content-Transfer-Encoding: base64',
  '',
  btoa('<html><style>p{}</style><p>Buy &amp; save&nbsp;now</p><br>&#8364;5</html>'),
].join('\n');

describe('SpamAssassin emails', () => {
  it('gives the subject and the plain text, undoing quoted-printable and base64', () => {
    expect(emailText(PLAIN)).toEqual({ subject: 'Hello there', body: 'Body line one.\nLine two.' });
    expect(emailText(MULTIPART)).toEqual({ subject: '=?ignored?= deal', body: 'Café prices today' });
    expect(emailText(HTML)).toEqual({ subject: 'Offer', body: 'Buy & save now\n€5' });
  });

  it('labels spam 1 and splits each class in the same proportion', () => {
    const messages = Array.from({ length: 30 }, (_, i) => ({
      id: i,
      group: i < 10 ? 'spam-2' : 'easy-ham-1',
      text: `Subject: m${i}\n\nbody ${i}`,
    }));
    const { train, test } = spamAssassinCorpus(messages, { testFraction: 0.2, seed: 3 });
    expect(test.filter((e) => e.label === 1)).toHaveLength(2);
    expect(test.filter((e) => e.label === 0)).toHaveLength(4);
    expect(train).toHaveLength(24);
    expect(train[0]!.text).toMatch(/^m\d+\n\nbody \d+$/);
    expect(spamAssassinCorpus(messages, { seed: 3 })).toEqual({ train, test });
  });

  it('loads the packaged corpus: 6046 messages, 1896 spam, a fifth of each class held out', async () => {
    const { train, test } = await loadSpamAssassin();
    expect(train.length + test.length).toBe(6046);
    expect([...train, ...test].filter((e) => e.label === 1)).toHaveLength(1896);
    expect(test.filter((e) => e.label === 1)).toHaveLength(Math.round(0.2 * 1896));
    expect(test.filter((e) => e.label === 0)).toHaveLength(Math.round(0.2 * 4150));
    expect([...train, ...test].filter((e) => e.body.length > 0).length).toBeGreaterThan(6000);
  }, 60_000);
});
