#!/usr/bin/env node
// The Chromium conformance runner: serves dist/, the vectors folder and a small page on an HTTP server
// bound to 127.0.0.1 (random free port; the page is loaded as http://localhost, a secure context, which
// navigator.gpu needs), opens it in headless Chromium through playwright-core, prints every line the
// page reports, and exits with:
//   0  every case passed (and, with CI=true, WebGPU was used unless --backend wasm was asked for)
//   1  a case failed, the page failed, or it timed out
//   2  bad arguments
//   3  the runtime cannot start: no playwright-core, no Chromium, or the asked-for backend unavailable
// The server and the browser are always closed. Needs a build (npm run build) first.
//
// usage: node runtimes/browser-runner/run.mjs --vectors DIR [--backend webgpu|wasm] [--filter TEXT]
//          [--wasm-simd auto|relaxed|plain] [--timeout SECONDS] [--chromium PATH] [--serve]
//   --wasm-simd  which build of the Wasm kernels (default auto: relaxed SIMD where Chromium has it)
//   --serve    only serve the page and print its URL (open it in any browser; Ctrl-C to stop)
//   Chromium:  --chromium, else $CHROMIUM_PATH, else the first of /usr/bin/chromium, chromium-browser,
//              google-chrome found. Never downloads a browser.

import { existsSync, readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { closeServer, fileReply, serveIsolated, TYPES } from '../static-server.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..', '..');
const DIST = join(ROOT, 'dist');
const CI = ['true', '1'].includes(String(process.env.CI).toLowerCase());
const CHROMIUM_ARGS = [
  '--enable-unsafe-webgpu',
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
const USAGE = `usage: node runtimes/browser-runner/run.mjs --vectors DIR [--backend webgpu|wasm] [--filter TEXT] [--wasm-simd auto|relaxed|plain]
         [--timeout SECONDS] [--chromium PATH] [--serve]`;

class Exit extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

function parseArgs(argv) {
  const opts = {
    backend: undefined,
    filter: undefined,
    'wasm-simd': undefined,
    timeout: 300,
    chromium: undefined,
    serve: false,
    vectors: undefined,
  };
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i];
    if (key === '--serve') {
      opts.serve = true;
      continue;
    }
    if (key === '--help' || key === '-h') throw new Exit(0, USAGE);
    const value = argv[++i];
    if (!['--vectors', '--backend', '--filter', '--wasm-simd', '--timeout', '--chromium'].includes(key))
      throw new Exit(2, `unknown argument "${key}"\n${USAGE}`);
    if (value === undefined || value.startsWith('--')) throw new Exit(2, `${key} needs a value\n${USAGE}`);
    opts[key.slice(2)] = value;
  }
  if (!opts.vectors) throw new Exit(2, `--vectors DIR is required\n${USAGE}`);
  if (opts.backend !== undefined && !['webgpu', 'wasm'].includes(opts.backend))
    throw new Exit(2, `--backend must be webgpu or wasm, got "${opts.backend}"`);
  if (opts['wasm-simd'] !== undefined && !['auto', 'relaxed', 'plain'].includes(opts['wasm-simd']))
    throw new Exit(2, `--wasm-simd must be auto, relaxed or plain, got "${opts['wasm-simd']}"`);
  opts.timeout = Number(opts.timeout);
  if (!(opts.timeout > 0)) throw new Exit(2, '--timeout must be a positive number of seconds');
  opts.vectors = resolve(opts.vectors);
  if (!existsSync(opts.vectors) || !statSync(opts.vectors).isDirectory())
    throw new Exit(2, `cannot read the vectors folder ${opts.vectors}`);
  if (!existsSync(join(DIST, 'browser.js'))) throw new Exit(2, `${join(DIST, 'browser.js')} is missing: run npm run build first`);
  return opts;
}

/** Lists the *.safetensors names in the vectors folder. */
function vectorNames(dir) {
  return readdirSync(dir)
    .filter((n) => n.endsWith('.safetensors'))
    .sort();
}

