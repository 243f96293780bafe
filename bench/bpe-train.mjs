// Byte-level BPE training speed: the Brown corpus's training texts (about 5.4 MB) to a vocabulary of
// 4096 ids on one core, with the trained tokenizer's compression (characters per token) over the
// held-out texts. Runs against the built package (npm run build first).
//
//   npm run bench:bpe
//   npm run bench:bpe -- --vocab 8192

import { loadBrownCorpus, Tokenizer, trainBpe } from '../dist/node.js';

const at = process.argv.indexOf('--vocab');
const vocabSize = at > 0 ? Number(process.argv[at + 1]) : 4096;
const { train, validation } = await loadBrownCorpus();
const texts = train.map((t) => t.text);
const chars = texts.reduce((a, t) => a + t.length, 0);
const t0 = performance.now();
const trained = trainBpe(texts, { vocabSize });
const seconds = (performance.now() - t0) / 1000;
const tokenizer = Tokenizer.fromJSON(trained.json, trained.config);
const held = validation.map((t) => t.text);
const tokens = held.reduce((a, t) => a + tokenizer.encode(t).length, 0);
const heldChars = held.reduce((a, t) => a + t.length, 0);
console.log(
  `trainBpe: ${(chars / 1e6).toFixed(2)} M characters of Brown to ${vocabSize} ids ` +
    `(${trained.json.model.merges.length} merges) in ${seconds.toFixed(2)} s; ` +
    `held-out ${(heldChars / tokens).toFixed(2)} characters per token`,
);
