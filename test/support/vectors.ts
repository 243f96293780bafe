// Where the tests read golden vectors: the repository's own copy (test/vectors), or VECTORS=DIR.
import { fileURLToPath } from 'node:url';

export const VECTORS_DIR: string = process.env.VECTORS ?? fileURLToPath(new URL('../vectors', import.meta.url));
