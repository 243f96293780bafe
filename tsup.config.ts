import { copyFileSync, mkdirSync } from 'node:fs';
import { basename } from 'node:path';
import { defineConfig } from 'tsup';
import { ASSET, assetModule } from './build-assets.js';

interface Build {
  onResolve: (o: { filter: RegExp }, cb: (a: { path: string }) => { path: string; external: boolean }) => void;
  onLoad: (o: { filter: RegExp }, cb: (a: { path: string }) => { contents: string; loader: 'js' }) => void;
  onEnd: (cb: () => void) => void;
}

const embedAssets = {
  name: 'snell-assets',
  setup(build: Build) {
    build.onLoad({ filter: ASSET }, ({ path }) => ({ contents: assetModule(path), loader: 'js' }));
  },
};

/** The edge build: build/*.wasm stay imports of files copied beside the bundle (dist/NAME.wasm). */
const WASM_FILES = [
  'build/snell.wasm',
  'build/snell-shared.wasm',
  'build/snell-relaxed.wasm',
  'build/snell-relaxed-shared.wasm',
  'build/prep.wasm',
];
const wasmFiles = {
  name: 'snell-wasm-files',
  setup(build: Build) {
    build.onResolve({ filter: /\.wasm$/ }, ({ path }) => ({ path: `./${basename(path)}`, external: true }));
    build.onEnd(() => {
      mkdirSync('dist', { recursive: true });
      for (const file of WASM_FILES) copyFileSync(file, `dist/${basename(file)}`);
    });
  },
};

/**
 * Packages bundled into dist/ rather than left as imports, so a page can load dist/browser.js as it
 * is; each one's licence goes into dist/ beside it.
 */
const BUNDLED = ['@huggingface/tokenizers'];
const bundledLicences = {
  name: 'snell-bundled-licences',
  setup(build: Build) {
    build.onEnd(() => {
      mkdirSync('dist', { recursive: true });
      for (const pkg of BUNDLED)
        copyFileSync(`node_modules/${pkg}/LICENSE`, `dist/LICENSE.${pkg.replace(/^@/, '').replace('/', '-')}.txt`);
    });
  },
};

const common = {
  format: ['esm' as const],
  target: 'es2022',
  platform: 'neutral' as const,
  external: ['webgpu', /^node:/],
  noExternal: BUNDLED,
  // Keep `node:` on built-in imports (tsup strips it by default; only Node and Deno 2 accept bare "fs").
  removeNodeProtocol: false,
};

// dist/ is emptied by the build script before both builds run (they run side by side).
export default defineConfig([
  {
    ...common,
    entry: {
      node: 'runtimes/node/index.ts',
      deno: 'runtimes/deno/index.ts',
      browser: 'runtimes/browser/index.ts',
      cli: 'runtimes/node/cli.ts',
    },
    dts: { entry: { index: 'runtimes/browser/index.ts' } },
    splitting: true,
    esbuildPlugins: [embedAssets, bundledLicences],
  },
  {
    ...common,
    entry: { edge: 'runtimes/edge/index.ts' },
    splitting: false,
    esbuildPlugins: [wasmFiles, embedAssets],
  },
]);
