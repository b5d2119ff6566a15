import type Redis from 'ioredis';
import { VerkValidationError } from '../errors';
import { HISTOGRAM_BOUNDS_MS, HISTOGRAM_FIELDS } from '../core/histogram';
import type { HistogramBucket } from '../admin/histograms';
import type { Keys } from '../redis/keys';
import { minuteStamp } from './class-metrics-recorder';

/** The longest window classMetrics reads: 8 h, what the minute hashes are kept for. */
export const MAX_CLASS_METRICS_MINUTES = 480;
const MINUTE_MS = 60_000;

/** What admin.classMetrics reads. */
export interface ClassMetricsQuery {
  /** The last N minutes, the current one included: 1 to 480. Default 60. */
  minutes?: number;
  /** Only this job class (the series too), with its run and wait histograms. */
  className?: string;
}

/** Run or wait times of a class over the window, ms; percentiles estimated from the buckets. */
export interface DurationSummary {
  /** Runs (or waits: jobs with an `enqueued_at`) counted. */
  count: number;
  /** Exact (a sum over the count); 0 when count is 0, like the percentiles. */
  mean: number;
  /** Estimated: linear within the bucket the rank falls in (above the largest bound: that bound). */
  p50: number;
  p95: number;
  p99: number;
}

/** One job class over the window, on every node together. */
export interface ClassMetricsRow {
  class: string;
  /** Executions: finished and failed runs. */
  processed: number;
  /** Failed runs (each retry that fails counts). */
  failed: number;
  /** Sum of the run times, ms: what the table sorts by (where the workers' time went). */
  totalRunMs: number;
  runMs: DurationSummary;
  waitMs: DurationSummary;
}

/** One minute of the window: its start (ISO, UTC) and executions. */
export interface ClassMetricsPoint {
  minute: string;
  processed: number;
  failed: number;
}

/** admin.classMetrics's answer. */
export interface ClassMetricsReport {
  /** Start of the window's first minute and end of its last (ISO, UTC). */
  since: string;
  until: string;
  minutes: number;
  /** By totalRunMs, largest first; only `className` when given (absent: no run of it in the window). */
  classes: ClassMetricsRow[];
  /** Every minute of the window, oldest first, zeros included (of `className` alone when given). */
  series: ClassMetricsPoint[];
  /** With `className`: its run and wait buckets over the window (every bucket, zeros included). */
  histogram?: { run: HistogramBucket[]; wait: HistogramBucket[] };
}

/** Sums of one class over the window. */
interface Sums {
  p: number;
  f: number;
  ms: number;
  wms: number;
  run: number[];
  wait: number[];
}

function checkQuery(query: unknown): { minutes: number; className?: string } {
  if (query === undefined) return { minutes: 60 };
  if (typeof query !== 'object' || query === null || Array.isArray(query)) throw new VerkValidationError('options', `must be an object, got ${JSON.stringify(query)}`);
  const { minutes = 60, className } = query as ClassMetricsQuery;
  if (typeof minutes !== 'number' || !Number.isInteger(minutes) || minutes < 1 || minutes > MAX_CLASS_METRICS_MINUTES) {
    throw new VerkValidationError('options.minutes', `must be an integer from 1 to ${MAX_CLASS_METRICS_MINUTES}, got ${JSON.stringify(minutes)}`);
  }
  if (className !== undefined && (typeof className !== 'string' || className.length === 0 || className.length > 1000)) {
    throw new VerkValidationError('options.className', `must be a non-empty job class name, got ${JSON.stringify(className)}`);
  }
  return { minutes, className };
}

/** The q-quantile (0..1) of bucket counts, interpolated linearly within its bucket. */
export function quantileOf(buckets: readonly number[], q: number): number {
  const count = buckets.reduce((a, b) => a + b, 0);
  if (count === 0) return 0;
  const rank = q * count;
  let below = 0;
  for (let i = 0; i < buckets.length; i++) {
    const inBucket = buckets[i];
    if (inBucket > 0 && below + inBucket >= rank) {
      const low = i === 0 ? 0 : HISTOGRAM_BOUNDS_MS[i - 1];
      // The last bucket has no upper bound: its lower one is all that is known.
      if (i >= HISTOGRAM_BOUNDS_MS.length) return low;
      return low + ((HISTOGRAM_BOUNDS_MS[i] - low) * (rank - below)) / inBucket;
    }
    below += inBucket;
  }
  return HISTOGRAM_BOUNDS_MS[HISTOGRAM_BOUNDS_MS.length - 1];
}

