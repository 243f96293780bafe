// Command-line flags: each command declares its flags (type, default, help); parsing checks names,
// values and ranges and throws UsageError with the fix.

import type { Host } from './host.js';

export class UsageError extends Error {
  override name = 'UsageError';
}

export interface Flag {
  type: 'string' | 'number' | 'boolean';
  help: string;
  default?: string | number | boolean;
  /** Allowed values of a string flag. */
  choices?: readonly string[];
  /** The range of a number flag: bounds inclusive unless marked open, and whether it must be whole. */
  range?: NumberRange;
  /**
   * A string flag that names a preset: each choice's values replace the defaults of other flags;
   * flags given on the command line still win.
   */
  presets?: Readonly<Record<string, Readonly<Flags>>>;
}

export interface NumberRange {
  min?: number;
  max?: number;
  /** The bounds themselves are excluded. */
  openMin?: boolean;
  openMax?: boolean;
  integer?: boolean;
}

/** "an integer ≥ 1", "a number with 0 ≤ x < 1", … */
function describeRange(r: NumberRange): string {
  const kind = r.integer ? 'an integer' : 'a number';
  const lo = r.min === undefined ? '' : `${r.min} ${r.openMin ? '<' : '≤'} `;
  const hi = r.max === undefined ? '' : ` ${r.openMax ? '<' : '≤'} ${r.max}`;
  if (lo && hi) return `${kind} with ${lo}x${hi}`;
  if (lo) return `${kind} ${r.openMin ? '>' : '≥'} ${r.min}`;
  return hi ? `${kind} ${r.openMax ? '<' : '≤'} ${r.max}` : kind;
}

function inRange(n: number, r: NumberRange): boolean {
  if (r.integer && !Number.isInteger(n)) return false;
  if (r.min !== undefined && (r.openMin ? n <= r.min : n < r.min)) return false;
  return r.max === undefined || (r.openMax ? n < r.max : n <= r.max);
}

export type FlagSpec = Record<string, Flag>;
export type Flags = Record<string, string | number | boolean | undefined>;

/** `--name value` pairs (booleans take no value) and positional arguments. */
export function parseFlags(args: string[], spec: FlagSpec): { flags: Flags; positional: string[] } {
  const flags: Flags = Object.fromEntries(Object.entries(spec).map(([k, f]) => [k, f.default]));
  const positional: string[] = [];
  const given = new Set<string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const name = arg.slice(2);
    const f = spec[name];
    if (!f)
      throw new UsageError(
        `unknown flag --${name}; flags here: ${Object.keys(spec)
          .map((k) => `--${k}`)
          .join(' ')}`,
      );
    given.add(name);
    if (f.type === 'boolean') {
      flags[name] = true;
      continue;
    }
    const value = args[++i];
    if (value === undefined || value.startsWith('--')) throw new UsageError(`--${name} needs a value (${f.help})`);
    if (f.type === 'number') {
      const n = Number(value);
      if (!Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got "${value}"`);
      if (f.range && !inRange(n, f.range))
        throw new UsageError(`--${name} must be ${describeRange(f.range)}, got ${value} (${f.help})`);
      flags[name] = n;
    } else {
      if (f.choices && !f.choices.includes(value))
        throw new UsageError(`--${name} must be one of ${f.choices.join(', ')}, got "${value}"`);
      flags[name] = value;
    }
  }
  for (const [name, f] of Object.entries(spec)) {
    const preset = f.presets && typeof flags[name] === 'string' ? f.presets[flags[name] as string] : undefined;
    for (const [key, value] of Object.entries(preset ?? {})) if (!given.has(key)) flags[key] = value;
  }
  return { flags, positional };
}

export function usage(command: string, synopsis: string, spec: FlagSpec): string {
  const rows = Object.entries(spec).map(([k, f]) => {
    const def = f.default === undefined || f.type === 'boolean' ? '' : ` (default ${f.default})`;
    return `  --${k.padEnd(14)} ${f.help}${f.choices ? ` [${f.choices.join('|')}]` : ''}${def}`;
  });
  return `usage: snell ${command} ${synopsis}\n${rows.join('\n')}`;
}

/** One subcommand of `snell`. */
export interface Command {
  summary: string;
  synopsis: string;
  flags: FlagSpec;
  /** Runs the command on `host`; resolves to the exit status. */
  run: (flags: Flags, positional: string[], host: Host) => Promise<number>;
}
