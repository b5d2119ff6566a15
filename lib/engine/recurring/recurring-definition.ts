import { CronExpressionParser } from 'cron-parser';
import type { WorkerClassRef } from '../client/client';
import { VerkValidationError } from '../errors';
import { assertJsonValue } from '../client/json-args';
import { checkPriority } from '../core/priority';

/**
 * Recurring jobs (qless `recur`, Goose `perform-every`): what a definition is, how it is
 * validated and stored. Pure code, no Redis: see recurring-ticks.ts (when its ticks
 * fall), recurring.ts (the API) and recurring-scheduler.ts (the ticking).
 */

/**
 * What to enqueue for ticks that passed while no node was running (or Redis was away):
 * `'all'` one job per missed tick (qless; at most 1000 at once), `'one'` a single job for
 * the latest of them, `'none'` nothing for them. A tick counts as missed when no
 * node reached it within twice pollInterval of its time.
 */
export type CatchUpPolicy = 'all' | 'one' | 'none';

export const CATCH_UP_POLICIES: readonly CatchUpPolicy[] = ['all', 'one', 'none'];

/** The most jobs one catch-up enqueues for one schedule ('all'); older missed ticks are skipped. */
export const MAX_CATCH_UP = 1000;

/** Smallest `every`, ms. */
export const MIN_EVERY = 1000;

/** A recurring job to create or replace (`recur(name, options)`). */
export interface RecurringOptions {
  /** Worker class name, or the worker class itself. */
  class: string | WorkerClassRef;
  /** Queue each job is enqueued to. Default `default`. */
  queue?: string;
  /** Arguments of every job; JSON values. Default []. */
  args?: unknown[];
  /** Interval in ms (at least 1000): ticks at creation + offset + k × every (qless). Give this or `cron`. */
  every?: number;
  /** With `every`: ms after creation of the first tick. Default 0 (the first job at once). */
  offset?: number;
  /** A cron expression: 5 fields (minute first), 6 (second first), or `@hourly`, `@daily`... Give this or `every`. */
  cron?: string;
  /** With `cron`: the IANA time zone the expression is read in, e.g. `Europe/Berlin`. Default UTC. */
  timezone?: string;
  /** Missed ticks after downtime: 'all', 'one' (default) or 'none'. See CatchUpPolicy. */
  catchUp?: CatchUpPolicy;
  /** Stop after this many jobs were enqueued. */
  maxRuns?: number;
  /** No tick after this time (a Date or epoch ms). */
  endAt?: Date | number;
  /** Priority of every job (-1000 to 1000, see README "Priorities"). Default 0 (a plain job). */
  priority?: number;
  /** Sidekiq's `retry` of every job: false = no retries, a number = the limit. Default true. */
  retry?: boolean | number;
  /** Retries of every job before `dead` (Verk's max_retry_count). */
  maxRetryCount?: number;
}

/**
 * A change to a recurring job (`updateRecurring(name, patch)`). Giving `cron` turns an
 * `every` schedule into a cron one (and the other way round); `null` clears an optional field.
 */
export interface RecurringPatch {
  queue?: string;
  args?: unknown[];
  every?: number;
  offset?: number | null;
  cron?: string;
  timezone?: string | null;
  catchUp?: CatchUpPolicy;
  maxRuns?: number | null;
  endAt?: Date | number | null;
  priority?: number | null;
  retry?: boolean | number;
  maxRetryCount?: number | null;
}

/** The fields that say what to enqueue and when: two definitions with equal specs are the same schedule. */
export interface RecurringSpec {
  name: string;
  queue: string;
  class: string;
  args: unknown[];
  every?: number;
  offset?: number;
  cron?: string;
  timezone?: string;
  catchUp: CatchUpPolicy;
  maxRuns?: number;
  /** Epoch ms. */
  endAt?: number;
  priority?: number;
  retry?: boolean | number;
  maxRetryCount?: number;
}

