import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import Redis, { Cluster, type RedisOptions } from 'ioredis';
import { VerkConfigError } from './errors';
import { DEFAULT_CLUSTER_PREFIX, hashTagOf, isClusterConfig } from './redis/cluster';
import type { VerkRedisTarget } from './redis/redis';
import { checkQueueLimits, type QueueConfig, type QueueLimits } from './limits/queue-limits';
import { type HistoryOptions, type ResolvedHistoryOptions, resolveHistoryOptions } from './history/history-options';
import { redactRedisUrl } from './redis/redact';
import { type ResolvedTracingOptions, resolveTracingOptions, type TracingOptions } from './tracing/tracing-options';
import { type ResolvedMetricsOptions, resolveMetricsOptions, type VerkMetricsOptions } from './metrics/metrics-options';
import { type RabbitQueueType, type ResolvedRabbitOptions, resolveBroker, type VerkBrokerOptions } from './rabbitmq/rabbit-options';

/** Options of a Verk engine and of `VerkModule.forRoot`. */
export interface VerkOptions {
  /**
   * Redis URL (`redis://`, `rediss://`), ioredis options, a Redis Cluster's seed nodes
   * `{ cluster: [{ host, port }], options?: ClusterOptions }`, or an ioredis Redis or
   * Cluster the application made (copied with `duplicate()`, never closed by Verk).
   * Default `redis://127.0.0.1:6379`. See docs/redis-cluster.md.
   */
  redis?: VerkRedisTarget;
  /**
   * Queue name -> concurrency (jobs run at once on this node), or an object with the
   * concurrency and the queue's limits across all nodes: `{ concurrency, rateLimit,
   * globalConcurrency, groups }` (docs/limits.md). Default `{}`.
   */
  queues?: Record<string, QueueConfig>;
  /** Retries before a failing job goes to `dead`, unless the job says otherwise. Default 25. */
  maxRetryCount?: number;
  /** Size of the `dead` set; the oldest are trimmed first. Default 100. */
  maxDeadJobs?: number;
  /** How often (ms) the scheduler looks for due jobs in `schedule` and `retry`. Default 5000. */
  pollInterval?: number;
  /** This node's id; must be unique among running nodes and stable across restarts. */
  nodeId?: string;
  /** Generate a node id and recover dead nodes' work through heartbeats (Verk 1.6). Default false. */
  generateNodeId?: boolean;
  /** Heartbeat period (ms); every node beats, and recovers nodes whose beat expired. Default 30000. */
  heartbeat?: number;
  /** How long (ms) shutdown waits for running jobs before putting them back. Default 30000. */
  shutdownTimeout?: number;
  /**
   * Prefix for every key, e.g. `myapp:`. Default '' (Sidekiq's layout); in cluster mode it
   * must contain a hash tag, default `{verk}:`, so every key lives in one slot.
   */
  prefix?: string;
  /**
   * Make enqueues and acknowledgements wait until `replicas` replicas have the write
   * (Redis `WAIT replicas timeout`, `timeout` ms, default 1000), so a failover cannot lose
   * them. Default off. See docs/redis-cluster.md.
   */
  durability?: DurabilityOptions;
  /** Times a job may be recovered from nodes that died running it before it is sent to dead as a poison job. Default 3. */
  maxRecoveries?: number;
  /**
   * How long (ms) a finished dependable job stays recorded (so a job enqueued later may
   * still depend on it) and a completed batch's status stays readable. Default 7 days.
   */
  flowRetention?: number;
  /**
   * Job history (qless): `true` keeps the events of every queue's jobs, `{ queues, maxAge,
   * maxJobs }` chooses. Default false: plain jobs cost nothing. See README "Job history".
   */
  history?: boolean | HistoryOptions;
  /**
   * Run-time and wait-time histograms per queue and UTC day in Redis (qless's
   * `stats(queue, date)`), written by the acknowledgement itself. Default false: a plain
   * job's acknowledgement then pays nothing (the paired bench measured up to ~30% less no-op
   * throughput with them on, on a 2-core VM).
   */
  histograms?: boolean;
  /** Days a day's histograms are kept after the day ends (1 to 3650). Default 30. */
  histogramRetention?: number;
  /**
   * OpenTelemetry spans around enqueue and perform, the trace context carried in the job
   * (`true`, or `{ parent }`). Needs `@opentelemetry/api`; default false: it is never loaded.
   * See docs/tracing.md.
   */
  tracing?: boolean | TracingOptions;
  /**
   * Prometheus metrics through prom-client (an optional peer, loaded only when this is
   * set): `true` registers them in prom-client's default registry; `{ registry, prefix,
   * buckets, endpoint }` chooses. Default false. See docs/metrics.md.
   */
  metrics?: boolean | VerkMetricsOptions;
  /**
   * Where jobs live: leave it out for Redis (the default), or `{ rabbitmq: 'amqp://...' }`
   * to run them on RabbitMQ (VerkRabbitEngine; needs the optional peer `amqplib`).
   * Features that need Redis are then refused at boot. See docs/rabbitmq.md.
   */
  broker?: VerkBrokerOptions;
  /** RabbitMQ broker only: `quorum` (replicated, default) or `classic` queues. */
  queueType?: RabbitQueueType;
}

