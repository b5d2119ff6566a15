import { VerkConfigError } from '../errors';

/** `history` option: which queues keep a job history, and for how long. */
export interface HistoryOptions {
  /** Queues whose jobs keep a history. Default: every queue. */
  queues?: string[];
  /** How long (ms) a job's history is kept after its last event. Default 30 days (qless). */
  maxAge?: number;
  /** Most jobs with a history kept; the ones whose last event is oldest go first. Default 50,000 (qless). */
  maxJobs?: number;
}

/** The `history` option with every default filled in. */
export interface ResolvedHistoryOptions {
  /** False: no queue keeps a history (the default). */
  enabled: boolean;
  /** The queues that keep one; undefined = every queue (when enabled). */
  queues?: readonly string[];
  /** ms; also how long tag index entries are kept, and a tracked job stays tracked after its last event. */
  maxAge: number;
  maxJobs: number;
}

export const HISTORY_DEFAULTS = { maxAge: 30 * 24 * 3600 * 1000, maxJobs: 50_000 };

function fail(field: string, message: string): never {
  throw new VerkConfigError(`Invalid Verk option "${field}": ${message}`, { field });
}

/** Validates `history`: false/undefined (off), true (every queue, defaults) or HistoryOptions. */
export function resolveHistoryOptions(value: unknown): ResolvedHistoryOptions {
  if (value === undefined || value === false) return { enabled: false, ...HISTORY_DEFAULTS };
  if (value === true) return { enabled: true, ...HISTORY_DEFAULTS };
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    fail('history', `must be true, false or { queues?, maxAge?, maxJobs? }, got ${JSON.stringify(value)}`);
  }
  const input = value as Record<string, unknown>;
  for (const key of Object.keys(input)) {
    if (key !== 'queues' && key !== 'maxAge' && key !== 'maxJobs') fail(`history.${key}`, 'unknown option (known: queues, maxAge, maxJobs)');
  }
  const integer = (field: 'maxAge' | 'maxJobs', min: number): number => {
    const v = input[field];
    if (v === undefined) return HISTORY_DEFAULTS[field];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) fail(`history.${field}`, `must be an integer >= ${min}, got ${JSON.stringify(v)}`);
    return v;
  };
  let queues: string[] | undefined;
  if (input.queues !== undefined) {
    if (!Array.isArray(input.queues)) fail('history.queues', `must be an array of queue names, got ${JSON.stringify(input.queues)}`);
    queues = input.queues.map((name: unknown, index) => {
      if (typeof name !== 'string' || name.length === 0 || /\s/.test(name)) {
        fail(`history.queues[${index}]`, `must be a non-empty queue name without white space, got ${JSON.stringify(name)}`);
      }
      return name;
    });
  }
  return { enabled: queues === undefined || queues.length > 0, queues, maxAge: integer('maxAge', 100), maxJobs: integer('maxJobs', 1) };
}
