import { VerkValidationError } from '../errors';

/**
 * Priorities within a queue (qless): a job with a nonzero `priority` waits in the queue's
 * sorted set `verk:queue:<q>:prioritized` instead of Sidekiq's list, with
 * score = -priority * 2^42 + sequence. Fetch order: priority > 0 (highest first), then
 * the plain list (FIFO), then priority < 0; FIFO within a priority. The Lua scripts that
 * put jobs back into a queue read the same field (see `priorityOf` in lua/).
 */

/** Lowest and highest priority; 0 (or none) is a plain, Sidekiq-compatible job. */
export const MIN_PRIORITY = -1000;
export const MAX_PRIORITY = 1000;

/** 2^42: the score range of one priority, room for the sequence within it. */
export const PRIORITY_SCORE_STEP = 2 ** 42;

/** Checks an optional priority: an integer from -1000 to 1000. Returns 0 when absent. */
export function checkPriority(value: unknown, field: string): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < MIN_PRIORITY || value > MAX_PRIORITY) {
    throw new VerkValidationError(field, `must be an integer from ${MIN_PRIORITY} to ${MAX_PRIORITY}, got ${JSON.stringify(value)}`);
  }
  return value === 0 ? 0 : value; // -0 is 0
}

/** The priority a stored job runs with, read as the Lua scripts read it: 0 unless a nonzero integer in range. */
export function priorityOf(job: Record<string, unknown>): number {
  const value = job.priority;
  return typeof value === 'number' && Number.isInteger(value) && value >= MIN_PRIORITY && value <= MAX_PRIORITY ? value || 0 : 0;
}
