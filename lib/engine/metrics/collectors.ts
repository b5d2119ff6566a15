import { VerkConfigError } from '../errors';
import type { ClusterRead } from './cluster-reader';
import type { VerkMetricsRegistry } from './metrics-options';
import type { BucketCounts, QueueMetrics } from './queue-metrics';

/**
 * The metrics as prom-client registry entries. A prom-client Registry asks each entry for
 * `get()` (name, help, type, values, aggregator) at scrape time and formats the text; so
 * these entries read the engine's plain counters then, and the job's path never calls
 * prom-client (whose inc/observe hash their labels on every call).
 */

type Labels = Record<string, string | number>;

interface MetricValue {
  value: number;
  labels: Labels;
  metricName?: string;
}

/** What a MetricSet reads from each engine registered in it. */
export interface MetricsSource {
  queueMetrics(): Iterable<QueueMetrics>;
  cluster(): Promise<ClusterRead>;
}

/** One registry entry, in the shape prom-client's Registry reads (prom-client 15). */
class Collector {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge' | 'histogram',
    /** prom-client's cluster aggregation (AggregatorRegistry): per-node numbers add up, cluster-wide ones are the same on every worker. */
    readonly aggregator: 'sum' | 'first',
    private readonly values: () => MetricValue[] | Promise<MetricValue[]>,
  ) {}

  async get(): Promise<{ name: string; help: string; type: string; values: MetricValue[]; aggregator: string }> {
    return { name: this.name, help: this.help, type: this.type, values: await this.values(), aggregator: this.aggregator };
  }

  /** registry.resetMetrics(): the counters are the engine's own and keep counting. */
  reset(): void {}
}

/** Adds numbers of every engine into one value per label set. */
class Sums {
  private readonly entries = new Map<string, { labels: Labels; value: number }>();

  add(labels: Labels, value: number): void {
    const key = JSON.stringify(labels);
    const entry = this.entries.get(key);
    if (entry) entry.value += value;
    else this.entries.set(key, { labels, value });
  }

  values(): MetricValue[] {
    return [...this.entries.values()];
  }
}

/** Histograms of every engine added bucket by bucket, written as prom-client writes a Histogram. */
function histogramValues(name: string, bounds: readonly number[], histograms: { labels: Labels; counts: BucketCounts }[]): MetricValue[] {
  const merged = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();
  for (const { labels, counts } of histograms) {
    const key = JSON.stringify(labels);
    let entry = merged.get(key);
    if (!entry) {
      entry = { labels, counts: new Array<number>(bounds.length + 1).fill(0), sum: 0, count: 0 };
      merged.set(key, entry);
    }
    for (let i = 0; i < counts.counts.length; i++) entry.counts[i] += counts.counts[i];
    entry.sum += counts.sum;
    entry.count += counts.count;
  }
  const values: MetricValue[] = [];
  for (const { labels, counts, sum, count } of merged.values()) {
    let cumulative = 0;
    bounds.forEach((bound, i) => {
      cumulative += counts[i];
      values.push({ metricName: `${name}_bucket`, labels: { ...labels, le: bound }, value: cumulative });
    });
    values.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: count });
    values.push({ metricName: `${name}_sum`, labels, value: sum });
    values.push({ metricName: `${name}_count`, labels, value: count });
  }
  return values;
}

/**
 * The verk_ metrics of one registry and prefix. Engines in one process that share both
 * (two engines, tests, a module imported twice) share the entries: per-node numbers add
 * up over the engines, cluster-wide ones are read through the latest engine registered.
 */
export class MetricSet {
  private readonly sources: MetricsSource[] = [];
  private readonly collectors: Collector[];

