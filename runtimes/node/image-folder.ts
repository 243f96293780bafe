// Node and Deno: an image folder on disk (src/data/folder-tree.ts), read with node:fs and decoded with
// the pure-JS decoders (decode.ts).

import { loadImageTree } from '../../src/data/folder-tree.js';
import type { FolderImages, FolderOptions } from '../../src/data/folder.js';
import type { ImagePrep } from '../../src/data/prep.js';
import { decodeNode } from './decode.js';
import { nodeFileSystem } from './file-system.js';

export function loadImageFolder(root: string, prep: ImagePrep, options: FolderOptions): Promise<FolderImages> {
  return loadImageTree(nodeFileSystem, root, decodeNode, prep, options);
}
