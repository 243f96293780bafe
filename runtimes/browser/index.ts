// The package entry for browser (the "browser" and "default" export conditions, and the types of
// dist/index.d.ts): the runtime-independent API plus this host's createBackend, and images from the
// page: dropped files decoded by the platform. Built by tsup into dist/browser.js.
export * from '../api.js';
export { createBackend } from './backend.js';
export { embeddedLmCheckpoint } from '../../src/pretrained/lm/index.js';
export { loadImageFolderFiles } from './image-folder.js';
export { decodeBrowser } from './decode.js';