/** A definition as stored (JSON) in the hash `verk:recurring`. */
export interface StoredRecurring extends RecurringSpec {
  /** Jobs enqueued so far by this definition. */
  runs: number;
  /** When the definition was created (epoch ms); `every` ticks count from it. */
  createdAt: number;
  /** The tick (epoch ms) of the last job enqueued under this name, if any. */
  lastRunAt?: number;
}

/** A recurring job as the API returns it. */
export interface RecurringJob extends StoredRecurring {
  /** The next tick (epoch ms), or null when the schedule has ended (maxRuns, endAt). */
  nextRunAt: number | null;
}

const OPTION_FIELDS = ['class', 'queue', 'args', 'every', 'offset', 'cron', 'timezone', 'catchUp', 'maxRuns', 'endAt', 'priority', 'retry', 'maxRetryCount'] as const;
const PATCH_FIELDS = OPTION_FIELDS.filter((field) => field !== 'class');

/** The fields of RecurringOptions (the Nest layer picks them out of @Worker options). */
export const RECURRING_OPTION_FIELDS: readonly string[] = OPTION_FIELDS;

const CRON_FIELDS_5 = ['minute', 'hour', 'day of month', 'month', 'day of week'];
const CRON_FIELDS_6 = ['second', ...CRON_FIELDS_5];

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function integerAtLeast(value: unknown, field: string, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new VerkValidationError(field, `must be an integer >= ${min}, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Checks a recurring job's name: a non-empty string without white space. */
export function checkRecurringName(name: unknown, field = 'name'): string {
  if (typeof name !== 'string' || name.length === 0 || /\s/.test(name)) {
    throw new VerkValidationError(field, `must be a non-empty string without white space, got ${JSON.stringify(name)}`);
  }
  return name;
}

/** Checks an IANA time zone name with the runtime's own tables (the ones the cron library uses). */
function checkTimezone(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new VerkValidationError(field, `must be an IANA time zone name such as "Europe/Berlin", got ${JSON.stringify(value)}`);
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: value });
  } catch {
    throw new VerkValidationError(field, `"${value}" is not a known time zone (use an IANA name such as "Europe/Berlin" or "UTC")`);
  }
  return value;
}

/**
 * Checks a cron expression with the cron library. 5 fields (minute hour day-of-month month
 * day-of-week), 6 (second first) or a predefined `@hourly`-style name. The error names the
 * expression's field at fault when one alone is.
 */
function checkCron(value: unknown, timezone: string | undefined, field: string): string {
  if (typeof value !== 'string' || value.trim().length === 0) throw new VerkValidationError(field, `must be a cron expression such as "0 * * * *", got ${JSON.stringify(value)}`);
  const expression = value.trim();
  const parts = expression.split(/\s+/);
  if (!expression.startsWith('@') && parts.length !== 5 && parts.length !== 6) {
    throw new VerkValidationError(field, `"${value}" has ${parts.length} field(s); a cron expression has 5 (minute hour day-of-month month day-of-week) or 6 (second first)`);
  }
  try {
    CronExpressionParser.parse(expression, { tz: timezone }).next();
  } catch (error) {
    const reason = (error as Error).message;
    // Which field: the first one that fails on its own, the others being '*'.
    const names = parts.length === 6 ? CRON_FIELDS_6 : CRON_FIELDS_5;
    const culprit = expression.startsWith('@') ? -1 : parts.findIndex((part, index) => !cronParses(parts.map((other, at) => (at === index ? part : '*')).join(' ')));
    const where = culprit >= 0 ? ` (${names[culprit]} field "${parts[culprit]}")` : '';
    throw new VerkValidationError(field, `"${value}" is not a valid cron expression${where}: ${reason}`);
  }
  return expression;
}

function cronParses(expression: string): boolean {
  try {
    CronExpressionParser.parse(expression).next();
    return true;
  } catch {
    return false;
  }
}

function checkEndAt(value: unknown, field: string): number {
  const ms = value instanceof Date ? value.getTime() : value;
  if (typeof ms !== 'number' || !Number.isFinite(ms) || Number.isNaN(new Date(ms).getTime())) {
    throw new VerkValidationError(field, `must be a valid Date or epoch milliseconds, got ${value instanceof Date ? 'an invalid Date' : JSON.stringify(value)}`);
  }
  return ms;
}

function checkKnown(input: Record<string, unknown>, known: readonly string[], what: string): void {
  for (const key of Object.keys(input)) {
    if (!known.includes(key)) throw new VerkValidationError(key, `unknown ${what} field (known: ${known.join(', ')})`);
  }
}

/**
 * Validates the options of `recur(name, options)` and returns the normalized spec.
 * Throws VerkValidationError naming the field; `className` turns a worker class into its name.
 */
export function validateRecurring(name: unknown, input: unknown, className: (ref: WorkerClassRef) => string): RecurringSpec {
  checkRecurringName(name);
  if (!isObject(input)) throw new VerkValidationError('options', 'must be an object: { class, cron or every, ... }');
  checkKnown(input, OPTION_FIELDS, 'recurring job');
  const options = input as Partial<RecurringOptions> & Record<string, unknown>;

  let cls: string;
  if (typeof options.class === 'string') cls = options.class;
  else if (typeof options.class === 'function') cls = className(options.class);
  else throw new VerkValidationError('class', `must be a worker class name or a worker class, got ${JSON.stringify(options.class)}`);
  if (cls.length === 0) throw new VerkValidationError('class', 'must not be empty');

  const queue = options.queue ?? 'default';
  if (typeof queue !== 'string' || queue.length === 0 || /\s/.test(queue)) {
    throw new VerkValidationError('queue', `must be a non-empty queue name without white space, got ${JSON.stringify(options.queue)}`);
  }
  const args = options.args ?? [];
  if (!Array.isArray(args)) throw new VerkValidationError('args', `must be an array, got ${typeof args}`);
  assertJsonValue(args, 'args');

  const spec: RecurringSpec = { name: name as string, queue, class: cls, args, catchUp: 'one' };
  if (options.every !== undefined && options.cron !== undefined) throw new VerkValidationError('cron', 'cannot be combined with every: a recurring job has either an interval or a cron expression');
  if (options.every !== undefined) {
    spec.every = integerAtLeast(options.every, 'every', MIN_EVERY);
    if (options.offset !== undefined) spec.offset = integerAtLeast(options.offset, 'offset', 0);
    if (options.timezone !== undefined) throw new VerkValidationError('timezone', 'only applies to a cron expression (every counts milliseconds)');
  } else if (options.cron !== undefined) {
    if (options.offset !== undefined) throw new VerkValidationError('offset', 'only applies to every (shift a cron expression instead)');
    if (options.timezone !== undefined) spec.timezone = checkTimezone(options.timezone, 'timezone');
    spec.cron = checkCron(options.cron, spec.timezone, 'cron');
  } else {
    throw new VerkValidationError('every', 'a recurring job needs every (an interval in ms) or cron (an expression); neither was given');
  }
  if (options.catchUp !== undefined) {
    if (!CATCH_UP_POLICIES.includes(options.catchUp)) throw new VerkValidationError('catchUp', `must be one of ${CATCH_UP_POLICIES.map((p) => `'${p}'`).join(', ')}, got ${JSON.stringify(options.catchUp)}`);
    spec.catchUp = options.catchUp;
  }
  if (options.maxRuns !== undefined) spec.maxRuns = integerAtLeast(options.maxRuns, 'maxRuns', 1);
  if (options.endAt !== undefined) spec.endAt = checkEndAt(options.endAt, 'endAt');
  const priority = checkPriority(options.priority, 'priority');
  if (priority !== 0) spec.priority = priority;
  if (options.retry !== undefined) {
    if (typeof options.retry !== 'boolean' && !(Number.isInteger(options.retry) && options.retry >= 0)) {
      throw new VerkValidationError('retry', `must be a boolean or an integer >= 0, got ${JSON.stringify(options.retry)}`);
    }
    spec.retry = options.retry;
  }
  if (options.maxRetryCount !== undefined) spec.maxRetryCount = integerAtLeast(options.maxRetryCount, 'maxRetryCount', 0);
  return spec;
}

/** The options a spec was made from (class as a name, endAt in ms). */
function optionsOf(spec: RecurringSpec): RecurringOptions {
  const options: RecurringOptions = { class: spec.class, queue: spec.queue, args: spec.args, catchUp: spec.catchUp };
  for (const field of ['every', 'offset', 'cron', 'timezone', 'maxRuns', 'endAt', 'priority', 'retry', 'maxRetryCount'] as const) {
    if (spec[field] !== undefined) (options as unknown as Record<string, unknown>)[field] = spec[field];
  }
  return options;
}

/**
 * Applies a patch to a spec and validates the result as a whole. Throws
 * VerkValidationError naming the field; the spec given is not changed.
 */
export function patchRecurring(spec: RecurringSpec, patch: unknown): RecurringSpec {
  if (!isObject(patch)) throw new VerkValidationError('patch', 'must be an object of the fields to change');
  checkKnown(patch, PATCH_FIELDS, 'recurring job update');
  if (patch.cron !== undefined && patch.every !== undefined) throw new VerkValidationError('cron', 'cannot be combined with every: a recurring job has either an interval or a cron expression');
  const options = optionsOf(spec) as unknown as Record<string, unknown>;
  // Switching kind drops the other kind's fields, unless the patch sets them (then validation refuses).
  if (patch.cron !== undefined) {
    delete options.every;
    delete options.offset;
  }
  if (patch.every !== undefined) {
    delete options.cron;
    delete options.timezone;
  }
  for (const [field, value] of Object.entries(patch)) {
    if (value === null) {
      if (['queue', 'args', 'every', 'cron', 'catchUp', 'retry'].includes(field)) throw new VerkValidationError(field, 'cannot be cleared (null)');
      delete options[field];
    } else if (value !== undefined) {
      options[field] = value;
    }
  }
  return validateRecurring(spec.name, options, () => spec.class);
}

/** The spec of a stored definition (drops its counters), for comparisons. */
export function specOf(stored: RecurringSpec): RecurringSpec {
  const spec: RecurringSpec = { name: stored.name, queue: stored.queue, class: stored.class, args: stored.args, catchUp: stored.catchUp };
  for (const field of ['every', 'offset', 'cron', 'timezone', 'maxRuns', 'endAt', 'priority', 'retry', 'maxRetryCount'] as const) {
    if (stored[field] !== undefined) (spec as unknown as Record<string, unknown>)[field] = stored[field];
  }
  return spec;
}

/** True when two specs describe the same schedule of the same job. */
export function sameSpec(a: RecurringSpec, b: RecurringSpec): boolean {
  return JSON.stringify(specOf(a)) === JSON.stringify(specOf(b));
}

/** True when two specs tick at the same times (same interval and offset, or same expression and time zone). */
export function sameTimes(a: RecurringSpec, b: RecurringSpec): boolean {
  return a.every === b.every && (a.offset ?? 0) === (b.offset ?? 0) && a.cron === b.cron && a.timezone === b.timezone;
}

/**
 * Reads a stored definition. Throws a VerkValidationError saying what is wrong when it is not one
 * (someone wrote the hash by hand): the scheduler then stops ticking it.
 */
export function parseStored(json: string): StoredRecurring {
  const value = JSON.parse(json) as unknown;
  if (!isObject(value)) throw new VerkValidationError('definition', 'is not a JSON object');
  const spec = validateRecurring(value.name, optionsOf(value as unknown as RecurringSpec), () => String(value.class));
  const stored: StoredRecurring = { ...spec, runs: integerAtLeast(value.runs, 'runs', 0), createdAt: integerAtLeast(value.createdAt, 'createdAt', 0) };
  if (value.lastRunAt !== undefined) stored.lastRunAt = integerAtLeast(value.lastRunAt, 'lastRunAt', 0);
  return stored;
}

/** The stored JSON of a definition, fields in a fixed order. */
export function serializeStored(stored: StoredRecurring): string {
  const { runs, createdAt, lastRunAt } = stored;
  return JSON.stringify({ ...specOf(stored), runs, createdAt, ...(lastRunAt === undefined ? {} : { lastRunAt }) });
}
