// The CLI's names for the embedded pretrained models (--model embedded, the ViT; --model embedded-lm,
// the language model); they live in src/pretrained.
export { embeddedCheckpoint as embeddedFolder } from '../pretrained/index.js';
export { embeddedLmCheckpoint as embeddedLmFolder } from '../pretrained/lm/index.js';
