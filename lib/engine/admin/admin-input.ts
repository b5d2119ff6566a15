import { VerkValidationError } from '../errors';

/** The sorted sets of the layout that hold jobs. */
export type JobSet = 'retry' | 'schedule' | 'dead';

/** Where jobs are listed, deleted or cleared: a sorted set, or the waiting jobs of a queue. */
export type JobSource = JobSet | { queue: string };

const SETS: readonly string[] = ['retry', 'schedule', 'dead'];

/** A validated source: a set name or a queue name. */
export type CheckedSource = { set: JobSet; queue?: undefined } | { set?: undefined; queue: string };

/** Checks a queue name: a non-empty string without white space (as the enqueue API requires). */
export function checkQueueName(name: unknown, field: string): string {
  if (typeof name !== 'string' || name.length === 0 || /\s/.test(name)) {
    throw new VerkValidationError(field, `must be a non-empty queue name without white space, got ${JSON.stringify(name)}`);
  }
  return name;
}

/** Checks how many jobs a queue runs at a time on a node: an integer >= 1. */
export function checkConcurrency(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new VerkValidationError(field, `must be an integer >= 1 (jobs at a time), got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Checks one of 'retry' | 'schedule' | 'dead'. */
export function checkSet(value: unknown, field: string): JobSet {
  if (typeof value !== 'string' || !SETS.includes(value)) {
    throw new VerkValidationError(field, `must be one of ${SETS.map((set) => `'${set}'`).join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value as JobSet;
}

/** Checks a source: a set name or `{ queue: name }`. */
export function checkSource(value: unknown, field: string): CheckedSource {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    return { queue: checkQueueName((value as { queue?: unknown }).queue, `${field}.queue`) };
  }
  if (typeof value !== 'string') {
    throw new VerkValidationError(field, `must be one of 'retry', 'schedule', 'dead' or { queue: name }, got ${JSON.stringify(value)}`);
  }
  return { set: checkSet(value, field) };
}

/** Checks a job id: a non-empty string. */
export function checkJid(value: unknown, field = 'jid'): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new VerkValidationError(field, `must be a non-empty string, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Checks an optional integer in [min, max]. */
export function checkInteger(value: unknown, field: string, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new VerkValidationError(field, `must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Checks that an options argument is absent or an object. */
export function checkOptions(value: unknown, field: string): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new VerkValidationError(field, `must be an object, got ${JSON.stringify(value)}`);
  }
  return value as Record<string, unknown>;
}

/** Checks a listing order: 'asc' or 'desc', and 'asc' only for a queue (it lists in run order). */
export function checkOrder(value: unknown, source: CheckedSource): 'asc' | 'desc' {
  if (value === undefined) return 'asc';
  if (value !== 'asc' && value !== 'desc') throw new VerkValidationError('options.order', `must be 'asc' or 'desc', got ${JSON.stringify(value)}`);
  if (value === 'desc' && !source.set) throw new VerkValidationError('options.order', `must be 'asc' for a queue (its jobs are listed in run order), got 'desc'`);
  return value;
}
