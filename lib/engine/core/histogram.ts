/**
 * Run-time and wait-time histograms per queue and UTC day, kept in Redis (qless's
 * `stats(queue, date)`): one hash per queue, day and kind (`verk:hist:<kind>:<day>:<q>`,
 * see Keys.histogram) with a count per bucket plus `count`, `sum`, `sumsq`, `min` and
 * `max` (all in ms), from which the mean and the standard deviation follow.
 *
 * The queue manager sums the jobs of one acknowledgement batch here and the script that
 * acknowledges them adds the sums (lua/includes/stats/addHistogram.lua): no extra round trip,
 * a few numbers per batch whatever its size.
 */

/**
 * Upper bounds of the buckets, in ms, inclusive (a run of exactly 1000 ms counts in the
 * 1000 bucket); a last bucket, `inf`, takes everything above the largest. Fixed: a
 * stored day is read with the same layout it was written with. 1-2-5 steps under a
 * second (most jobs), then the steps a person reads on a clock: seconds, minutes, hours.
 */
export const HISTOGRAM_BOUNDS_MS: readonly number[] = [
  1, 2, 5, 10, 20, 50, 100, 200, 500,
  1_000, 2_000, 5_000, 10_000, 20_000, 30_000,
  60_000, 120_000, 300_000, 600_000, 1_200_000, 1_800_000,
  3_600_000, 7_200_000, 21_600_000, 43_200_000,
  86_400_000,
];

/** The hash field of the bucket above the largest bound. */
export const OVERFLOW_FIELD = 'inf';

/** The hash field of each bucket, in the order of HISTOGRAM_BOUNDS_MS, then OVERFLOW_FIELD. */
export const HISTOGRAM_FIELDS: readonly string[] = [...HISTOGRAM_BOUNDS_MS.map(String), OVERFLOW_FIELD];

/** The index (in HISTOGRAM_FIELDS) of the bucket a duration falls in: the first bound >= ms. */
export function bucketIndex(ms: number): number {
  let low = 0;
  let high = HISTOGRAM_BOUNDS_MS.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (HISTOGRAM_BOUNDS_MS[mid] < ms) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** The durations of one batch, summed: what one script call adds to one histogram hash. */
export class DurationSums {
  private readonly buckets = new Array<number>(HISTOGRAM_FIELDS.length).fill(0);
  private count = 0;
  private sum = 0;
  private sumsq = 0;
  private min = Infinity;
  private max = -Infinity;

  /** Adds one duration (ms; rounded to a whole ms, below 0 counted as 0: clocks of two hosts differ). */
  add(ms: number): void {
    const value = ms > 0 ? Math.round(ms) : 0;
    this.count++;
    this.sum += value;
    this.sumsq += value * value;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
    this.buckets[bucketIndex(value)]++;
  }

  /**
   * The script argument: `count sum sumsq min max` then `field count` for each bucket that
   * got something; '' when nothing was added (the script then writes nothing).
   */
  encode(): string {
    if (this.count === 0) return '';
    let text = `${this.count} ${this.sum} ${this.sumsq} ${this.min} ${this.max}`;
    for (let i = 0; i < this.buckets.length; i++) if (this.buckets[i] > 0) text += ` ${HISTOGRAM_FIELDS[i]} ${this.buckets[i]}`;
    return text;
  }
}

/** What an acknowledgement script adds to a queue's histograms of the day (see VerkScripts). */
export interface HistogramWrite {
  /** DurationSums.encode() of the run times and of the wait times. */
  run: string;
  wait: string;
  /** Days a day's histograms are kept after the day ends (option `histogramRetention`). */
  retentionDays: number;
}

/**
 * The histogram write of one job (a failure or a flow-control job, acknowledged alone).
 * `waitMs` undefined: the job has no `enqueued_at` (only its run time counts).
 */
export function singleJobWrite(runMs: number, waitMs: number | undefined, retentionDays: number): HistogramWrite {
  const run = new DurationSums();
  run.add(runMs);
  const wait = new DurationSums();
  if (waitMs !== undefined) wait.add(waitMs);
  return { run: run.encode(), wait: wait.encode(), retentionDays };
}

/** How long a job waited: from its `enqueued_at` (epoch seconds) to `startedMs`; undefined without one. */
export function waitOf(enqueuedAt: unknown, startedMs: number): number | undefined {
  return typeof enqueuedAt === 'number' && Number.isFinite(enqueuedAt) ? startedMs - enqueuedAt * 1000 : undefined;
}
