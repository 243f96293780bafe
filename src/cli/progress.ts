// Training progress for the terminal: a one-line bar rewritten in place on a TTY (otherwise a plain
// line per tenth of an epoch), or one JSON object per event with --json.

import type { LayerAllocation } from '../train/allocation.js';
import type { EpochEvent, StepEvent } from '../train/fit-options.js';
import type { Writer } from './host.js';

export interface Progress {
  step(e: StepEvent, stepsPerEpoch: number): void;
  epoch(e: EpochEvent, epochs: number): void;
  /** SNELLA's schedule step before an epoch: the budget and each layer's sparsity. */
  allocation(a: LayerAllocation): void;
  /** A final or informational record. */
  info(kind: string, data: Record<string, unknown>, text: string): void;
  done(): void;
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

export function progress(json: boolean, out: Writer): Progress {
  if (json) {
    const emit = (event: string, data: object) => out.write(`${JSON.stringify({ event, ...data })}\n`);
    return {
      step: (e) => emit('step', { ...e, memory: { peakTotal: e.memory.peakTotal, live: e.memory.live } }),
      epoch: (e) => emit('epoch', { ...e, allocation: undefined }),
      allocation: (a) => emit('allocation', allocationRecord(a)),
      info: (kind, data) => emit(kind, data),
      done: () => {},
    };
  }
  let open = false;
  const line = (s: string) => {
    if (out.isTTY) {
      out.write(`\r\x1b[2K${s}`);
      open = true;
    } else out.write(`${s}\n`);
  };
  const end = () => {
    if (open) out.write('\n');
    open = false;
  };
  return {
    step(e, stepsPerEpoch) {
      const within = (e.step % stepsPerEpoch) + 1;
      // without a terminal to rewrite, one line per tenth of an epoch
      if (!out.isTTY && within % Math.max(1, Math.round(stepsPerEpoch / 10)) !== 0 && within !== stepsPerEpoch) return;
      const width = 24;
      const filled = Math.round((within / stepsPerEpoch) * width);
      line(
        `epoch ${e.epoch + 1} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${within}/${stepsPerEpoch} ` +
          `loss ${e.loss.toFixed(4)} acc ${(100 * e.accuracy).toFixed(1)}% lr ${e.lr.toExponential(2)} ` +
          `${e.imagesPerSecond.toFixed(1)} img/s mem ${mib(e.memory.peakTotal)}`,
      );
    },
    epoch(e, epochs) {
      end();
      const val = e.validation
        ? ` | val loss ${e.validation.loss.toFixed(4)} acc ${(100 * e.validation.accuracy).toFixed(2)}%`
        : '';
      out.write(
        `epoch ${e.epoch + 1}/${epochs}: loss ${e.loss.toFixed(4)} acc ${(100 * e.accuracy).toFixed(2)}% in ${e.seconds.toFixed(1)} s${val}\n`,
      );
    },
    allocation(a) {
      end();
      out.write(`${allocationLine(a)}\n`);
    },
    info(_kind, _data, text) {
      end();
      out.write(`${text}\n`);
    },
    done: end,
  };
}

/** The JSON record of an allocation: per-layer values keyed by branch name. */
export function allocationRecord(a: LayerAllocation): Record<string, unknown> {
  const byLayer = (v: readonly number[]) => Object.fromEntries(a.layers.map((name, i) => [name, v[i]]));
  return {
    epoch: a.epoch,
    budget: a.budget,
    remask: a.remask,
    sparsity: byLayer(a.sparsity),
    kept: a.kept ? byLayer(a.kept) : null,
    unsplit: a.unsplit,
    skipped: a.skipped,
  };
}

/** One line: the budget, the spread of the sparsities and the layers at either end. */
export function allocationLine(a: LayerAllocation): string {
  const s = a.sparsity;
  const lo = s.indexOf(Math.min(...s));
  const hi = s.indexOf(Math.max(...s));
  const mean = s.reduce((x, y) => x + y, 0) / s.length;
  const short = (name: string) => name.replace('.learnable', '').replace(/\.(attn|mlp)\.additional_/, '.');
  const what = a.remask ? 're-masked' : 'kept';
  return (
    `allocator, epoch ${a.epoch + 1}: budget ${Math.round(a.budget)} entries, sparsities ${what}: ` +
    `mean ${mean.toFixed(3)}, ${s[lo]!.toFixed(3)} (${short(a.layers[lo]!)}) to ${s[hi]!.toFixed(3)} (${short(a.layers[hi]!)})` +
    (a.unsplit ? `; ${a.unsplit}` : '') +
    (a.skipped ? `; ${a.skipped} non-finite scores skipped` : '')
  );
}
