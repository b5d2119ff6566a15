import type Redis from 'ioredis';
import { HISTOGRAM_FIELDS, bucketIndex } from '../core/histogram';
import { OTHER_CLASS } from '../metrics/queue-metrics';
import type { Keys } from '../redis/keys';
import { checkExec } from '../redis/multi';
import { RateLimitedLog, type VerkLogger } from '../logger';

/**
 * Per job class and per UTC minute metrics (Sidekiq 7's Metrics page), with option
 * `histograms`: each node adds up, in memory, the executions of each class per minute
 * and flushes the sums to Redis every FLUSH_INTERVAL_MS and on stop, one MULTI of
 * HINCRBYs. The minute's hash (`verk:metrics:<YYYYMMDDHHMM>`, Keys.classMetrics) has, per
 * class, the fields:
 *
 * - `<class>|p`  executions (finished and failed runs alike), `<class>|f` failed runs,
 * - `<class>|ms` sum of run ms, `<class>|r<i>` runs in bucket i (HISTOGRAM_BOUNDS_MS),
 * - `<class>|wms` sum of wait ms, `<class>|w<i>` waits in bucket i (jobs with an
 *   `enqueued_at` only: the wait buckets' sum is how many waits `wms` adds up).
 *
 * Only fields that are not 0 are written. A class without a worker on this node counts
 * as OTHER_CLASS, so the fields of a hash stay bounded by the registered workers.
 */

/** How long a minute's hash is kept after the minute ends (Sidekiq keeps 8 h): the dashboard shows 8 h at most. */
export const CLASS_METRICS_TTL_SECONDS = 8 * 3600;
/** How often a node writes its sums (ms); a graceful stop writes what is left. */
export const CLASS_METRICS_FLUSH_MS = 10_000;
const MINUTE_MS = 60_000;

/** The sums of one class over one minute on this node. */
class ClassMinute {
  processed = 0;
  failed = 0;
  runMs = 0;
  waitMs = 0;
  readonly run = new Array<number>(HISTOGRAM_FIELDS.length).fill(0);
  readonly wait = new Array<number>(HISTOGRAM_FIELDS.length).fill(0);

  /** Adds `other`'s sums (a flush that failed puts its sums back this way). */
  merge(other: ClassMinute): void {
    this.processed += other.processed;
    this.failed += other.failed;
    this.runMs += other.runMs;
    this.waitMs += other.waitMs;
    for (let i = 0; i < this.run.length; i++) {
      this.run[i] += other.run[i];
      this.wait[i] += other.wait[i];
    }
  }

  /** [field suffix, value] of every field that is not 0. */
  fields(): [string, number][] {
    const out: [string, number][] = [];
    if (this.processed) out.push(['p', this.processed]);
    if (this.failed) out.push(['f', this.failed]);
    if (this.runMs) out.push(['ms', this.runMs]);
    if (this.waitMs) out.push(['wms', this.waitMs]);
    for (let i = 0; i < this.run.length; i++) {
      if (this.run[i]) out.push([`r${i}`, this.run[i]]);
      if (this.wait[i]) out.push([`w${i}`, this.wait[i]]);
    }
    return out;
  }
}

/** minute (epoch ms of its start) -> class -> sums. */
type Minutes = Map<number, Map<string, ClassMinute>>;

/** The minute key's stamp, UTC: YYYYMMDDHHMM (fixed length, sorts as time). */
export function minuteStamp(minuteStartMs: number): string {
  const iso = new Date(minuteStartMs).toISOString();
  return iso.slice(0, 4) + iso.slice(5, 7) + iso.slice(8, 10) + iso.slice(11, 13) + iso.slice(14, 16);
}

export interface ClassMetricsRecorderOptions {
  keys: Keys;
  redis: Redis;
  logger: VerkLogger;
  /** Whether a worker handles this class on this node (others count as OTHER_CLASS). */
  isRegistered: (name: string) => boolean;
  /** The node's clock (epoch ms): the minute a job counts in and the age of what is kept. */
  clock: () => number;
  /** Flush period, ms; default CLASS_METRICS_FLUSH_MS. */
  flushMs?: number;
}

/** One node's per-class, per-minute sums; exists only with option `histograms`. */
export class ClassMetricsRecorder {
  private minutes: Minutes = new Map();
  private timer?: NodeJS.Timeout;
  private flushing?: Promise<void>;
  private readonly warnings: RateLimitedLog;

