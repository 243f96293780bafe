// The package test's browser half: bundles a page script from the installed package with esbuild (the
// "browser" condition), serves it with the case file (runtimes/static-server.mjs), loads it in
// headless Chromium and returns the lines the page printed.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { closeServer, serveIsolated } from '../../runtimes/static-server.mjs';

const PAGE = `import { createBackend, runConformance } from 'snell-js';
const name = '__CASE__';
const lines = [];
try {
  const bytes = new Uint8Array(await (await fetch('/' + name)).arrayBuffer());
  const backend = await createBackend();
  lines.push('# browser: ' + backend.description);
  await runConformance([{ name, bytes }], { backend, runtime: 'browser', log: (l) => lines.push(l) });
  backend.destroy();
} catch (e) {
  lines.push('FAIL ' + (e?.stack ?? e));
}
globalThis.done = lines;`;

export async function runInChromium(project, { esbuild, caseName }) {
  const { build } = await import(join(esbuild, 'lib', 'main.js'));
  await writeFile(join(project, 'page.mjs'), PAGE.replace('__CASE__', caseName));
  await build({
    entryPoints: [join(project, 'page.mjs')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    outfile: join(project, 'www', 'page.js'),
    absWorkingDir: project,
    logLevel: 'warning',
  });
  const files = {
    '/': { body: '<!doctype html><script type="module" src="/page.js"></script>', type: 'text/html' },
    '/page.js': { body: await readFile(join(project, 'www', 'page.js')), type: 'text/javascript' },
    [`/${caseName}`]: { body: await readFile(join(project, caseName)), type: 'application/octet-stream' },
  };
  const server = await serveIsolated((_req, path) => files[path] ?? null);
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: ['--enable-unsafe-webgpu', '--no-sandbox', '--no-first-run', '--disable-background-networking'],
  });
  try {
    const page = await browser.newPage();
    await page.goto(`http://localhost:${server.address().port}/`);
    await page.waitForFunction(() => globalThis.done, undefined, { timeout: 120_000 });
    return await page.evaluate(() => globalThis.done);
  } finally {
    await browser.close();
    await closeServer(server);
  }
}
