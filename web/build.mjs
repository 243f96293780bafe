#!/usr/bin/env node
// Builds the fine-tuning page into web/dist/ (npm run web:build): bundles app.ts, worker.ts and lm-worker.ts with
// esbuild against the package's public browser build (the import "snell-js" resolves to
// dist/browser.js, made by npm run build), copies index.html and style.css, and writes the built-in
// data set (build-data.mjs). Everything the page needs is then in web/dist/, served as static files.

import { existsSync } from 'node:fs';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { buildData } from './build-data.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..');
export const OUT = join(HERE, 'dist');

export async function buildWeb() {
  const browser = join(ROOT, 'dist', 'browser.js');
  if (!existsSync(browser) || !existsSync(join(ROOT, 'dist', 'node.js')))
    throw new Error('dist/ is missing: run npm run build first');
  await rm(OUT, { recursive: true, force: true });
  await mkdir(OUT, { recursive: true });
  await build({
    entryPoints: { app: join(HERE, 'app.ts'), worker: join(HERE, 'worker.ts'), 'lm-worker': join(HERE, 'lm-worker.ts') },
    outdir: OUT,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    sourcemap: true,
    alias: { 'snell-js': browser },
    logLevel: 'warning',
  });
  await Promise.all(['index.html', 'style.css'].map((f) => copyFile(join(HERE, f), join(OUT, f))));
  await buildData(OUT, await import(pathToFileURL(join(ROOT, 'dist', 'node.js')).href));
  return OUT;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  buildWeb().then(
    (out) => console.log(`web: built ${out}`),
    (e) => {
      console.error(`web: ${e.message}`);
      process.exitCode = 1;
    },
  );
}
