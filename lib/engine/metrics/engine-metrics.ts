import type Redis from 'ioredis';
import type { Keys } from '../redis/keys';
import { RateLimitedLog, type VerkLogger } from '../logger';
import type { WorkerRegistry } from '../core/worker-registry';
import { ClusterMetricsReader, type ClusterRead, MAX_NAMES_PER_SCRAPE } from './cluster-reader';
import { type MetricSet, type MetricsSource, metricSetFor } from './collectors';
import type { ResolvedMetricsOptions, VerkMetricsRegistry } from './metrics-options';
import { requireOptionalPeer } from './optional-peer';
import { QueueMetrics } from './queue-metrics';

export interface EngineMetricsDeps {
  /** The connection cluster-wide gauges are read on (the client's: it gives up while Redis is away). */
  redis: Redis;
  keys: Keys;
  /** The engine's pollInterval: the longest a cluster-wide read is reused. */
  pollInterval: number;
  workers: WorkerRegistry;
  logger: VerkLogger;
}

/** prom-client's default registry, loaded now (prom-client is an optional peer). */
function defaultRegistry(): VerkMetricsRegistry {
  const promClient = requireOptionalPeer('prom-client', 'metrics') as { register?: VerkMetricsRegistry };
  if (!promClient.register) throw new Error('prom-client has no default registry (register); is it prom-client 15?');
  return promClient.register;
}

/**
 * One engine's metrics: the per-queue counters its queue managers update, and the
 * cluster-wide reader, registered in the registry's verk_ MetricSet. Exists only when
 * the `metrics` option is set.
 */
export class EngineMetrics implements MetricsSource {
  readonly registry: VerkMetricsRegistry;
  private readonly set: MetricSet;
  private readonly queues = new Map<string, QueueMetrics>();
  private readonly reader: ClusterMetricsReader;
  private readonly warnings: RateLimitedLog;
  private readonly isRegistered: (name: string) => boolean;

  constructor(
    private readonly options: ResolvedMetricsOptions,
    deps: EngineMetricsDeps,
  ) {
    this.registry = options.registry ?? defaultRegistry();
    this.warnings = new RateLimitedLog(deps.logger, 60_000);
    this.isRegistered = (name) => deps.workers.get(name) !== undefined;
    this.reader = new ClusterMetricsReader(deps.redis, deps.keys, deps.pollInterval, () => [...this.queues.keys()], (error) =>
      this.warnings.warn(`Metrics: could not read the cluster-wide gauges from Redis (${error.message}); scrapes show the last values, ${options.prefix}redis_metrics_stale = 1`),
    );
    this.set = metricSetFor(this.registry, options.prefix, options.buckets);
    this.set.attach(this);
  }

  /** The counters of a queue this node starts running; the same object again when it is added back. */
  queue(name: string, concurrency: number): QueueMetrics {
    let metrics = this.queues.get(name);
    if (metrics) metrics.concurrency = concurrency;
    else {
      metrics = new QueueMetrics(name, concurrency, this.options.buckets, this.isRegistered);
      this.queues.set(name, metrics);
    }
    return metrics;
  }

  /** The queue no longer runs here: its counters stay (they are totals), its concurrency reads 0. */
  queueRemoved(name: string): void {
    const metrics = this.queues.get(name);
    if (metrics) metrics.concurrency = 0;
  }

  queueMetrics(): Iterable<QueueMetrics> {
    return this.queues.values();
  }

  async cluster(): Promise<ClusterRead> {
    const read = await this.reader.read();
    if (read.snapshot?.truncated) this.warnings.warn(`Metrics: more than ${MAX_NAMES_PER_SCRAPE} queues exist; the queue gauges cover ${MAX_NAMES_PER_SCRAPE} of them`);
    return read;
  }

  /** Redis round trips the cluster-wide reads made (see ClusterMetricsReader). */
  get clusterReads(): number {
    return this.reader.reads;
  }

  /** Leaves the registry's set (the engine stopped): its numbers no longer show. */
  close(): void {
    this.set.detach(this);
  }
}
