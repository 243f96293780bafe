// The embedded language model (this folder: made by `npm run pretrain:lm`, see TRAINING.md), served
// as an in-memory checkpoint folder so it loads offline in every host with nothing to fetch:
//   const folder = await embeddedLmCheckpoint();
//   const lm = await loadLmCheckpoint(folder); const tokenizer = await loadLmTokenizer(folder);
//
// Its files (3.7 MB of F16 weights) come through a dynamic import of ./files.js, so the async
// function is the price of keeping them out of the main bundle: tsup splits dist/node.js, deno.js
// and browser.js (splitting: true), and the import becomes a chunk of its own that only a call
// loads. A subpath export would do the same but ask every caller for a second import specifier and
// every runtime's export map to agree; the dynamic import keeps one entry. The edge build (one file,
// no splitting) would inline the chunk, so the edge entry does not export this.

import { blobFolder } from '../../io/source-blob.js';
import type { Folder } from '../../io/source.js';

/** The embedded LLaMA (vocab 4096, hidden 128, 4 layers; BPE tokenizer) as a checkpoint Folder. */
export async function embeddedLmCheckpoint(): Promise<Folder> {
  const { EMBEDDED_LM_FILES } = await import('./files.js');
  return blobFolder(EMBEDDED_LM_FILES, 'embedded-lm');
}
