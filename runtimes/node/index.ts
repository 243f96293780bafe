// The package entry for node (the "node" and "bun" export conditions): the shared API (../api.ts)
// plus this host's createBackend, files, packaged data sets, image folders and decoder. Built by tsup
// into dist/node.js.
export * from '../api.js';
export { createBackend } from './backend.js';
export { embeddedLmCheckpoint } from '../../src/pretrained/lm/index.js';
// file system access (node:fs, which Deno 2 and Bun provide too)
export { fileSource, nodeFolder, writeAtomic } from './files.js';
export { loadFashionMnist, loadMnist } from './packaged.js';
export { loadBrownCorpus, loadSpamAssassin } from './text-corpora.js';
export { loadImageFolder } from './image-folder.js';
export { decodeNode } from './decode.js';
