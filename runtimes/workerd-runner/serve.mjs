// Serves a worker in workerd (the `workerd` npm package's binary) on a free 127.0.0.1 port: bundles
// `entry` with esbuild under the workerd export conditions, keeps its .wasm imports as Wasm modules
// (copied beside the bundle, as wrangler does), writes the capnp config and starts `workerd serve`.
// Used by the workerd conformance runner and the package test.

import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { constants as osConstants, tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** How long workerd gets to answer its first request. */
const STARTUP_MS = 60_000;

/** Thrown when workerd cannot start at all (no binary, or one that cannot be run): runners exit 3 on it. */
export class WorkerdUnavailable extends Error {}

/** The workerd binary of the devDependency, else one on PATH. */
export function findWorkerd() {
  const local = join(ROOT, 'node_modules', '.bin', 'workerd');
  if (existsSync(local)) return local;
  throw new WorkerdUnavailable(
    `no workerd binary at ${local}: npm install (workerd is a devDependency; allowScripts must approve it)`,
  );
}

function freePort() {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => ok(port));
    });
  });
}

const capnp = (port, modules) => `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "main", worker = .worker) ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);
const worker :Workerd.Worker = (
  modules = [
    (name = "worker.js", esModule = embed "worker.js"),
${modules.map((m) => `    (name = "${m}", wasm = embed "${m}"),`).join('\n')}
  ],
  compatibilityDate = "2025-06-01",
);
`;

/** Bundles `entry` into dir/worker.js and copies each of its .wasm imports beside it; returns their names. */
async function bundle(build, dir, { entry, resolveDir, alias }) {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    outfile: join(dir, 'worker.js'),
    conditions: ['workerd', 'worker', 'browser'],
    mainFields: ['module', 'main'],
    external: ['*.wasm'],
    absWorkingDir: resolveDir,
    nodePaths: [join(resolveDir, 'node_modules')],
    alias,
    metafile: true,
    logLevel: 'warning',
  });
  // every .wasm import of the bundle, copied beside it under the name the import uses
  const wasm = Object.values(result.metafile.outputs).flatMap((o) =>
    o.imports.filter((i) => i.external && i.path.endsWith('.wasm')),
  );
  const sources = Object.keys(result.metafile.inputs).map((p) => resolve(resolveDir, p));
  const modules = [];
  for (const { path } of wasm) {
    const name = basename(path);
    const from = sources.map((s) => join(dirname(s), name)).find((p) => existsSync(p));
    if (!from) throw new Error(`the bundle imports ${path}, found beside none of its inputs`);
    copyFileSync(from, join(dir, name));
    if (!modules.includes(name)) modules.push(name);
  }
  return modules;
}

/**
 * Bundles and serves `entry`. `resolveDir` is where 'snell-js' is resolved (a project with it installed),
 * or `alias` maps it to a file. Returns { url, stop, output }; stop() kills workerd and removes the folder.
 */
export async function serveWorker({ entry, resolveDir, alias, esbuild = join(ROOT, 'node_modules', 'esbuild') }) {
  const workerd = findWorkerd();
  const { build } = await import(join(esbuild, 'lib', 'main.js'));
  const dir = mkdtempSync(join(tmpdir(), 'snell-workerd-'));
  let modules;
  try {
    modules = await bundle(build, dir, { entry, resolveDir, alias });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const port = await freePort();
  writeFileSync(join(dir, 'config.capnp'), capnp(port, modules));
  let output = '';
  let spawnError = null;
  const child = spawn(workerd, ['serve', 'config.capnp'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (c) => (output += c));
  child.stderr.on('data', (c) => (output += c));
  const exited = new Promise((ok) => {
    child.once('exit', ok);
    child.once('error', (e) => {
      spawnError = e;
      ok(e);
    });
  });
  const running = () => spawnError === null && child.exitCode === null && child.signalCode === null;
  // workerd and its folder go with this process however it ends: normally (stop), on an uncaught
  // error (exit) or on a signal (e.g. `timeout` sending SIGTERM to this process alone).
  const cleanup = () => {
    if (running()) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  const onSignal = (signal) => {
    cleanup();
    process.exit(128 + osConstants.signals[signal]);
  };
  const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  process.once('exit', cleanup);
  for (const s of SIGNALS) process.once(s, onSignal);
  const stop = async () => {
    if (running()) child.kill('SIGKILL');
    await exited;
    cleanup();
    process.off('exit', cleanup);
    for (const s of SIGNALS) process.off(s, onSignal);
  };
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + STARTUP_MS;
  for (;;) {
    try {
      await fetch(`${url}/describe`, { signal: AbortSignal.timeout(Math.max(1, deadline - Date.now())) }).then((r) => r.text());
      break;
    } catch (e) {
      if (spawnError) {
        await stop();
        throw new WorkerdUnavailable(`${workerd} cannot be run (${spawnError.message}): reinstall it with npm install`);
      }
      if (!running() || Date.now() >= deadline) {
        await stop();
        throw new Error(`workerd did not serve within ${STARTUP_MS / 1000} s (${e.message}):\n${output}`);
      }
      await new Promise((ok) => setTimeout(ok, 100));
    }
  }
  return { url, stop, output: () => output, modules, files: () => readdirSync(dir) };
}
