import { defineConfig } from 'tsup';
import { ASSET, assetModule } from './build-assets.js';

const embedAssets = {
  name: 'snell-assets',
  setup(build: { onLoad: (o: { filter: RegExp }, cb: (a: { path: string }) => { contents: string; loader: 'js' }) => void }) {
    build.onLoad({ filter: ASSET }, ({ path }) => ({ contents: assetModule(path), loader: 'js' }));
  },
};

export default defineConfig({
  entry: {
    node: 'src/entries/node.ts',
    deno: 'src/entries/deno.ts',
    browser: 'src/entries/browser.ts',
    cli: 'src/cli.ts',
  },
  format: ['esm'],
  target: 'es2022',
  platform: 'neutral',
  dts: { entry: { index: 'src/entries/browser.ts' } },
  clean: true,
  splitting: true,
  external: ['webgpu', /^node:/],
  // Keep `node:` on built-in imports (tsup strips it by default; only Node and Deno 2 accept bare "fs").
  removeNodeProtocol: false,
  esbuildPlugins: [embedAssets],
});
