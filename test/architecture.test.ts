// The repository's structure, checked from its import graph (test/support/imports.mjs; print it with
// `npm run structure`): the data path reads one way, src/ never touches a host, and the float64
// references stay with the tests. A new folder in src/ must be given its place in LAYERS.
import { describe, expect, it } from 'vitest';
import { area, code, importEdges, sourceFiles } from './support/imports.mjs';

/** src/'s folders from the bottom up: a folder imports only from its own layer or the ones below. */
const LAYERS: readonly (readonly string[])[] = [
  ['src/core'],
  ['src/backend.ts', 'src/contract', 'src/wasm', 'src/webgpu'],
  ['src/adapter'],
  ['src/model'],
  ['src/io', 'src/data', 'src/text'],
  ['src/train'],
  ['src/conformance', 'src/pretrained'],
  ['src/cli'],
  ['src/index.ts'],
];
/** Test-only code: production files never import it. */
const REFERENCE = 'src/reference';
/** What src/ may import besides itself: compiled kernels and shaders, and these packages. */
const ASSETS = ['build', 'wgsl'];
const PACKAGES = ['jpeg-js', 'pngjs', '@huggingface/tokenizers'];
const HOST_GLOBALS = /\b(process|Deno|Bun|navigator|window|document|self)\.|\b(createImageBitmap|OffscreenCanvas|Buffer)\b/;

const rank = (path: string): number => LAYERS.findIndex((layer) => layer.includes(area(path)));
const edges = importEdges();
const fromSrc = edges.filter((e) => e.from.startsWith('src/'));

describe('structure', () => {
  it('places every folder of src/ in a layer', () => {
    const unplaced = [
      ...new Set(
        sourceFiles()
          .filter((f) => f.startsWith('src/'))
          .map(area),
      ),
    ].filter((a) => a !== REFERENCE && rank(a) < 0);
    expect(unplaced).toEqual([]);
  });

  it('imports run down the data path, never up', () => {
    const upward = fromSrc
      .filter((e) => e.to.startsWith('src/') && !e.from.startsWith(REFERENCE) && !e.to.startsWith(REFERENCE))
      .filter((e) => rank(e.to) > rank(e.from))
      .map((e) => `${e.from} → ${e.to}`);
    expect(upward).toEqual([]);
  });

  it('keeps the float64 references out of production code', () => {
    const used = edges.filter((e) => e.to.startsWith(`${REFERENCE}/`) && !e.from.startsWith(`${REFERENCE}/`)).map((e) => e.from);
    expect(used).toEqual([]);
    const referenceImports = fromSrc
      .filter((e) => e.from.startsWith(REFERENCE) && e.to.startsWith('src/') && !e.to.startsWith(REFERENCE))
      .filter((e) => rank(e.to) > 1)
      .map((e) => `${e.from} → ${e.to}`);
    expect(referenceImports).toEqual([]);
  });

  it('keeps src/ free of any host: no node: module, no runtimes/, no host global', () => {
    const outside = fromSrc
      .filter((e) => !e.to.startsWith('src/') && !ASSETS.includes(e.to.split('/')[0]!) && !PACKAGES.includes(e.to))
      .map((e) => `${e.from} → ${e.spec}`);
    expect(outside).toEqual([]);
    const globals = sourceFiles()
      .filter((f) => f.startsWith('src/'))
      .flatMap((f) =>
        code(f)
          .split('\n')
          .flatMap((line, i) => (HOST_GLOBALS.test(line) ? [`${f}:${i + 1}: ${line.trim()}`] : [])),
      );
    expect(globals).toEqual([]);
  });

  it('lets the page (web/*.ts; its dev server aside) reach the package only through its public API', () => {
    const page = (path: string) => path.startsWith('web/') && path.endsWith('.ts');
    const internal = edges
      .filter((e) => page(e.from) && (e.to.startsWith('src/') || e.to.startsWith('runtimes/')))
      .map((e) => `${e.from} → ${e.spec}`);
    expect(internal).toEqual([]);
  });
});
