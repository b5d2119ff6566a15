import { VerkConfigError } from '../errors';
import { redactRedisUrl } from '../redis/redact';

/** `broker` option: where jobs live. Absent: Redis (the default, unchanged). */
export interface VerkBrokerOptions {
  /** An AMQP URL (`amqp://user:pass@host:5672/vhost`, `amqps://...`): jobs live in RabbitMQ. See docs/rabbitmq.md. */
  rabbitmq: string;
  /** How long an enqueue waits for the broker's publisher confirm, ms (also while reconnecting), and the bound of one connection attempt. Default 10000. */
  confirmTimeout?: number;
}

/** RabbitMQ queue type: `quorum` (replicated, the default) or `classic`. */
export type RabbitQueueType = 'quorum' | 'classic';

/** The RabbitMQ broker's options with defaults filled in. */
export interface ResolvedRabbitOptions {
  url: string;
  queueType: RabbitQueueType;
  confirmTimeout: number;
}

const DEFAULT_CONFIRM_TIMEOUT = 10_000;

/**
 * Options whose feature keeps its state in Redis, refused with the RabbitMQ broker: the
 * option, the feature, and why it cannot be done on RabbitMQ alone.
 */
const REDIS_ONLY_OPTIONS: readonly (readonly [option: string, feature: string, reason: string])[] = [
  ['redis', 'a Redis connection', 'the RabbitMQ broker keeps every job in RabbitMQ and opens no Redis connection'],
  ['prefix', 'key prefixes', 'RabbitMQ names are not Redis keys; use a vhost of your own in the broker URL to separate applications'],
  ['history', 'job history, tags and tracking', 'events are recorded in Redis lists and sorted sets; RabbitMQ has nowhere to keep them and nothing to look a job up by'],
  ['histograms', 'run/wait histograms', 'they are written by the Redis acknowledgement script'],
  ['histogramRetention', 'run/wait histograms', 'they are written by the Redis acknowledgement script'],
  ['flowRetention', 'dependencies and batches', 'finished jobs and batch counters are recorded in Redis and updated atomically by Lua scripts'],
  ['durability', 'waiting for Redis replicas (WAIT)', 'it waits on Redis replicas; a quorum queue replicates every message and its publisher confirm already waits for a majority'],
  ['metrics', 'Prometheus metrics', 'queue sizes, latencies and dead/retry counts are read from Redis'],
];

function fail(field: string, message: string): never {
  throw new VerkConfigError(`Invalid Verk option "${field}": ${message}`, { field });
}

/**
 * Reads `broker` and `queueType` of the module/engine options. Undefined: the Redis
 * broker. With RabbitMQ, options of features that need Redis are refused here, at boot,
 * naming the feature and the reason (see docs/rabbitmq.md).
 */
export function resolveBroker(options: Record<string, unknown>): ResolvedRabbitOptions | undefined {
  const broker = options.broker;
  const queueType = options.queueType;
  if (broker === undefined) {
    if (queueType !== undefined) fail('queueType', 'applies to the RabbitMQ broker only (broker: { rabbitmq: "amqp://..." }); Redis has no queue types');
    return undefined;
  }
  if (broker === null || typeof broker !== 'object' || Array.isArray(broker)) fail('broker', 'must be { rabbitmq: "amqp://..." } (leave it out for Redis)');
  const input = broker as Record<string, unknown>;
  for (const key of Object.keys(input)) {
    if (key !== 'rabbitmq' && key !== 'confirmTimeout') fail(`broker.${key}`, 'unknown option (known: rabbitmq, confirmTimeout)');
  }
  const url = input.rabbitmq;
  if (typeof url !== 'string') fail('broker.rabbitmq', `must be an amqp:// or amqps:// URL, got ${JSON.stringify(url)}`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    fail('broker.rabbitmq', `"${redactRedisUrl(url)}" is not a valid URL (expected amqp://user:pass@host:5672/vhost)`);
  }
  if (parsed.protocol !== 'amqp:' && parsed.protocol !== 'amqps:') fail('broker.rabbitmq', `"${redactRedisUrl(url)}" must start with amqp:// or amqps://`);
  if (!parsed.hostname) fail('broker.rabbitmq', `"${redactRedisUrl(url)}" has no host`);
  const confirmTimeout = input.confirmTimeout ?? DEFAULT_CONFIRM_TIMEOUT;
  if (typeof confirmTimeout !== 'number' || !Number.isInteger(confirmTimeout) || confirmTimeout < 100) fail('broker.confirmTimeout', `must be an integer >= 100 (ms), got ${JSON.stringify(confirmTimeout)}`);
  if (queueType !== undefined && queueType !== 'quorum' && queueType !== 'classic') fail('queueType', `must be 'quorum' or 'classic', got ${JSON.stringify(queueType)}`);
  for (const [option, feature, reason] of REDIS_ONLY_OPTIONS) {
    if (options[option] !== undefined) {
      throw new VerkConfigError(`Invalid Verk option "${option}": ${feature} - Redis only, and this node uses the RabbitMQ broker (broker.rabbitmq): ${reason}`, { field: option });
    }
  }
  // The object form of `queues` carries limits (issue 16) that only the Redis fetch enforces: refused, never ignored.
  const queues = options.queues;
  if (queues !== null && typeof queues === 'object') {
    for (const [queue, config] of Object.entries(queues as Record<string, unknown>)) {
      if (config === null || typeof config !== 'object') continue;
      for (const limit of ['rateLimit', 'globalConcurrency', 'groups']) {
        if ((config as Record<string, unknown>)[limit] !== undefined) {
          throw new VerkConfigError(
            `Invalid Verk option "queues.${queue}.${limit}": rate limits, global concurrency and groups - Redis only, and this node uses the RabbitMQ broker (broker.rabbitmq): their windows and slots are Redis keys checked by the fetch script; on RabbitMQ a queue's concurrency per node is its consumer prefetch`,
            { field: `queues.${queue}.${limit}` },
          );
        }
      }
    }
  }
  return { url, queueType: (queueType as RabbitQueueType | undefined) ?? 'quorum', confirmTimeout };
}
