import type Redis from 'ioredis';
import { VerkRedisError } from '../errors';
import type { DurabilityOptions } from '../options';
import { connectionFor } from './cluster';

/**
 * Option `durability`: after an enqueue or an acknowledgement, `WAIT replicas timeout` on
 * the connection that sent it (on a Cluster: the connection to the master of the
 * instance's slot, the one its scripts travel on), so the write is on `replicas` replicas
 * before the caller goes on. Redis replicates asynchronously: without WAIT a master that
 * dies just after answering can take the write with it when its replica is promoted.
 * WAIT cannot run inside a script, and it blocks the connection it runs on until the
 * replicas answer: its cost is measured by `npm run bench` (docs/redis-cluster.md).
 */
export class Durability {
  readonly replicas: number;
  readonly timeout: number;

  constructor(
    options: Required<DurabilityOptions>,
    /** Any key of the instance: every key is in the same slot in cluster mode. */
    private readonly slotKey: string,
  ) {
    this.replicas = options.replicas;
    this.timeout = options.timeout;
  }

  /**
   * Waits until the writes sent so far on `redis` are on enough replicas; throws a
   * VerkRedisError naming `what` when fewer confirmed within the timeout (the write stays
   * on the master: it was not undone).
   */
  async confirm(redis: Redis, what: string): Promise<void> {
    const node = await connectionFor(redis, this.slotKey);
    const confirmed = Number(await node.call('WAIT', String(this.replicas), String(this.timeout)));
    if (confirmed < this.replicas) {
      throw new VerkRedisError(
        `${what} was written on the Redis master, but only ${confirmed} of ${this.replicas} replica(s) confirmed it within ${this.timeout} ms (option durability); a failover now could lose it`,
      );
    }
  }
}
