#!/usr/bin/env node
// A tiny static server for web/dist/ on http://localhost (a secure context, which WebGPU needs),
// cross-origin isolated (COOP + COEP) so the page can share a stop flag with its worker.
//   node web/serve.mjs [--port N]   (npm run web builds first; default port 8080, 0 for any free one)

import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.map': 'application/json', '.json': 'application/json', '.idx': 'application/octet-stream',
};

/** Serves `root` on 127.0.0.1:`port`; resolves to the server once listening. */
export function serve(root = join(HERE, 'dist'), port = 0) {
  const server = createServer(async (req, res) => {
    const send = (status, body, type = 'text/plain; charset=utf-8') => {
      res.writeHead(status, {
        'content-type': type, 'cache-control': 'no-store',
        'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp',
      });
      res.end(body);
    };
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed');
      const path = decodeURIComponent(new URL(req.url, 'http://localhost').pathname);
      const file = resolve(root, `.${sep}${path === '/' ? 'index.html' : path}`);
      if (!file.startsWith(root + sep) || !existsSync(file) || !statSync(file).isFile()) return send(404, 'not found');
      send(200, await readFile(file), TYPES[extname(file)] ?? 'application/octet-stream');
    } catch (e) {
      send(500, String(e?.message ?? e));
    }
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', () => ok(server));
  });
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
