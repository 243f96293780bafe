// The static HTTP server the browser pages are served from (the Chromium conformance runner, the
// fine-tuning page web/, the package test's browser half): bound to 127.0.0.1, loaded as
// http://localhost (a secure context, which navigator.gpu needs), and cross-origin isolated (COOP +
// COEP on every response) so pages get shared memory: the Wasm backend's threads, the page's stop flag.

import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { extname, resolve, sep } from 'node:path';

export const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.idx': 'application/octet-stream',
};

/**
 * Serves what `route(request, path)` answers (path: the URL's decoded pathname): { status = 200, body,
 * type = plain text }, or null for 404; a throw is a 500 with its message. Resolves to the server once
 * listening on 127.0.0.1:`port` (0: any free one).
 */
export function serveIsolated(route, port = 0) {
  const server = createServer(async (req, res) => {
    const send = (status, body, type = 'text/plain; charset=utf-8') => {
      res.writeHead(status, {
        'content-type': type,
        'cache-control': 'no-store',
        'cross-origin-opener-policy': 'same-origin',
        'cross-origin-embedder-policy': 'require-corp',
      });
      res.end(body);
    };
    try {
      const reply = await route(req, decodeURIComponent(new URL(req.url, 'http://localhost').pathname));
      if (reply) send(reply.status ?? 200, reply.body, reply.type);
      else send(404, 'not found');
    } catch (e) {
      send(500, String(e?.message ?? e));
    }
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', () => ok(server));
  });
}

/** The file `root/rel` with its content type, or null when it is outside `root` (absolute) or not a file. */
export async function fileReply(root, rel) {
  const file = resolve(root, `.${sep}${rel}`);
  if (!file.startsWith(root + sep) || !existsSync(file) || !statSync(file).isFile()) return null;
  return { body: await readFile(file), type: TYPES[extname(file)] ?? 'application/octet-stream' };
}

/** Closes the server and its open connections. */
export function closeServer(server) {
  server.closeAllConnections?.();
  return new Promise((ok) => server.close(() => ok()));
}
