// The CLI's name for the embedded pretrained ViT (--model embedded); it lives in src/pretrained.
export { embeddedCheckpoint as embeddedFolder } from '../pretrained/index.js';