function summary(total: number, buckets: number[]): DurationSummary {
  const count = buckets.reduce((a, b) => a + b, 0);
  if (count === 0) return { count: 0, mean: 0, p50: 0, p95: 0, p99: 0 };
  return { count, mean: total / count, p50: quantileOf(buckets, 0.5), p95: quantileOf(buckets, 0.95), p99: quantileOf(buckets, 0.99) };
}

const bucketsOf = (counts: number[]): HistogramBucket[] => counts.map((count, i) => ({ le: i < HISTOGRAM_BOUNDS_MS.length ? HISTOGRAM_BOUNDS_MS[i] : null, count }));

/**
 * Reads the job class metrics of the last `minutes` minutes (lib/engine/class-metrics):
 * one pipeline of at most 480 HGETALLs, each hash bounded by the registered classes.
 */
export async function readClassMetrics(redis: Redis, keys: Keys, query?: ClassMetricsQuery, now = Date.now()): Promise<ClassMetricsReport> {
  const { minutes, className } = checkQuery(query);
  const last = now - (now % MINUTE_MS);
  const first = last - (minutes - 1) * MINUTE_MS;
  const pipeline = redis.pipeline();
  for (let minute = first; minute <= last; minute += MINUTE_MS) pipeline.hgetall(keys.classMetrics(minuteStamp(minute)));
  const replies = (await pipeline.exec()) ?? [];
  const classes = new Map<string, Sums>();
  const series: ClassMetricsPoint[] = [];
  replies.forEach(([error, reply], index) => {
    if (error) throw error;
    const point = { minute: new Date(first + index * MINUTE_MS).toISOString(), processed: 0, failed: 0 };
    series.push(point);
    for (const [field, text] of Object.entries((reply ?? {}) as Record<string, string>)) {
      // A class name may hold '|': the field's kind is after the last one.
      const bar = field.lastIndexOf('|');
      const name = field.slice(0, bar);
      if (bar < 0 || (className !== undefined && name !== className)) continue;
      const value = Number(text);
      if (!Number.isFinite(value)) continue;
      let sums = classes.get(name);
      if (!sums) classes.set(name, (sums = { p: 0, f: 0, ms: 0, wms: 0, run: new Array<number>(HISTOGRAM_FIELDS.length).fill(0), wait: new Array<number>(HISTOGRAM_FIELDS.length).fill(0) }));
      const kind = field.slice(bar + 1);
      if (kind === 'p') {
        sums.p += value;
        point.processed += value;
      } else if (kind === 'f') {
        sums.f += value;
        point.failed += value;
      } else if (kind === 'ms') sums.ms += value;
      else if (kind === 'wms') sums.wms += value;
      else {
        const i = Number(kind.slice(1));
        if (Number.isInteger(i) && i >= 0 && i < HISTOGRAM_FIELDS.length) (kind[0] === 'r' ? sums.run : kind[0] === 'w' ? sums.wait : [])[i] += value;
      }
    }
  });
  const rows: ClassMetricsRow[] = [...classes].map(([name, sums]) => ({
    class: name,
    processed: sums.p,
    failed: sums.f,
    totalRunMs: sums.ms,
    runMs: summary(sums.ms, sums.run),
    waitMs: summary(sums.wms, sums.wait),
  }));
  rows.sort((a, b) => b.totalRunMs - a.totalRunMs || a.class.localeCompare(b.class));
  const report: ClassMetricsReport = { since: new Date(first).toISOString(), until: new Date(last + MINUTE_MS).toISOString(), minutes, classes: rows, series };
  if (className !== undefined) {
    const sums = classes.get(className);
    const zeros = new Array<number>(HISTOGRAM_FIELDS.length).fill(0);
    report.histogram = { run: bucketsOf(sums?.run ?? zeros), wait: bucketsOf(sums?.wait ?? zeros) };
  }
  return report;
}
