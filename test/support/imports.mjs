// The repository's import graph, read from the sources as text: every static import or export-from and
// every import() of a string literal in src/, runtimes/ and web/, resolved to a repository path.
// test/architecture.test.ts checks the layering rules against it; run directly, it prints the graph
// between folders (`npm run structure`), one line per pair with the number of imports.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SCANNED = ['src', 'runtimes', 'web'];
const SOURCE = /\.(ts|mjs|js)$/;
const SKIP = new Set(['node_modules', 'dist']);

/** Every source file below the scanned folders, as repository paths ('src/model/vit.ts'). */
export function sourceFiles() {
  const out = [];
  const walk = (dir) => {
    for (const name of readdirSync(join(ROOT, dir))) {
      if (SKIP.has(name)) continue;
      const path = `${dir}/${name}`;
      if (statSync(join(ROOT, path)).isDirectory()) walk(path);
      else if (SOURCE.test(name) && !name.endsWith('.d.ts')) out.push(path);
    }
  };
  for (const dir of SCANNED) walk(dir);
  return out.sort();
}

/** The source without comments, string contents kept (import specifiers are strings). */
export function code(path) {
  return readFileSync(join(ROOT, path), 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
}

const SPECIFIERS = [
  /\b(?:import|export)\s[^'"`;]*?\sfrom\s*['"]([^'"]+)['"]/g,
  /\bimport\s*['"]([^'"]+)['"]/g,
  /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
];

/** A relative or root-absolute specifier resolved to the repository path of the file it names (.js → .ts where that exists). */
function target(from, spec) {
  if (spec.startsWith('/')) return spec.slice(1); // a page's import, served from the repository root
  if (!spec.startsWith('.')) return spec;
  const path = relative(ROOT, resolve(ROOT, dirname(from), spec));
  if (path.endsWith('.js')) {
    const ts = path.replace(/\.js$/, '.ts');
    try {
      if (statSync(join(ROOT, ts)).isFile()) return ts;
    } catch {}
  }
  return path;
}

/** Every import edge: { from, to, spec }; `to` is a repository path, or the bare specifier of a package. */
export function importEdges(files = sourceFiles()) {
  const edges = [];
  for (const from of files) {
    const text = code(from);
    for (const pattern of SPECIFIERS) {
      for (const m of text.matchAll(pattern)) edges.push({ from, to: target(from, m[1]), spec: m[1] });
    }
  }
  return edges;
}

/** The folder a path counts under: src/<dir> (or the file itself for src/*.ts), else its top folder. */
export function area(path) {
  const parts = path.split('/');
  if (parts[0] === 'src' || parts[0] === 'runtimes') return parts.slice(0, 2).join('/');
  return parts[0].startsWith('node:') ? 'node:*' : parts[0];
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const counts = new Map();
  for (const { from, to } of importEdges()) {
    const key = `${area(from)} → ${area(to)}`;
    if (area(from) !== area(to)) counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  for (const [key, n] of [...counts].sort()) console.log(`${key}  (${n})`);
}
