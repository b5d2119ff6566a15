import type { ClassMetricsRecorder } from '../class-metrics/class-metrics-recorder';
import type Redis from 'ioredis';
import type { Durability } from '../redis/durability';
import type { Keys } from '../redis/keys';
import type { VerkLogger } from '../logger';
import type { MiddlewareStack } from '../core/middleware';
import type { JobRecorder } from '../history/recorder';
import type { EventBus } from '../events';
import type { WorkerRegistry } from '../core/worker-registry';
import type { JobTracing } from '../tracing/job-tracing';
import type { QueueMetrics } from '../metrics/queue-metrics';

/** What a QueueManager is given: its queue, connections, the engine's parts and the options that concern it. */
export interface QueueManagerOptions {
  queue: string;
  concurrency: number;
  nodeId: string;
  keys: Keys;
  /** Shared engine connection (fetch, acknowledge, fail). */
  redis: Redis;
  /** This queue's own connection, blocked in BLMOVE while the queue is empty. */
  blocking: Redis;
  workers: WorkerRegistry;
  /** Server middleware around each job's perform. */
  middleware: MiddlewareStack;
  logger: VerkLogger;
  events: EventBus;
  maxRetryCount: number;
  maxDeadJobs: number;
  /** Server-side timeout of one BLMOVE, seconds. */
  blockSeconds?: number;
  /** Start paused (the queue is in `verk:paused_queues`). */
  paused?: boolean;
  /** How long finished dependable jobs and completed batches are remembered, seconds. */
  flowRetentionSeconds: number;
  /** Called when an acknowledgement put jobs in `schedule` to run now (dependents, batch callbacks). */
  onScheduledNow: () => void;
  /** Job history and tracking: started, finished, failed and dead events. */
  recorder?: JobRecorder;
  /** Run/wait histograms per day, written with each acknowledgement; absent: off. */
  histograms?: { retentionDays: number };
  /** With option `histograms`: the node's per-class, per-minute sums (memory; flushed by the engine). */
  classMetrics?: ClassMetricsRecorder;
  /** The clock (epoch ms) a job's start and end are read from; default Date.now. */
  clock?: () => number;
  /** OpenTelemetry: a consumer span around each perform; undefined when `tracing` is off. */
  tracing?: JobTracing;
  /** Prometheus counters of this queue on this node (plain numbers); absent when metrics are off. */
  metrics?: QueueMetrics;
  /** Option `durability`: acknowledgements wait for WAIT; absent when off. */
  durability?: Durability;
  /**
   * With `durability`: the connection acknowledgements and their WAIT go on, so fetches
   * (on `redis`) never wait behind a WAIT, which holds its connection until the replicas
   * answer. Default `redis`.
   */
  ackRedis?: Redis;
  /** The queue has limits or groups (its limits hash exists): fetch with lua/limits/fetchLimited. */
  limited?: boolean;
}
