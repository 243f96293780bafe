// One `snell train --json` run of a built CLI in its own process: resolves with its result event,
// the selection and allocation events, and the wall time.

import { spawn } from 'node:child_process';

export function trainOnce(cli, args) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [cli, 'train', ...args, '--json'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const events = out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l));
      const result = events.find((e) => e.event === 'result');
      if (code !== 0 || !result) reject(new Error(`snell train ${args.join(' ')} exited ${code}`));
      else
        resolve({
          ...result,
          selected: events.find((e) => e.event === 'selected') ?? null,
          allocations: events.filter((e) => e.event === 'allocation'),
          wall: (performance.now() - started) / 1000,
        });
    });
  });
}
