// The package test's workerd half: the conformance worker (runtimes/workerd-runner/worker.mjs), copied
// into the project and bundled from there, so 'snell-js' resolves to the installed package under the
// workerd export condition; the case file is POSTed to it and its lines returned.
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { serveWorker } from '../../runtimes/workerd-runner/serve.mjs';

export async function runInWorkerd(project, { root, esbuild, caseName }) {
  copyFileSync(join(root, 'runtimes', 'workerd-runner', 'worker.mjs'), join(project, 'worker.mjs'));
  const worker = await serveWorker({ entry: join(project, 'worker.mjs'), resolveDir: project, esbuild });
  try {
    const description = await (await fetch(`${worker.url}/describe`)).text();
    const response = await fetch(`${worker.url}/run?name=${caseName}`, {
      method: 'POST',
      body: readFileSync(join(project, caseName)),
    });
    if (!response.ok) return [`FAIL the worker answered ${response.status}: ${await response.text()}`];
    return [`# workerd: ${description} (modules ${worker.modules.join(', ')})`, ...(await response.json()).lines];
  } finally {
    await worker.stop();
  }
}
