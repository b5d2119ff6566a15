import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { RedisOptions } from 'ioredis';
import { VerkConfigError } from './errors';
import { checkQueueLimits, type QueueConfig, type QueueLimits } from './limits/queue-limits';
import { type HistoryOptions, type ResolvedHistoryOptions, resolveHistoryOptions } from './history/history-options';
import { redactRedisUrl } from './redis/redact';
import { type ResolvedTracingOptions, resolveTracingOptions, type TracingOptions } from './tracing/tracing-options';
import { type ResolvedMetricsOptions, resolveMetricsOptions, type VerkMetricsOptions } from './metrics/metrics-options';

/** Options of a Verk engine and of `VerkModule.forRoot`. */
export interface VerkOptions {
  /** Redis URL (`redis://`, `rediss://`) or ioredis options. Default `redis://127.0.0.1:6379`. */
  redis?: string | RedisOptions;
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
  /** Prefix for every key, e.g. `myapp:`. Default '' (Sidekiq's layout). */
  prefix?: string;
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
}

/** Options with every default filled in. */
export interface ResolvedVerkOptions {
  redis: string | RedisOptions;
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

function validateRedis(value: unknown): string | RedisOptions {
  if (value === undefined) return DEFAULT_REDIS_URL;
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
  return fail('redis', 'must be a redis:// URL or an ioredis options object');
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

  const prefix = options.prefix ?? DEFAULTS.prefix;
  if (typeof prefix !== 'string') fail('prefix', 'must be a string');

  return {
    redis: validateRedis(options.redis),
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
  };
}
