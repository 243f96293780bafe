// A WebGPU device lost in the middle of `snell train` (forced: device.destroy() after a set number of
// reads, i.e. steps): the run reports it, starts again from its newest checkpoint on a new device and
// ends with the same adapter bytes and per-step losses as a run never interrupted; when no device comes
// back it finishes on Wasm. In process, with the host's backend factory replaced.

import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pngjs from 'pngjs';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Backend, BackendError } from '../src/backend.js';
import type { Host } from '../src/cli/host.js';
import { train } from '../src/cli/train.js';
import { createWasmBackend } from '../src/wasm/backend.js';
import type { WebGpuBackend } from '../src/webgpu/backend.js';
import { nodeHost } from '../runtimes/node/host.js';
import { createNodeWebGpu } from './support/backends.js';

// 48 images in two classes (bright on the left, bright on the right), 8 per step: 6 steps an epoch
const FLAGS = { model: 'scratch', split: 'full', method: 'snell', batch: 8, epochs: 2, 'save-every': 4, seed: 5, json: true };
let data = '';

beforeAll(() => {
  data = mkdtempSync(join(tmpdir(), 'snell-lost-data-'));
  let state = 7;
  const noise = () => {
    state = (state * 1103515245 + 12345) >>> 0;
    return state >>> 24;
  };
  for (const [label, side] of [
    ['left', 0],
    ['right', 1],
  ] as const) {
    mkdirSync(join(data, label));
    for (let n = 0; n < 24; n++) {
      const img = new pngjs.PNG({ width: 32, height: 32 });
      for (let p = 0; p < 32 * 32; p++) {
        const bright = p % 32 < 16 === (side === 0);
        img.data.fill(Math.min(255, (bright ? 160 : 0) + (noise() >> 1)), 4 * p, 4 * p + 3);
        img.data[4 * p + 3] = 255;
      }
      writeFileSync(join(data, label, `${n}.png`), pngjs.PNG.sync.write(img));
    }
  }
});
type Event = Record<string, unknown> & { event: string };

/** A WebGPU backend whose device is destroyed in training step `step` (at its loss, step+1-th softmaxCrossEntropy). */
function losingDevice(backend: Backend, step: number): Backend {
  let count = 0;
  return new Proxy(backend, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (prop !== 'softmaxCrossEntropy') return typeof value === 'function' ? value.bind(target) : value; // the backend checks tensors' owner
      return (...args: Parameters<Backend['softmaxCrossEntropy']>) => {
        if (count++ === step) (target as WebGpuBackend).device.destroy();
        target.softmaxCrossEntropy(...args);
      };
    },
  });
}

/** Runs `snell train` with `host`; the JSON events it printed and its exit status. */
async function run(flags: Record<string, unknown>, host: Host): Promise<{ code: number; events: Event[] }> {
  const lines: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    lines.push(
      ...String(chunk)
        .split('\n')
        .filter((l) => l.startsWith('{')),
    );
    return true;
  });
  try {
    const code = await train.run({ ...defaults(), ...FLAGS, data, ...flags }, [], host);
    return { code, events: lines.map((l) => JSON.parse(l) as Event) };
  } finally {
    spy.mockRestore();
  }
}

/** Every flag's default, as the parser fills them in. */
function defaults(): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(train.flags)
      .filter(([, f]) => 'default' in f)
      .map(([name, f]) => [name, (f as { default: unknown }).default]),
  );
}

const losses = (events: Event[]) =>
  events.filter((e) => e.event === 'step').map((e) => [e.step as number, e.loss as number] as const);
const fresh = (name: string) => join(mkdtempSync(join(tmpdir(), 'snell-lost-')), name);
const opened: Backend[] = [];
const track = async (b: Promise<Backend>) => {
  opened.push(await b);
  return opened[opened.length - 1];
};

afterEach(() => {
  opened.length = 0;
});

describe('a lost WebGPU device during snell train', () => {
  it('continues from the newest checkpoint on a new device: same adapter bytes and losses as a run never interrupted', async () => {
    const whole = fresh('whole');
    const a = await run({ out: whole, backend: 'webgpu' }, { ...nodeHost(), createBackend: () => track(createNodeWebGpu()) });
    expect(a.code).toBe(0);

    const broken = fresh('broken');
    let calls = 0;
    const host: Host = {
      ...nodeHost(),
      createBackend: async (o) => {
        calls++;
        expect(o.prefer).toBe('webgpu');
        return calls === 1 ? losingDevice(await createNodeWebGpu(), 7) : createNodeWebGpu();
      },
    };
    const b = await run({ out: broken, backend: 'webgpu' }, host);
    expect(b.code).toBe(0);
    expect(calls).toBe(2);
    const lost = b.events.find((e) => e.event === 'device-lost');
    expect(lost).toMatchObject({ backend: 'webgpu', resumeStep: 4 });
    expect(lost!.step).toBe(7);
    for (const file of ['adapter_model.safetensors', 'adapter_config.json']) {
      expect(Buffer.compare(readFileSync(join(broken, file)), readFileSync(join(whole, file))), file).toBe(0);
    }
    // steps from 4 on ran twice (before the loss and after it): the second time gave the same losses
    const reference = new Map(losses(a.events));
    const after = losses(b.events.slice(b.events.indexOf(lost!)));
    expect(after.map(([s]) => s)).toEqual(Array.from({ length: 8 }, (_, i) => 4 + i));
    for (const [step, loss] of after) expect(loss, `step ${step}`).toBe(reference.get(step));
  }, 300_000);

  it('finishes on Wasm when no device comes back, saying so; without --out it starts again from a temporary checkpoint', async () => {
    const host: Host = {
      ...nodeHost(),
      createBackend: async (o) => {
        if (o.prefer === 'wasm') return createWasmBackend();
        if (opened.length > 0) throw new BackendError('no WebGPU adapter is available');
        return losingDevice(await track(createNodeWebGpu()), 6);
      },
    };
    const r = await run({ backend: 'webgpu' }, host);
    expect(r.code).toBe(0);
    const lost = r.events.find((e) => e.event === 'device-lost');
    expect(lost).toMatchObject({ step: 6, backend: 'wasm', resumeStep: 4 });
    expect(r.events.find((e) => e.event === 'result')).toMatchObject({ backend: 'wasm' });
    const after = losses(r.events.slice(r.events.indexOf(lost!)));
    expect(after.map(([s]) => s)).toEqual(Array.from({ length: 8 }, (_, i) => 4 + i));
    expect(after.every(([, l]) => Number.isFinite(l))).toBe(true);
  }, 300_000);
});
