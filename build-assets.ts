// One loader for both build paths (tsup/esbuild and vitest/vite): `.wgsl` files become their text,
// `.wasm` and `.safetensors` files their bytes, embedded in the bundle so nothing is fetched at run time.
import { readFileSync } from 'node:fs';

/** The ES module source that embeds one asset. */
export function assetModule(path: string): string {
  if (path.endsWith('.wgsl')) return `export default ${JSON.stringify(readFileSync(path, 'utf8'))};`;
  const base64 = readFileSync(path).toString('base64');
  return `const s = ${JSON.stringify(base64)};
const bin = typeof atob === 'function' ? atob(s) : Buffer.from(s, 'base64').toString('binary');
const bytes = new Uint8Array(bin.length);
for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
export default bytes;`;
}

export const ASSET = /\.(wgsl|wasm|safetensors)$/;
