import Redis, { Cluster, type ClusterOptions, type RedisOptions } from 'ioredis';
import { clientName } from './blocking-connection';
import { isClusterConfig, lastNodeErrorOf, type VerkClusterConfig } from './cluster';
import { RateLimitedLog, type VerkLogger } from '../logger';
import { describeRedis, redactSecrets } from './redact';
import { describeRedisError } from './redis-health';
import { defineScripts } from './scripts';

/**
 * How a connection behaves while Redis is away.
 * - `engine`: fetch, acknowledge, fail, schedule. Commands wait for Redis however long it
 *   is gone (maxRetriesPerRequest: null). A command that was in flight when the
 *   connection dropped is resent after reconnecting, so every script is written to be
 *   harmless when run twice (acknowledge/fail check LREM, the scheduler checks ZREM), and
 *   a fetch that may have run twice is reconciled by the queue manager (see 'close').
 * - `blocking`: one per queue for BLMOVE, same rules.
 * - `subscriber`: pause/resume and wake-up announcements, same rules; on a cluster its
 *   sharded subscriptions (SSUBSCRIBE) go to the node serving the channels' slot.
 * - `client`: the enqueue API; ioredis's maxRetriesPerRequest, so a caller gets an error
 *   after a bounded number of reconnect attempts (about 10 s) instead of waiting forever.
 * - `health`: PING for health checks. maxRetriesPerRequest: 0, so a PING sent while
 *   Redis is away fails at the next failed reconnect attempt (within
 *   MAX_RECONNECT_DELAY) instead of queueing until Redis returns: checks polled during an
 *   outage never pile up. The caller bounds its own wait (VerkEngine.ping).
 */
export type ConnectionRole = 'engine' | 'blocking' | 'subscriber' | 'client' | 'health';

/** The longest wait between two reconnect attempts of any engine connection. */
export const MAX_RECONNECT_DELAY = 2000;

/**
 * Reconnects 50 ms × attempt apart, at most MAX_RECONNECT_DELAY (ioredis 5's default).
 * Set explicitly because the heartbeat's grace after a reconnect (2 × heartbeat +
 * MAX_RECONNECT_DELAY) assumes every node is back within that delay, and ioredis 6's
 * default backs off up to 5 s plus jitter.
 */
export function reconnectDelay(attempt: number): number {
  return Math.min(attempt * 50, MAX_RECONNECT_DELAY);
}

/**
 * What the `redis` option may be: a URL, ioredis options, a cluster's seed nodes
 * (`{ cluster, options }`), or a connection the application made (a Redis or a Cluster),
 * which the engine only copies (duplicate) and so never closes.
 */
export type VerkRedisTarget = string | RedisOptions | VerkClusterConfig | Redis | Cluster;

/**
 * How a Cluster waits through a failover: a command that meets a node going down or a
 * slot without a master is retried every 200 ms, up to 150 times (30 s), long enough for
 * a replica to be promoted (cluster-node-timeout plus the election). The application's
 * ClusterOptions win over these.
 */
const CLUSTER_DEFAULTS: ClusterOptions = { retryDelayOnFailover: 200, retryDelayOnClusterDown: 200, retryDelayOnTryAgain: 200, maxRedirections: 150 };

/**
 * A new connection to `redis` with `overrides` (options of each Redis connection) and
 * `clusterOverrides` (options of the Cluster, in cluster mode). A Cluster is returned
 * typed as Redis: it answers every command the engine sends (all keys of an instance are
 * in one slot), and the few node-local ones go through lib/engine/redis/cluster.ts.
 */
export function openConnection(redis: VerkRedisTarget, overrides: RedisOptions, clusterOverrides: ClusterOptions = {}): Redis {
  if (typeof redis === 'string') return new Redis(redis, overrides);
  if (redis instanceof Redis) return redis.duplicate(overrides);
  if (redis instanceof Cluster) {
    const options = redis.options;
    return redis.duplicate([], { ...CLUSTER_DEFAULTS, ...options, ...clusterOverrides, redisOptions: { ...options.redisOptions, ...overrides } }) as unknown as Redis;
  }
  if (isClusterConfig(redis)) {
    const options = redis.options ?? {};
    const cluster = new Cluster(redis.cluster, { ...CLUSTER_DEFAULTS, ...options, ...clusterOverrides, redisOptions: { ...options.redisOptions, ...overrides } });
    return cluster as unknown as Redis;
  }
  return new Redis({ ...redis, ...overrides });
}

/**
 * Connections connect on their first command, so an engine that never starts holds no socket.
 * replyMapping is 'legacy' whatever the caller's options say: the engine reads RESP2-shaped
 * replies (WITHSCORES as a flat list, scores as strings), which ioredis 6 gives on RESP3
 * (its default protocol) as on RESP2 only with that mapping.
 */
export function createConnection(redis: VerkRedisTarget, role: ConnectionRole, name: string, logger: VerkLogger): Redis {
  // Queue names and node ids may go beyond what CLIENT SETNAME accepts.
  const common: RedisOptions = { connectionName: clientName(name), lazyConnect: true, retryStrategy: reconnectDelay, replyMapping: 'legacy' };
  const overrides: RedisOptions =
    role === 'client'
      ? { ...common, enableAutoPipelining: true }
      : role === 'health'
        ? { ...common, maxRetriesPerRequest: 0 }
        : { ...common, maxRetriesPerRequest: null, enableAutoPipelining: role === 'engine' };
  // A Cluster's node connections never reconnect by themselves (ioredis follows the slot
  // table instead), so retryStrategy stays theirs; the Cluster reconnects with its own.
  const { retryStrategy: _nodeRetry, ...nodeOverrides } = overrides;
  const clusterMode = isClusterConfig(redis) || redis instanceof Cluster;
  const connection = clusterMode
    ? openConnection(redis, nodeOverrides, { lazyConnect: true, enableAutoPipelining: overrides.enableAutoPipelining ?? false, clusterRetryStrategy: reconnectDelay, shardedSubscribers: role === 'subscriber' })
    : openConnection(redis, overrides);
  defineScripts(connection);
  warnOnErrors(connection, name, redis, logger);
  return connection;
}

/** Logs a connection's errors. ioredis reconnects by itself; say so once every few seconds rather than per attempt. */
export function warnOnErrors(connection: Redis, name: string, redis: VerkRedisTarget, logger: VerkLogger): void {
  const warnings = new RateLimitedLog(logger);
  // Which Redis, without its password: the log line must say where, and logs are not secret.
  const target = describeRedis(redis);
  const nodeError = lastNodeErrorOf(connection);
  connection.on('error', (error: Error) => warnings.warn(`Redis connection ${name} to ${target}: ${redactSecrets(describeRedisError(error, nodeError()))} (reconnecting)`));
}

/** Closes a connection without waiting for Redis when it is unreachable. */
export async function closeConnection(connection: Redis): Promise<void> {
  if (connection.status === 'end') return;
  if (connection.status === 'ready') {
    try {
      await connection.quit();
      return;
    } catch {
      // fall through to a hard disconnect
    }
  }
  connection.disconnect(false);
}