/** Option `durability`: replicas that must confirm each enqueue and acknowledgement. */
export interface DurabilityOptions {
  /** Replicas that must have the write (1 or more). */
  replicas: number;
  /** How long (ms) to wait for them; default 1000. */
  timeout?: number;
}

/** Options with every default filled in. */
export interface ResolvedVerkOptions {
  redis: VerkRedisTarget;
  /** True when `redis` is a Redis Cluster (its seed nodes or a Cluster instance). */
  clusterMode: boolean;
  durability?: Required<DurabilityOptions>;
  queues: Record<string, number>;
  /** The limits given in the object form of `queues`, written to Redis at start. */
  queueLimits: Record<string, QueueLimits>;
  maxRetryCount: number;
  maxDeadJobs: number;
  pollInterval: number;
  nodeId: string;
  generateNodeId: boolean;
  heartbeat: number;
  shutdownTimeout: number;
  prefix: string;
  maxRecoveries: number;
  flowRetention: number;
  history: ResolvedHistoryOptions;
  histograms: boolean;
  histogramRetention: number;
  tracing: ResolvedTracingOptions;
  /** Undefined: metrics off. */
  metrics?: ResolvedMetricsOptions;
  /** The RabbitMQ broker; undefined: Redis. */
  broker?: ResolvedRabbitOptions;
}

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

const DEFAULTS = {
  maxRetryCount: 25,
  maxDeadJobs: 100,
  pollInterval: 5000,
  generateNodeId: false,
  heartbeat: 30000,
  shutdownTimeout: 30000,
  prefix: '',
  maxRecoveries: 3,
  flowRetention: 7 * 24 * 3600 * 1000,
  histograms: false,
  histogramRetention: 30,
};

/** Longest histogram retention, days (ten years). */
const MAX_HISTOGRAM_RETENTION = 3650;

const KNOWN = new Set<string>([
  'redis',
  'queues',
  'maxRetryCount',
  'maxDeadJobs',
  'pollInterval',
  'nodeId',
  'generateNodeId',
  'heartbeat',
  'shutdownTimeout',
  'prefix',
  'maxRecoveries',
  'flowRetention',
  'history',
  'histograms',
  'histogramRetention',
  'tracing',
  'metrics',
  'durability',
  'broker',
  'queueType',
]);

