#!/usr/bin/env node
// The package as users get it: `npm pack`, install the tarball into a fresh project that has none of
// our devDependencies, check the install fetched no native binary and needs no install script, then
// run one golden adapter case from that project in Node, Deno, Bun, a browser bundle made by esbuild
// in headless Chromium, and a workerd worker. A file missing from `files` or a wrong export condition
// fails here. Needs a build (npm run build) first. Exit status: 0 all passed, 1 a runtime failed.
//
// usage: node test/package/run.mjs [--keep]   (--keep leaves the temporary project in place)

import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runInChromium } from './chromium.mjs';
import { runInWorkerd } from './workerd.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const HERE = join(ROOT, 'test', 'package');
const BIN = join(ROOT, 'node_modules', '.bin');
export const CASE = 'merge_snell_7x5_q4_t0.5.safetensors';

/** `npm pack` into dir; returns the tarball's path. */
function pack(dir) {
  const out = execFileSync('npm', ['pack', '--json', '--pack-destination', dir], { cwd: ROOT, encoding: 'utf8' });
  const [info] = JSON.parse(out.slice(out.indexOf('[')));
  console.log(`# packed ${info.filename}: ${info.entryCount} files, ${(info.size / 1024).toFixed(0)} KiB`);
  return join(dir, info.filename);
}

/** Every file under dir (recursive), relative paths. */
function walk(dir, prefix = '') {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`],
  );
}

/** A fresh project with the tarball installed; throws if the install brought a native binary or a script. */
function installInto(project, tarball) {
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'snell-user', private: true, type: 'module' }));
  execFileSync('npm', ['install', '--no-audit', '--no-fund', tarball], { cwd: project, stdio: 'inherit' });
  const lock = JSON.parse(readFileSync(join(project, 'package-lock.json'), 'utf8'));
  const scripted = Object.keys(lock.packages).filter((k) => lock.packages[k].hasInstallScript);
  if (scripted.length) throw new Error(`the install needs install scripts: ${scripted.join(', ')}`);
  const modules = join(project, 'node_modules');
  const native = walk(modules).filter((f) => f.endsWith('.node'));
  if (native.length) throw new Error(`the install brought native binaries: ${native.join(', ')}`);
  const bytes = walk(modules).reduce((sum, f) => sum + statSync(join(modules, f)).size, 0);
  const names = Object.keys(lock.packages)
    .filter((k) => k)
    .map((k) => k.replace(/^node_modules\//, ''));
  console.log(`# installed ${names.join(', ')}: ${(bytes / 2 ** 20).toFixed(1)} MiB, no native binary, no install script`);
}

/** Runs a command in the project; passes when it exits 0 and prints the case's PASS line. */
function runtimeStep(name, command, args, project) {
  const started = performance.now();
  const r = spawnSync(command, args, {
    cwd: project,
    encoding: 'utf8',
    timeout: 300_000,
    env: { ...process.env, NO_COLOR: '1' },
  });
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`
    .split('\n')
    .filter((l) => l && !l.startsWith('Warning:'))
    .join('\n');
  const ok = r.status === 0 && /^PASS merge_snell_7x5/m.test(out);
  console.log(out);
  return { name, ok, seconds: (performance.now() - started) / 1000, why: r.error?.message ?? `exit status ${r.status}` };
}

async function main(argv) {
  const keep = argv.includes('--keep');
  const work = mkdtempSync(join(tmpdir(), 'snell-pack-'));
  const project = join(work, 'project');
  execFileSync('mkdir', [project]);
  const results = [];
  try {
    installInto(project, pack(work));
    copyFileSync(join(ROOT, 'test', 'vectors', CASE), join(project, CASE));
    copyFileSync(join(HERE, 'case-host.mjs'), join(project, 'case-host.mjs'));
    const deno = join(BIN, 'deno');
    const bun = join(BIN, 'bun');
    results.push(runtimeStep('node', process.execPath, ['case-host.mjs'], project));
    results.push(runtimeStep('deno', deno, ['run', '-A', 'case-host.mjs'], project));
    results.push(runtimeStep('bun', bun, ['case-host.mjs'], project));
    for (const [name, run] of [
      ['chromium', runInChromium],
      ['workerd', runInWorkerd],
    ]) {
      const started = performance.now();
      try {
        const lines = await run(project, { esbuild: join(ROOT, 'node_modules', 'esbuild'), root: ROOT, caseName: CASE });
        console.log(lines.join('\n'));
        const ok = lines.some((l) => l.startsWith('PASS merge_snell_7x5'));
        results.push({ name, ok, seconds: (performance.now() - started) / 1000, why: 'no PASS line' });
      } catch (e) {
        results.push({ name, ok: false, seconds: (performance.now() - started) / 1000, why: e.message });
      }
    }
  } finally {
    if (keep) console.log(`# kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
  for (const r of results)
    console.log(`${r.ok ? 'PASS' : 'FAIL'} package-${r.name} ${r.seconds.toFixed(1)} s${r.ok ? '' : `: ${r.why}`}`);
  const failed = results.filter((r) => !r.ok).length;
  console.log(`${results.length - failed} passed, ${failed} failed`);
  return failed === 0 && results.length === 5 ? 0 : 1;
}

if (!existsSync(join(ROOT, 'dist', 'node.js'))) {
  console.error('package test: dist/ is missing: run npm run build first');
  process.exit(1);
}
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    console.error(`package test: ${e?.stack ?? e}`);
    process.exitCode = 1;
  },
);
