// Stopping a real `snell train` process on the Wasm backend: SIGINT or SIGTERM after its first step
// stops it after the current step, saves, and exits 130 or 143 (the Wasm loop must let the signal
// handler run). Runs the built CLI (npm run build first; npm test builds before vitest).

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const EPOCHS = 30; // 750 steps: far more than can run before the signal is handled

/** Starts a 30-epoch run, sends `signal` once the first step is reported, and waits for the exit. */
function trainAndSignal(signal: NodeJS.Signals, out: string): Promise<{ code: number | null; events: Record<string, unknown>[] }> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
  const args = ['train', '--model', 'scratch', '--data', 'mnist', '--split', 'vtab1k', '--backend', 'wasm', '--method', 'snell',
    '--epochs', String(EPOCHS), '--batch', '32', '--out', out, '--json'];
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const events: Record<string, unknown>[] = [];
  let buffered = '';
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines.filter((l) => l.startsWith('{'))) {
      const e = JSON.parse(line);
      events.push(e);
      if (e.event === 'step' && e.step === 0) child.kill(signal);
    }
  });
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, events })));
}

describe('snell train stopped by a signal (wasm)', () => {
  for (const [signal, status] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    it(`${signal}: stops after the current step, saves, exits ${status}`, async () => {
      const out = join(mkdtempSync(join(tmpdir(), 'snell-signal-')), 'adapter');
      const { code, events } = await trainAndSignal(signal, out);
      expect(code).toBe(status);
      const steps = events.filter((e) => e.event === 'step').map((e) => e.step as number);
      expect(Math.max(...steps)).toBeLessThan(25 * EPOCHS - 1);
      const state = JSON.parse(readFileSync(join(out, 'training_state.json'), 'utf8'));
      expect(state).toMatchObject({ interrupted: true, step: Math.max(...steps) });
      expect(existsSync(join(out, 'adapter_model.safetensors'))).toBe(true);
      expect(events.some((e) => e.event === 'interrupted')).toBe(true);
    }, 120_000);
  }
});
