// A language model's training progress for the terminal: a line per step rewritten in place on a TTY
// (otherwise a plain line per tenth of an epoch) with the loss, tokens/s and the memory peak; a line
// per epoch with its held-out loss; or, with --json, one JSON object per event.

import type { MemoryReport } from '../model/memory.js';
import type { LmEvaluation } from '../train/lm-passes.js';
import type { LmEpochEvent, LmStepEvent } from '../train/lm-options.js';
import type { Writer } from './host.js';

export const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

export interface LmProgress {
  step(e: LmStepEvent, stepsPerEpoch: number): void;
  epoch(e: LmEpochEvent, epochs: number): void;
  /** A record: one JSON object with --json, else `text` on its own line. */
  info(kind: string, data: Record<string, unknown>, text: string): void;
  /** Text for the terminal only (a streamed sample); nothing with --json. */
  raw(text: string): void;
  done(): void;
}

/** "perplexity 41.23 (loss 3.7191)" or "accuracy 87.50% (loss 0.3012)". */
export function evaluationText(e: LmEvaluation): string {
  return e.perplexity !== null
    ? `perplexity ${e.perplexity.toFixed(2)} (loss ${e.loss.toFixed(4)}, ${e.count} tokens)`
    : `accuracy ${(100 * e.accuracy).toFixed(2)}% (loss ${e.loss.toFixed(4)}, ${e.count} texts)`;
}

/** Each pool's peak and the peak of all together. */
export function memoryText(m: MemoryReport): string {
  const pools = Object.entries(m.peak)
    .filter(([, bytes]) => bytes > 0)
    .map(([pool, bytes]) => `${pool} ${mib(bytes)}`);
  return `memory peak by pool: ${pools.join(', ')}; all pools at once ${mib(m.peakTotal)}`;
}

export function lmProgress(json: boolean, out: Writer): LmProgress {
  if (json) {
    const emit = (event: string, data: object) => out.write(`${JSON.stringify({ event, ...data })}\n`);
    return {
      step: (e) => emit('step', { ...e, memory: { peakTotal: e.memory.peakTotal, live: e.memory.live } }),
      epoch: (e) => emit('epoch', e),
      info: (kind, data) => emit(kind, data),
      raw: () => {},
      done: () => {},
    };
  }
  let open = false;
  const end = () => {
    if (open) out.write('\n');
    open = false;
  };
  return {
    step(e, stepsPerEpoch) {
      const within = (e.step % stepsPerEpoch) + 1;
      if (!out.isTTY && within % Math.max(1, Math.round(stepsPerEpoch / 10)) !== 0 && within !== stepsPerEpoch) return;
      const s =
        `epoch ${e.epoch + 1} step ${within}/${stepsPerEpoch} loss ${e.loss.toFixed(4)} lr ${e.lr.toExponential(2)} ` +
        `${e.tokensPerSecond.toFixed(0)} tokens/s mem ${mib(e.memory.peakTotal)}`;
      if (out.isTTY) {
        out.write(`\r\x1b[2K${s}`);
        open = true;
      } else out.write(`${s}\n`);
    },
    epoch(e, epochs) {
      end();
      const held = e.validation ? ` | held-out ${evaluationText(e.validation)}` : '';
      out.write(`epoch ${e.epoch + 1}/${epochs}: loss ${e.loss.toFixed(4)} in ${e.seconds.toFixed(1)} s${held}\n`);
    },
    info(_kind, _data, text) {
      end();
      out.write(`${text}\n`);
    },
    raw: (text) => out.write(text),
    done: end,
  };
}
