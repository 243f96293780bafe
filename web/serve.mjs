#!/usr/bin/env node
// A tiny static server for web/dist/ on http://localhost (a secure context, which WebGPU needs),
// cross-origin isolated (COOP + COEP) so the page can share a stop flag with its worker.
//   node web/serve.mjs [--port N]   (npm run web builds first; default port 8080, 0 for any free one)

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fileReply, serveIsolated } from '../runtimes/static-server.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));

/** Serves `root` on 127.0.0.1:`port`; resolves to the server once listening. */
export function serve(root = join(HERE, 'dist'), port = 0) {
  return serveIsolated((req, path) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return { status: 405, body: 'method not allowed' };
    return fileReply(root, path === '/' ? 'index.html' : path);
  }, port);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--port');
  const port = i > 0 ? Number(process.argv[i + 1]) : 8080;
  const root = join(HERE, 'dist');
  if (!existsSync(join(root, 'index.html'))) {
    console.error('web: web/dist is missing: run npm run web:build (after npm run build)');
    process.exit(1);
  }
  const server = await serve(root, port);
  console.log(`web: serving ${root} at http://localhost:${server.address().port}/ (Ctrl-C to stop)`);
}
