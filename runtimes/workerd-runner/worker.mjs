// The worker the workerd runner serves: runs the golden vectors POSTed to it on the Wasm backend of the
// package's edge entry ('snell-js' is resolved by the bundler with the workerd export condition).
//   GET  /describe           the backend's description
//   POST /run?name=FILE      body: the vector file; answers { lines, passed, failed }
import { createBackend, runConformance } from 'snell-js';

let backend;
const wasm = async () => (backend ??= await createBackend({ prefer: 'wasm' }));

export default {
  async fetch(request) {
    const url = new URL(request.url);
    try {
      if (url.pathname === '/describe') return new Response((await wasm()).description);
      if (request.method === 'POST' && url.pathname === '/run') {
        const name = url.searchParams.get('name') ?? 'unnamed.safetensors';
        const bytes = new Uint8Array(await request.arrayBuffer());
        const lines = [];
        const summary = await runConformance([{ name, bytes }], {
          backend: await wasm(),
          runtime: 'workerd',
          log: (l) => lines.push(l),
        });
        return Response.json({ lines, ...summary });
      }
      return new Response('not found', { status: 404 });
    } catch (e) {
      return new Response(String(e?.stack ?? e), { status: 500 });
    }
  },
};