  constructor(
    private readonly registry: VerkMetricsRegistry,
    readonly prefix: string,
    readonly bounds: readonly number[],
  ) {
    const p = prefix;
    const perClass = (name: string, help: string, pick: (m: { processed: number; failed: number; dead: number }) => number) =>
      new Collector(`${p}${name}`, help, 'counter', 'sum', () => {
        const sums = new Sums();
        for (const queue of this.queues()) for (const [cls, metrics] of queue.classes) sums.add({ queue: queue.queue, class: cls }, pick(metrics));
        return sums.values();
      });
    const perQueue = (name: string, help: string, type: 'counter' | 'gauge', pick: (q: QueueMetrics) => number) =>
      new Collector(`${p}${name}`, help, type, 'sum', () => {
        const sums = new Sums();
        for (const queue of this.queues()) sums.add({ queue: queue.queue }, pick(queue));
        return sums.values();
      });
    const cluster = (name: string, help: string, values: (read: ClusterRead) => MetricValue[]) =>
      new Collector(`${p}${name}`, help, 'gauge', 'first', async () => {
        const read = await this.cluster();
        return read.snapshot ? values(read) : [];
      });
    const single = (value: number): MetricValue[] => [{ labels: {}, value }];

    this.collectors = [
      perClass('jobs_processed_total', 'Jobs this node performed successfully.', (m) => m.processed),
      perClass('jobs_failed_total', 'Jobs whose perform failed on this node (sent to retry or dead).', (m) => m.failed),
      perClass('jobs_dead_total', 'Failed jobs this node sent to the dead set.', (m) => m.dead),
      perQueue('jobs_retried_total', 'Failed jobs this node sent to the retry set.', 'counter', (q) => q.retried),
      new Collector(`${p}job_duration_seconds`, 'How long perform took on this node, seconds.', 'histogram', 'sum', () =>
        histogramValues(
          `${p}job_duration_seconds`,
          bounds,
          [...this.queues()].flatMap((queue) => [...queue.classes].map(([cls, metrics]) => ({ labels: { queue: queue.queue, class: cls }, counts: metrics.duration }))),
        ),
      ),
      new Collector(`${p}job_wait_seconds`, 'How long jobs waited from enqueued_at to their start on this node, seconds.', 'histogram', 'sum', () =>
        histogramValues(
          `${p}job_wait_seconds`,
          bounds,
          [...this.queues()].map((queue) => ({ labels: { queue: queue.queue }, counts: queue.wait })),
        ),
      ),
      perQueue('jobs_running', 'Jobs running on this node now.', 'gauge', (q) => q.running),
      perQueue('queue_concurrency', 'Jobs this node runs at once per queue (0 once the queue was removed).', 'gauge', (q) => q.concurrency),
      cluster('queue_size', 'Jobs waiting in the queue (plain and prioritized), cluster-wide.', (r) => (r.snapshot?.queues ?? []).map((q) => ({ labels: { queue: q.name }, value: q.size }))),
      cluster('queue_latency_seconds', 'Age of the next job to run in the queue (Sidekiq latency), seconds.', (r) => (r.snapshot?.queues ?? []).map((q) => ({ labels: { queue: q.name }, value: q.latency }))),
      cluster('queue_paused', '1 when the queue is paused on every node.', (r) => (r.snapshot?.queues ?? []).map((q) => ({ labels: { queue: q.name }, value: q.paused ? 1 : 0 }))),
      cluster('scheduled_jobs', 'Jobs in the schedule set.', (r) => single(r.snapshot?.scheduled ?? 0)),
      cluster('retry_jobs', 'Jobs in the retry set.', (r) => single(r.snapshot?.retry ?? 0)),
      cluster('dead_jobs', 'Jobs in the dead set.', (r) => single(r.snapshot?.dead ?? 0)),
      cluster('blocked_jobs', 'Jobs waiting for their dependencies.', (r) => single(r.snapshot?.blocked ?? 0)),
      cluster('nodes_alive', 'Nodes whose heartbeat is fresh.', (r) => single(r.snapshot?.nodesAlive ?? 0)),
      cluster('recurring_next_run_timestamp_seconds', 'When each recurring job runs next, epoch seconds.', (r) => (r.snapshot?.recurring ?? []).map((job) => ({ labels: { name: job.name }, value: job.next }))),
      new Collector(`${p}redis_metrics_stale`, '1 when this scrape could not read Redis in time: the cluster-wide gauges show the last values read.', 'gauge', 'first', async () =>
        single((await this.cluster()).stale ? 1 : 0),
      ),
    ];
  }

  /** The metric names of the set, for docs and tests. */
  get names(): string[] {
    return this.collectors.map((collector) => collector.name);
  }

  attach(source: MetricsSource): void {
    this.register();
    this.sources.push(source);
  }

  detach(source: MetricsSource): void {
    const index = this.sources.indexOf(source);
    if (index >= 0) this.sources.splice(index, 1);
  }

  /** Registers the entries still missing (all at first; again after a registry.clear()). */
  private register(): void {
    for (const collector of this.collectors) {
      const existing = this.registry.getSingleMetric(collector.name);
      if (existing === collector) continue;
      if (existing !== undefined) {
        throw new VerkConfigError(`Invalid Verk option "metrics.prefix": the registry already has a metric named ${collector.name} that Verk did not register; choose another prefix`, { field: 'metrics.prefix' });
      }
      this.registry.registerMetric(collector);
    }
  }

  private *queues(): Iterable<QueueMetrics> {
    for (const source of this.sources) yield* source.queueMetrics();
  }

  private cluster(): Promise<ClusterRead> {
    const source = this.sources[this.sources.length - 1];
    return source ? source.cluster() : Promise.resolve({ stale: true });
  }
}

const sets = new WeakMap<VerkMetricsRegistry, Map<string, MetricSet>>();

/** The set of a registry and prefix, created (and registered) on first use. */
export function metricSetFor(registry: VerkMetricsRegistry, prefix: string, bounds: readonly number[]): MetricSet {
  let byPrefix = sets.get(registry);
  if (!byPrefix) {
    byPrefix = new Map();
    sets.set(registry, byPrefix);
  }
  let set = byPrefix.get(prefix);
  if (!set) {
    set = new MetricSet(registry, prefix, bounds);
    byPrefix.set(prefix, set);
  } else if (set.bounds.length !== bounds.length || set.bounds.some((bound, i) => bound !== bounds[i])) {
    throw new VerkConfigError(`Invalid Verk option "metrics.buckets": another engine registered the ${prefix} metrics in this registry with buckets ${JSON.stringify(set.bounds)}; engines sharing a registry and prefix use the same buckets`, { field: 'metrics.buckets' });
  }
  return set;
}
