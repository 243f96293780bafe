// The browser half of the conformance runner: imports the built package (dist/browser.js), fetches the
// vector files the server lists, runs them on the chosen backend and reports every line to the server
// (POST /report, in order) and to the page. Messages: info, fallback, line, done, unavailable, error.

const params = new URLSearchParams(location.search);
const prefer = params.get('backend') || undefined;
const wasmSimd = params.get('wasm-simd') || undefined;
const filter = params.get('filter') || undefined;
const out = document.getElementById('out');

let queue = Promise.resolve();
/** Show one message and post it; messages reach the server in the order they were sent. */
function send(message) {
  const row = document.createElement('div');
  row.className = message.text?.split(' ', 1)[0] ?? message.type;
  row.textContent = message.text ?? JSON.stringify(message);
  out.append(row);
  queue = queue.then(() =>
    fetch('/report', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(message) }).then(
      () => undefined,
      () => undefined,
    ),
  );
  return queue;
}

async function fetchBytes(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url}: ${response.status} ${response.statusText}`);
  return new Uint8Array(await response.arrayBuffer());
}

async function main() {
  const snell = await import('/dist/browser.js');
  send({ type: 'info', text: `# page: secure context ${isSecureContext}, navigator.gpu ${'gpu' in navigator}` });

  const listing = await fetch('/vectors/');
  if (!listing.ok) throw new Error(`GET /vectors/: ${listing.status}`);
  const names = (await listing.json()).filter((n) => !filter || n.includes(filter));
  const files = [];
  for (const name of names) files.push({ name, bytes: await fetchBytes(`/vectors/${encodeURIComponent(name)}`) });

  let backend;
  try {
    backend = await snell.createBackend({
      prefer,
      wasmSimd,
      onFallback: (reason) => send({ type: 'fallback', text: `# fallback to wasm: ${reason}` }),
    });
  } catch (e) {
    await send({ type: 'unavailable', text: `# cannot create the ${prefer ?? 'default'} backend: ${e?.message ?? e}` });
    return;
  }
  try {
    const runtime = snell.detectRuntime();
    send({ type: 'info', text: `# ${backend.kind} on ${runtime}: ${backend.description}` });
    const { passed, failed } = await snell.runConformance(files, {
      backend,
      runtime,
      log: (text) => send({ type: 'line', text }),
    });
    await send({ type: 'done', kind: backend.kind, passed, failed, text: `${passed} passed, ${failed} failed` });
  } finally {
    backend.destroy();
  }
}

main().catch((e) => send({ type: 'error', text: `# error: ${e?.stack ?? e}` }));