  constructor(private readonly options: ClassMetricsRecorderOptions) {
    this.warnings = new RateLimitedLog(options.logger, 60_000);
  }

  /**
   * One execution of a job of `className` that ended at `endMs`: run `runMs`, waited
   * `waitMs` (undefined: the job has no `enqueued_at`), failed or not. Memory only.
   */
  record(className: unknown, endMs: number, runMs: number, waitMs: number | undefined, failed: boolean): void {
    const name = typeof className === 'string' && this.options.isRegistered(className) ? className : OTHER_CLASS;
    const minute = endMs - (endMs % MINUTE_MS);
    let classes = this.minutes.get(minute);
    if (!classes) this.minutes.set(minute, (classes = new Map()));
    let sums = classes.get(name);
    if (!sums) classes.set(name, (sums = new ClassMinute()));
    const run = runMs > 0 ? Math.round(runMs) : 0;
    sums.processed++;
    if (failed) sums.failed++;
    sums.runMs += run;
    sums.run[bucketIndex(run)]++;
    if (waitMs !== undefined) {
      const wait = waitMs > 0 ? Math.round(waitMs) : 0;
      sums.waitMs += wait;
      sums.wait[bucketIndex(wait)]++;
    }
  }

  /** Starts the periodic flush (the timer does not keep the process alive). */
  start(): void {
    if (this.timer) return;
    // Skipped while a flush waits for Redis (the engine connection waits however long it is away): no pile-up.
    this.timer = setInterval(() => {
      if (!this.flushing) void this.flush();
    }, this.options.flushMs ?? CLASS_METRICS_FLUSH_MS);
    this.timer.unref();
  }

  /** Stops the timer and writes what is left (the caller bounds the wait: Redis may be away). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  /** Writes the sums so far; one flush at a time (a call during one waits for it, then flushes again). */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    this.flushing = this.write().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  private async write(): Promise<void> {
    this.dropExpired();
    if (this.minutes.size === 0) return;
    // Taken out now: jobs ending during the round trip go to a fresh map, not into this write.
    const batch = this.minutes;
    this.minutes = new Map();
    const { keys, redis, clock } = this.options;
    const now = clock();
    const multi = redis.multi();
    for (const [minute, classes] of batch) {
      const key = keys.classMetrics(minuteStamp(minute));
      for (const [name, sums] of classes) for (const [field, value] of sums.fields()) multi.hincrby(key, `${name}|${field}`, value);
      multi.expire(key, Math.max(1, Math.ceil((minute + MINUTE_MS - now) / 1000) + CLASS_METRICS_TTL_SECONDS));
    }
    let results: Awaited<ReturnType<typeof multi.exec>>;
    try {
      results = await multi.exec();
      // Aborted (null): nothing was applied either.
      if (results === null) throw new Error('Redis aborted the transaction');
    } catch (error) {
      // EXEC did not run (or was refused whole): nothing was applied, the sums go back for the next flush.
      this.restore(batch);
      this.warnings.warn(`Could not write the job class metrics (${(error as Error).message}); they are kept for the next try`);
      return;
    }
    try {
      checkExec(results);
    } catch (error) {
      // A command of an applied transaction failed (a key of the wrong type): the others did
      // run, so putting the sums back would count them twice.
      this.warnings.warn(`Some job class metrics were not written (${(error as Error).message})`);
    }
  }

  private restore(batch: Minutes): void {
    for (const [minute, classes] of batch) {
      const current = this.minutes.get(minute);
      if (!current) {
        this.minutes.set(minute, classes);
        continue;
      }
      for (const [name, sums] of classes) {
        const mine = current.get(name);
        if (mine) mine.merge(sums);
        else current.set(name, sums);
      }
    }
  }

  /** Memory stays bounded while Redis is away: minutes whose hash would already have expired are dropped. */
  private dropExpired(): void {
    const oldest = this.options.clock() - CLASS_METRICS_TTL_SECONDS * 1000 - MINUTE_MS;
    let dropped = 0;
    for (const minute of this.minutes.keys()) {
      if (minute < oldest) {
        this.minutes.delete(minute);
        dropped++;
      }
    }
    if (dropped > 0) this.warnings.warn(`Dropped the job class metrics of ${dropped} minute(s) older than ${CLASS_METRICS_TTL_SECONDS / 3600} h that could not be written`);
  }
}
