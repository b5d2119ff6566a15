/**
 * The per-node numbers of one queue, kept in plain TypeScript on the job's path (a few
 * additions per job, no Redis call, nothing of prom-client): the collectors read them at
 * scrape time (collectors.ts).
 */

/** Class label of a job whose class has no worker registered on this node: bounds the label's values. */
export const OTHER_CLASS = 'other';

/** A histogram's counts, per bucket (not cumulative; the last one is +Inf), with sum and count. */
export class BucketCounts {
  readonly counts: number[];
  sum = 0;
  count = 0;

  constructor(readonly bounds: readonly number[]) {
    this.counts = new Array<number>(bounds.length + 1).fill(0);
  }

  observe(value: number): void {
    const { bounds } = this;
    let i = 0;
    // Linear: ~16 bounds, and short jobs (the common case) stop at the first few.
    while (i < bounds.length && value > bounds[i]) i++;
    this.counts[i]++;
    this.sum += value;
    this.count++;
  }
}

/** The numbers of one job class in one queue. */
export class ClassMetrics {
  processed = 0;
  failed = 0;
  dead = 0;
  readonly duration: BucketCounts;

  constructor(bounds: readonly number[]) {
    this.duration = new BucketCounts(bounds);
  }
}

/** What the queue manager calls on the job's path; absent when metrics are off. */
export class QueueMetrics {
  running = 0;
  concurrency: number;
  retried = 0;
  readonly wait: BucketCounts;
  /** Registered class names only (so its size is bounded by the workers), plus OTHER_CLASS. */
  readonly classes = new Map<string, ClassMetrics>();

  constructor(
    readonly queue: string,
    concurrency: number,
    private readonly bounds: readonly number[],
    /** Whether a worker handles this class on this node (registered workers only get their own label). */
    private readonly isRegistered: (name: string) => boolean,
  ) {
    this.concurrency = concurrency;
    this.wait = new BucketCounts(bounds);
  }

  /** A job began at `nowMs`: one more running; its wait since `enqueued_at` (epoch s) observed. */
  started(enqueuedAt: unknown, nowMs: number): void {
    this.running++;
    // Another system's payload may lack it; a clock ahead of ours gives a negative wait.
    if (typeof enqueuedAt === 'number' && Number.isFinite(enqueuedAt)) this.wait.observe(Math.max(0, nowMs / 1000 - enqueuedAt));
  }

  /** A job's perform ended after `ms`: one fewer running, its duration observed, counted as processed when it succeeded. */
  performed(className: unknown, ms: number, succeeded: boolean): void {
    this.running--;
    const metrics = this.forClass(className);
    metrics.duration.observe(ms / 1000);
    if (succeeded) metrics.processed++;
  }

  /** A failure's outcome landed in Redis: `retry` or `dead`. */
  failed(className: unknown, target: 'retry' | 'dead'): void {
    const metrics = this.forClass(className);
    metrics.failed++;
    if (target === 'dead') metrics.dead++;
    else this.retried++;
  }

  private forClass(name: unknown): ClassMetrics {
    const label = typeof name === 'string' && (this.classes.has(name) || this.isRegistered(name)) ? name : OTHER_CLASS;
    let metrics = this.classes.get(label);
    if (!metrics) {
      metrics = new ClassMetrics(this.bounds);
      this.classes.set(label, metrics);
    }
    return metrics;
  }
}
