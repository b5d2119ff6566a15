import type { ParseArgsConfig } from 'node:util';
import type { CliContext } from './context';

/** Options of one command, as node:util parseArgs takes them. */
export type CommandOptions = NonNullable<ParseArgsConfig['options']>;

/** What a command receives: its positionals (after the name) and its parsed options. */
export interface CommandInput {
  positionals: string[];
  options: Record<string, string | boolean | (string | boolean)[] | undefined>;
  /** Aborted on SIGINT/SIGTERM: tail and watch stop cleanly then. */
  signal: AbortSignal;
}

export interface CliCommand {
  name: string;
  /** `jobs <queue|schedule|retry|dead> [--limit N] [--offset N] [--class NAME]` */
  usage: string;
  summary: string;
  options?: CommandOptions;
  /** Runs until stopped (tail, watch): Ctrl-C aborts `signal` and it ends cleanly. Others keep Node's default (Ctrl-C exits at once). */
  live?: boolean;
  run(context: CliContext, input: CommandInput): Promise<void>;
}

/** An integer option within bounds, or a usage error naming it. */
export function intOption(input: CommandInput, name: string, fallback: number, min: number, max: number): number {
  const raw = input.options[name];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (typeof raw !== 'string' || !Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`--${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return value;
}