/** The page, dist/, the vectors, and POST /report, which hands each message the page sends to `onReport`. */
function startServer(vectors, onReport) {
  return serveIsolated(async (req, path) => {
    if (req.method === 'POST' && path === '/report') {
      const chunks = [];
      for await (const c of req) chunks.push(c);
      onReport(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      return { status: 204, body: '' };
    }
    if (req.method !== 'GET') return { status: 405, body: 'method not allowed' };
    if (path === '/' || path === '/index.html') return fileReply(HERE, 'index.html');
    if (path === '/page.js') return fileReply(HERE, 'page.js');
    if (path === '/vectors/') return { body: JSON.stringify(vectorNames(vectors)), type: TYPES['.json'] };
    if (path.startsWith('/vectors/')) {
      const name = path.slice('/vectors/'.length);
      if (!vectorNames(vectors).includes(name)) return { status: 404, body: 'no such vector file' };
      return { body: await readFile(join(vectors, name)), type: 'application/octet-stream' };
    }
    if (path.startsWith('/dist/')) return fileReply(DIST, path.slice('/dist/'.length));
    if (path === '/favicon.ico') return { status: 204, body: '' };
    return null;
  });
}

function findChromium(explicit) {
  const candidates = explicit
    ? [explicit]
    : process.env.CHROMIUM_PATH
      ? [process.env.CHROMIUM_PATH]
      : ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable'];
  const found = candidates.find((p) => existsSync(p));
  if (!found) {
    throw new Exit(
      3,
      `no Chromium found (tried ${candidates.join(', ')}): install it (Debian: apt-get install chromium, ` +
        'see .ci/install-system.sh) or pass --chromium PATH / set CHROMIUM_PATH',
    );
  }
  return found;
}

async function loadPlaywright() {
  try {
    return (await import('playwright-core')).chromium;
  } catch (e) {
    throw new Exit(3, `playwright-core failed to load (${e.message}): npm install (it is a devDependency)`);
  }
}

const withTimeout = (promise, ms, what) => {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, fail) => {
      timer = setTimeout(() => fail(new Exit(1, `timed out after ${ms / 1000} s ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
};

async function main(argv) {
  const opts = parseArgs(argv);
  let finish;
  const finished = new Promise((ok) => {
    finish = ok;
  });
  const state = { fallback: false, result: undefined };
  const onReport = (m) => {
    if (m.text !== undefined)
      (m.type === 'error' || m.type === 'unavailable' || m.type === 'fallback' ? console.error : console.log)(m.text);
    if (m.type === 'fallback') state.fallback = true;
    if (m.type === 'done' || m.type === 'error' || m.type === 'unavailable') finish(m);
  };
  const server = await startServer(opts.vectors, onReport);
  const query = new URLSearchParams();
  if (opts.backend) query.set('backend', opts.backend);
  if (opts.filter) query.set('filter', opts.filter);
  if (opts['wasm-simd']) query.set('wasm-simd', opts['wasm-simd']);
  const url = `http://localhost:${server.address().port}/${String(query) ? `?${query}` : ''}`;

  let browser;
  const cleanup = async () => {
    const b = browser;
    browser = undefined;
    if (b) await withTimeout(b.close(), 15_000, 'closing Chromium').catch((e) => console.error(`# ${e.message}`));
    await closeServer(server);
  };
  const onSignal = (signal) => {
    console.error(`# ${signal}: closing`);
    cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    if (opts.serve) {
      console.log(`# serving ${url} (vectors ${opts.vectors}); Ctrl-C to stop`);
      await finished;
      return 0;
    }
    const chromium = await loadPlaywright();
    const executablePath = findChromium(opts.chromium);
    try {
      browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS, headless: true, timeout: 60_000 });
    } catch (e) {
      throw new Exit(3, `Chromium (${executablePath}) failed to start: ${e.message.split('\n')[0]}`);
    }
    console.log(`# chromium ${browser.version()} (${executablePath}), page ${url}`);
    const page = await browser.newPage();
    page.on('pageerror', (e) => onReport({ type: 'error', text: `# page error: ${e.stack ?? e.message}` }));
    page.on('crash', () => onReport({ type: 'error', text: '# the page crashed' }));
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') console.error(`# console.${m.type()}: ${m.text()}`);
    });
    await page.goto(url, { timeout: 30_000, waitUntil: 'load' });
    const m = await withTimeout(finished, opts.timeout * 1000, 'waiting for the page (raise --timeout)');
    if (m.type === 'unavailable') return 3;
    if (m.type !== 'done') return 1;
    if (CI && !opts.backend && state.fallback) {
      console.error('# CI: WebGPU was unavailable in Chromium (fell back to wasm); that is a failure in CI');
      return 1;
    }
    if (m.passed === 0) {
      console.error(`# no vector ran: is ${opts.vectors} the vectors folder?`);
      return 1;
    }
    return m.failed === 0 ? 0 : 1;
  } finally {
    await cleanup();
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    console.error(e instanceof Exit ? (e.code === 0 ? '' : 'browser-runner: ') + e.message : `browser-runner: ${e?.stack ?? e}`);
    process.exitCode = e instanceof Exit ? e.code : 1;
  },
);
