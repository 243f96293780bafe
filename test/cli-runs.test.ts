// Real `snell train` processes on the Wasm backend, stopped from outside: SIGINT or SIGTERM after the
// first step (in Node, and SIGINT in Deno) stops after the current step, saves, and exits 130 or 143
// (the Wasm loop must let the signal handler run); a run killed with SIGKILL after its first checkpoint
// and resumed with `--resume DIR` ends with the same bytes and the same per-step losses as a run never
// stopped. Runs the built CLI (npm run build first; npm test builds before vitest).

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const DENO = fileURLToPath(new URL('../node_modules/.bin/deno', import.meta.url));
const BASE = [
  'train',
  '--model',
  'scratch',
  '--data',
  'mnist',
  '--split',
  'vtab1k',
  '--backend',
  'wasm',
  '--method',
  'snell',
  '--batch',
  '32',
  '--json',
];
type Event = Record<string, unknown> & { event: string };

/** Runs the CLI; `onEvent` sees each JSON event as it arrives (with the process, to signal it). */
function train(
  args: string[],
  onEvent: (e: Event, child: ChildProcess) => void = () => {},
  runtime: 'node' | 'deno' = 'node',
): Promise<{ code: number | null; signal: string | null; events: Event[]; stderr: string }> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
  const [command, prefix] = runtime === 'node' ? [process.execPath, []] : [DENO, ['run', '-A']];
  const env = {
    ...process.env,
    XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? mkdtempSync(join(tmpdir(), 'xdg-')),
    DENO_NO_UPDATE_CHECK: '1',
  };
  const child = spawn(command, [...prefix, CLI, ...BASE, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  const events: Event[] = [];
  let buffered = '';
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines.filter((l) => l.startsWith('{'))) {
      const e = JSON.parse(line) as Event;
      events.push(e);
      onEvent(e, child);
    }
  });
  return new Promise((resolve) =>
    child.on('exit', (code, signal) => {
      resolve({ code, signal, events, stderr });
    }),
  );
}

const losses = (events: Event[]) =>
  new Map(events.filter((e) => e.event === 'step').map((e) => [e.step as number, e.loss as number]));
const fresh = (name: string) => join(mkdtempSync(join(tmpdir(), 'snell-run-')), name);

describe('snell train stopped by a signal (wasm)', () => {
  for (const [runtime, signal, status] of [
    ['node', 'SIGINT', 130],
    ['node', 'SIGTERM', 143],
    ['deno', 'SIGINT', 130],
  ] as const) {
    it(`${runtime}, ${signal}: stops after the current step, saves, exits ${status}`, async () => {
      const out = fresh('adapter');
      const epochs = 30; // 750 steps: far more than can run before the signal is handled
      const { code, events } = await train(
        ['--epochs', String(epochs), '--out', out],
        (e, child) => {
          if (e.event === 'step' && e.step === 0) child.kill(signal);
        },
        runtime,
      );
      expect(code).toBe(status);
      const last = Math.max(...losses(events).keys());
      expect(last).toBeLessThan(25 * epochs - 1);
      expect(JSON.parse(readFileSync(join(out, 'training_state.json'), 'utf8'))).toMatchObject({ interrupted: true, step: last });
      expect(existsSync(join(out, 'adapter_model.safetensors'))).toBe(true);
      expect(events.some((e) => e.event === 'interrupted')).toBe(true);
      // the stop also wrote a checkpoint to resume from
      expect(readdirSync(join(out, 'checkpoints'))).toContain(`step-${String(last + 1).padStart(7, '0')}`);
    }, 120_000);
  }
});

describe('snell train killed and resumed (wasm)', () => {
  // snella: three epochs, so the resumed run makes an allocation from the restored averages
  for (const [method, epochs, kept] of [
    ['snell', 2, ['step-0000040', 'step-0000050']],
    ['snella', 3, ['step-0000060', 'step-0000070']],
  ] as const) {
    it(`${method}: SIGKILL after a checkpoint, then --resume DIR: the same adapter bytes, per-step losses and selected epoch`, async () => {
      const args = ['--method', method, '--epochs', String(epochs), '--save-every', '10', '--seed', '3'];
      const whole = fresh('whole');
      const a = await train([...args, '--out', whole]);
      expect(a.code).toBe(0);
      expect(readdirSync(join(whole, 'checkpoints'))).toEqual(kept); // --keep 2

      const broken = fresh('broken');
      const b = await train([...args, '--out', broken], (e, child) => {
        // after epoch 1 (25 steps) and its validation: the checkpoint carries the best model so far
        if (e.event === 'checkpoint' && e.step === 30) child.kill('SIGKILL');
      });
      expect(b.signal).toBe('SIGKILL');
      expect(existsSync(join(broken, 'adapter_model.safetensors'))).toBe(false);
      expect(existsSync(join(broken, 'checkpoints', 'step-0000030', 'best.safetensors'))).toBe(true);
      const c = await train(['--resume', broken]);
      expect(c.code).toBe(0);
      expect(c.events.find((e) => e.event === 'resume')).toMatchObject({ step: 30 });
      const selected = (r: typeof a) => r.events.find((e) => e.event === 'selected');
      expect(selected(a)).toBeDefined();
      expect(selected(c)).toEqual(selected(a));

      for (const file of ['adapter_model.safetensors', 'adapter_config.json']) {
        expect(Buffer.compare(readFileSync(join(broken, file)), readFileSync(join(whole, file))), file).toBe(0);
      }
      const [all, resumed] = [losses(a.events), losses(c.events)];
      expect([...resumed.keys()]).toEqual(Array.from({ length: 25 * epochs - 30 }, (_, i) => 30 + i));
      for (const [step, loss] of resumed) expect(loss, `step ${step}`).toBe(all.get(step));
      if (method === 'snella') {
        // the last epoch's allocation comes from the averages the checkpoint carried
        const allocations = (r: typeof a) => r.events.filter((e) => e.event === 'allocation');
        expect(allocations(a).map((e) => e.epoch)).toEqual([0, 1, 2]);
        expect(allocations(c)).toEqual([allocations(a)[2]]);
        const last = allocations(a)[2]!;
        expect(last.remask).toBe(true);
        const config = JSON.parse(readFileSync(join(whole, 'adapter_config.json'), 'utf8'));
        expect(Object.keys(config.layer_sparsity)).toHaveLength(24);
      }
    }, 400_000);
  }

  it('a flag that would change the trajectory is refused on --resume, naming it', async () => {
    const out = fresh('refuse');
    expect((await train(['--epochs', '1', '--save-every', '5', '--out', out])).code).toBe(0);
    const r = await train(['--resume', out, '--lr', '0.2']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /--lr 0.2 differs from the run being resumed \(0.1\): a resumed run keeps its flags; only --out, --epochs/,
    );
  }, 120_000);
});