function fail(field: string, message: string): never {
  throw new VerkConfigError(`Invalid Verk option "${field}": ${message}`, { field });
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function integer(options: Record<string, unknown>, field: string, min: number, fallback: number): number {
  const value = options[field];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    fail(field, `must be an integer >= ${min}, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Checks that a queue name is usable as a key part and readable in logs. */
function validateQueueName(name: unknown, field = 'queue'): string {
  if (typeof name !== 'string' || name.length === 0) {
    fail(field, `a queue name must be a non-empty string, got ${JSON.stringify(name)}`);
  }
  if (/\s/.test(name)) fail(field, `queue name "${name}" must not contain white space`);
  return name;
}

function validateConcurrency(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    fail(field, `concurrency must be an integer >= 1, got ${JSON.stringify(value)}`);
  }
  return value;
}

function validateRedis(value: unknown): VerkRedisTarget {
  if (value === undefined) return DEFAULT_REDIS_URL;
  if (value instanceof Redis || value instanceof Cluster) return value;
  if (isClusterConfig(value)) {
    if (value.cluster.length === 0) fail('redis', 'cluster must list at least one seed node ({ host, port })');
    if (value.options !== undefined && !isPlainObject(value.options)) fail('redis', 'cluster options must be an ioredis ClusterOptions object');
    return value;
  }
  if (typeof value === 'string') {
    // Messages show the URL without its password (they end up in logs).
    const shown = redactRedisUrl(value);
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      fail('redis', `"${shown}" is not a valid URL (expected redis://host:port[/db])`);
    }
    if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
      fail('redis', `"${shown}" must start with redis:// or rediss://`);
    }
    if (!url.hostname) fail('redis', `"${shown}" has no host`);
    const db = url.pathname.replace(/^\//, '');
    if (db !== '' && !/^\d+$/.test(db)) fail('redis', `"${shown}" has a database ${db.includes('@') ? '' : `"${db}" `}that is not a number`);
    return value;
  }
  if (isPlainObject(value)) return value as RedisOptions;
  return fail('redis', 'must be a redis:// URL, ioredis options, { cluster: [{ host, port }], options }, or an ioredis Redis or Cluster');
}

/** A node id that is unique per process: host, pid and randomness. */
export function generateNodeId(): string {
  return `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/**
 * Validates options and fills defaults. Throws VerkConfigError naming the bad field;
 * unknown fields are refused so a typo (`concurency`) is not silently ignored.
 */
export function resolveOptions(input: unknown): ResolvedVerkOptions {
  if (input === undefined) input = {};
  if (!isPlainObject(input)) fail('options', 'must be an object');
  const options = input;
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) fail(key, `unknown option (known: ${[...KNOWN].join(', ')})`);
  }

  const queuesInput = options.queues ?? {};
  if (!isPlainObject(queuesInput)) fail('queues', 'must be an object of queue name -> concurrency or { concurrency, rateLimit?, globalConcurrency?, groups? }');
  const queues: Record<string, number> = {};
  const queueLimits: Record<string, QueueLimits> = {};
  for (const [name, config] of Object.entries(queuesInput)) {
    validateQueueName(name, `queues`);
    if (isPlainObject(config)) {
      queues[name] = validateConcurrency(config.concurrency, `queues.${name}.concurrency`);
      queueLimits[name] = checkQueueLimits(config, `queues.${name}`, fail, ['concurrency']);
    } else queues[name] = validateConcurrency(config, `queues.${name}`);
  }

  const generate = options.generateNodeId ?? DEFAULTS.generateNodeId;
  if (typeof generate !== 'boolean') fail('generateNodeId', 'must be a boolean');
  let nodeId = options.nodeId;
  if (generate) {
    if (nodeId !== undefined) fail('nodeId', 'must not be set together with generateNodeId: true');
    nodeId = generateNodeId();
  } else if (nodeId === undefined) {
    fail('nodeId', 'is required unless generateNodeId is true (it must be unique per running node and stable across restarts)');
  } else if (typeof nodeId !== 'string' || nodeId.length === 0 || /[\s:]/.test(nodeId)) {
    fail('nodeId', `must be a non-empty string without white space or ':', got ${JSON.stringify(nodeId)}`);
  }

  const histograms = options.histograms ?? DEFAULTS.histograms;
  if (typeof histograms !== 'boolean') fail('histograms', `must be a boolean, got ${JSON.stringify(histograms)}`);
  const histogramRetention = integer(options, 'histogramRetention', 1, DEFAULTS.histogramRetention);
  if (histogramRetention > MAX_HISTOGRAM_RETENTION) fail('histogramRetention', `must be an integer from 1 to ${MAX_HISTOGRAM_RETENTION} (days), got ${histogramRetention}`);

  // First: with RabbitMQ, an option of a Redis-only feature is refused with its reason.
  const broker = resolveBroker(options);

  const redis = validateRedis(options.redis);
  const clusterMode = redis instanceof Cluster || isClusterConfig(redis);
  const prefix = options.prefix ?? (clusterMode ? DEFAULT_CLUSTER_PREFIX : DEFAULTS.prefix);
  if (typeof prefix !== 'string') fail('prefix', 'must be a string');
  if (clusterMode && hashTagOf(prefix) === undefined) {
    fail(
      'prefix',
      `"${prefix}" has no hash tag: on a Redis Cluster every key of one instance must be in one hash slot (scripts touch several keys at once), so the prefix must contain one, e.g. "{verk}:" (the default in cluster mode) or "{${prefix.replace(/[{}:]/g, '') || 'myapp'}}:"`,
    );
  }

  return {
    redis,
    clusterMode,
    durability: resolveDurability(options.durability),
    queues,
    queueLimits,
    maxRetryCount: integer(options, 'maxRetryCount', 0, DEFAULTS.maxRetryCount),
    maxDeadJobs: integer(options, 'maxDeadJobs', 1, DEFAULTS.maxDeadJobs),
    pollInterval: integer(options, 'pollInterval', 10, DEFAULTS.pollInterval),
    nodeId: nodeId as string,
    generateNodeId: generate,
    heartbeat: integer(options, 'heartbeat', 100, DEFAULTS.heartbeat),
    shutdownTimeout: integer(options, 'shutdownTimeout', 0, DEFAULTS.shutdownTimeout),
    prefix,
    maxRecoveries: integer(options, 'maxRecoveries', 0, DEFAULTS.maxRecoveries),
    flowRetention: integer(options, 'flowRetention', 1000, DEFAULTS.flowRetention),
    history: resolveHistoryOptions(options.history),
    histograms,
    histogramRetention,
    tracing: resolveTracingOptions(options.tracing),
    metrics: resolveMetricsOptions(options.metrics),
    ...(broker ? { broker } : {}),
  };
}

/** Validates `durability`: undefined (off) or replicas >= 1 with a timeout in ms. */
function resolveDurability(input: unknown): Required<DurabilityOptions> | undefined {
  if (input === undefined || input === false) return undefined;
  if (!isPlainObject(input)) fail('durability', 'must be { replicas, timeout? }');
  for (const key of Object.keys(input)) if (key !== 'replicas' && key !== 'timeout') fail(`durability.${key}`, 'unknown option (known: replicas, timeout)');
  const replicas = input.replicas;
  if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 1) fail('durability.replicas', `must be an integer >= 1, got ${JSON.stringify(replicas)}`);
  const timeout = input.timeout ?? 1000;
  if (typeof timeout !== 'number' || !Number.isInteger(timeout) || timeout < 1) fail('durability.timeout', `must be an integer >= 1 (ms), got ${JSON.stringify(timeout)}`);
  return { replicas, timeout };
}
