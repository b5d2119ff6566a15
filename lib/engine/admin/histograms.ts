import { VerkValidationError } from '../errors';
import { HISTOGRAM_BOUNDS_MS, HISTOGRAM_FIELDS } from '../core/histogram';
import { statDay } from '../redis/keys';

/** One bucket of a histogram: how many durations were at most `le` ms (and above the previous bucket's). */
export interface HistogramBucket {
  /** Upper bound, ms, inclusive; null for the last bucket (above the largest bound, no limit). */
  le: number | null;
  /** Durations in this bucket alone (not cumulative, unlike Prometheus's `le` buckets). */
  count: number;
}

/** The run times or the wait times of one queue's jobs over one UTC day; every figure in ms. */
export interface DurationHistogram {
  count: number;
  /** 0 when count is 0, like min, max and std. */
  mean: number;
  min: number;
  max: number;
  /** Standard deviation (of the population: the day's jobs). */
  std: number;
  /** Every bucket of the fixed layout, in order, zeros included: the same x axis every day. */
  buckets: HistogramBucket[];
}

/**
 * The histograms of one queue and UTC day: `run` is how long perform took (finished and
 * failed runs alike), `wait` how long a job waited from its `enqueued_at` to its start.
 */
export interface QueueHistograms {
  /** YYYY-MM-DD (UTC). */
  date: string;
  run: DurationHistogram;
  wait: DurationHistogram;
}

/** A number of a histogram hash (HGETALL's text), 0 when absent or not a number. */
function numberOf(hash: Record<string, string>, field: string): number {
  const value = Number(hash[field] ?? 0);
  return Number.isFinite(value) ? value : 0;
}

/** Reads a histogram hash (`verk:hist:<kind>:<day>:<q>`, as HGETALL returns it). */
export function readHistogram(hash: Record<string, string>): DurationHistogram {
  const count = numberOf(hash, 'count');
  const buckets = HISTOGRAM_FIELDS.map((field, i) => ({ le: i < HISTOGRAM_BOUNDS_MS.length ? HISTOGRAM_BOUNDS_MS[i] : null, count: numberOf(hash, field) }));
  if (count <= 0) return { count: 0, mean: 0, min: 0, max: 0, std: 0, buckets };
  const mean = numberOf(hash, 'sum') / count;
  // Population variance from the sums; rounding may leave it a hair below 0.
  const variance = Math.max(0, numberOf(hash, 'sumsq') / count - mean * mean);
  return { count, mean, min: numberOf(hash, 'min'), max: numberOf(hash, 'max'), std: Math.sqrt(variance), buckets };
}

/** Checks the day asked for: a Date (its UTC day) or 'YYYY-MM-DD'; default today (UTC). */
export function checkDate(value: unknown, field: string): string {
  if (value === undefined) return statDay();
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new VerkValidationError(field, 'must be a valid Date, got an invalid one');
    return statDay(value);
  }
  if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value)) {
    const parsed = new Date(`${value}T00:00:00Z`);
    // Date accepts 2026-02-30 (as March 2nd): a day that does not exist is refused.
    if (!Number.isNaN(parsed.getTime()) && statDay(parsed) === value) return value;
  }
  throw new VerkValidationError(field, `must be a Date or a UTC day 'YYYY-MM-DD', got ${JSON.stringify(value)}`);
}
