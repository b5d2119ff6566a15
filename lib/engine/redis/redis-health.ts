import type Redis from 'ioredis';
import { VerkConfigError, VerkRedisError, VerkValidationError } from '../errors';
import { lastNodeErrorOf } from './cluster';

/** Oldest Redis with LMOVE/BLMOVE, which reliable fetch and requeue use. */
const MIN_REDIS = [6, 2];

/**
 * Checks a PING timeout, ms: a finite number > 0. The engine and the Nest health
 * indicator both take one, and a bad one is the same VerkValidationError in both.
 */
export function checkPingTimeout(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new VerkValidationError(field, `PING timeout must be a number of ms > 0, got ${String(value)}`);
  return value;
}

/** Oldest Redis Cluster: sharded pub/sub (SPUBLISH/SSUBSCRIBE) came with 7.0. */
const MIN_REDIS_CLUSTER = [7, 0];

/**
 * Refuses a Redis server older than 6.2, or a cluster older than 7.0 (VerkConfigError):
 * the engine could not run on it.
 */
export async function checkRedisVersion(redis: Redis, clusterMode = false): Promise<void> {
  const info = await redis.info('server');
  const version = /redis_version:([\d.]+)/.exec(info)?.[1] ?? '0';
  const [major, minor] = version.split('.').map(Number);
  const [needMajor, needMinor] = clusterMode ? MIN_REDIS_CLUSTER : MIN_REDIS;
  if (major < needMajor || (major === needMajor && minor < needMinor)) {
    throw new VerkConfigError(
      clusterMode
        ? `nestjs-verk needs Redis ${MIN_REDIS_CLUSTER.join('.')} or newer in cluster mode (for sharded pub/sub, SPUBLISH/SSUBSCRIBE); the cluster runs ${version}`
        : `nestjs-verk needs Redis ${MIN_REDIS.join('.')} or newer (for LMOVE/BLMOVE); the server runs ${version}`,
    );
  }
}

/**
 * PING for health checks, on a connection of its own (role 'health': it fails fast while
 * Redis is away). Remembers the connection's last error, which says more than the
 * PING's own failure.
 */
export class HealthPing {
  private lastError?: string;

  constructor(private readonly connection: Redis) {
    const nodeError = lastNodeErrorOf(connection);
    connection.on('error', (error: Error) => (this.lastError = describeRedisError(error, nodeError())));
    connection.on('ready', () => (this.lastError = undefined));
  }

  /**
   * Resolves with the round trip in ms, or rejects with a VerkRedisError saying what went
   * wrong: no answer within `timeoutMs`, or the error Redis or the connection gave. Never
   * waits longer than `timeoutMs`: the PING races a timer, the timer is cleared whichever
   * wins, and a PING that settles after the timer (it fails at the next failed reconnect
   * attempt, or succeeds once Redis is back) is absorbed. Once the connection is closed
   * it rejects at once.
   */
  async ping(timeoutMs: number): Promise<number> {
    const started = performance.now();
    const reply = this.connection.ping();
    reply.catch(() => undefined); // a PING that loses the race may still fail later
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    let outcome: string;
    try {
      outcome = await Promise.race([reply, timeout]);
    } catch (error) {
      // maxRetriesPerRequest: 0 drops a PING queued while disconnected with an error that
      // names the option; the connection's own error says more.
      const message = (error as Error).name === 'MaxRetriesPerRequestError' ? `Redis is unreachable (${this.lastError ?? 'not connected'})` : `Redis PING failed: ${(error as Error).message}`;
      throw new VerkRedisError(message, { cause: error });
    } finally {
      clearTimeout(timer);
    }
    if (outcome === 'timeout') {
      const cause = this.lastError ?? (this.connection.status === 'ready' ? undefined : `connection ${this.connection.status}`);
      throw new VerkRedisError(`Redis did not answer PING within ${timeoutMs} ms${cause ? ` (${cause})` : ''}`);
    }
    return Math.round(performance.now() - started);
  }
}

/**
 * An error's message; for a Cluster that could not read its slot table from any node
 * (ioredis's "Failed to refresh slots cache."), with the last node's own error, which
 * says why: connection refused, NOAUTH, or a Redis that is not a cluster at all. When
 * that is only "Connection is closed." (a TLS handshake refused), `nodeError`
 * (lastNodeErrorOf) adds the node connection's error, which names the cause.
 */
export function describeRedisError(error: Error & { lastNodeError?: Error | null }, nodeError?: string): string {
  const cause = error.lastNodeError?.message;
  const message = cause ? `${error.message} ${cause}` : error.message;
  return nodeError && !message.includes(nodeError.replace(/^node \S+: /, '')) ? `${message} (${nodeError})` : message;
}
