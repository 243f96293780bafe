// The package entry for deno (the "deno" export condition): the runtime-independent API plus this
// host's createBackend, and the Node host's files, packaged data sets, image folders and decoder
// (node:fs, which Deno 2 provides). Built by tsup into dist/deno.js.
export * from '../api.js';
export { createBackend } from './backend.js';
export { embeddedLmCheckpoint } from '../../src/pretrained/lm/index.js';
export { fileSource, nodeFolder, writeAtomic } from '../node/files.js';
export { loadFashionMnist, loadMnist } from '../node/packaged.js';
export { loadBrownCorpus, loadSpamAssassin } from '../node/text-corpora.js';
export { loadImageFolder } from '../node/image-folder.js';
export { decodeNode } from '../node/decode.js';
