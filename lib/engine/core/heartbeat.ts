import type Redis from 'ioredis';
import type { Keys } from '../redis/keys';
import { RateLimitedLog, type VerkLogger } from '../logger';
import type { Recovery } from './recovery';
import { checkExec } from '../redis/multi';
import { MAX_RECONNECT_DELAY } from '../redis/redis';
import { Sleeper, withTimeout } from './timing';

export interface HeartbeatOptions {
  nodeId: string;
  keys: Keys;
  redis: Redis;
  logger: VerkLogger;
  recovery: Recovery;
  /** Period in ms; the node key lives twice as long. */
  heartbeat: number;
  /** The queues this node holds work for (registered with every beat). */
  queues: () => string[];
  /** Each queue this node runs and its concurrency, published with every beat (same TTL as the node key). */
  concurrency?: () => Record<string, number>;
}

/**
 * Verk 1.6 heartbeats: every period the node sets `verk:node:<id>` with a TTL of two
 * periods and registers itself in `verk_nodes`, then looks for nodes whose key expired
 * and recovers their in-progress jobs.
 *
 * After (re)connecting it waits two periods plus ioredis's longest reconnect delay
 * before judging others: when Redis comes back from an outage every heartbeat key may
 * have expired, and live nodes need that long to beat again.
 */
export class Heartbeat {
  private running = false;
  private loop?: Promise<void>;
  private readonly sleeper = new Sleeper();
  private readySince = Date.now();
  private readonly warnings: RateLimitedLog;
  /** When this node's heartbeat last reached Redis (epoch ms), 0 if never. */
  lastBeatAt = 0;

  constructor(private readonly options: HeartbeatOptions) {
    this.warnings = new RateLimitedLog(options.logger);
  }

  private readonly onReady = (): void => {
    this.readySince = Date.now();
  };

  /** Writes the first beat, then keeps beating in the background. */
  async start(): Promise<void> {
    this.options.redis.on('ready', this.onReady);
    this.readySince = Date.now();
    // Running from before the first beat, so a stop() during that beat is not undone after it.
    this.running = true;
    await this.beat();
    if (this.running) this.loop = this.run();
  }

  /** Stops beating; waits at most `timeoutMs` for a beat in flight (Redis may be away). */
  async stop(timeoutMs = 1000): Promise<void> {
    this.running = false;
    this.sleeper.cancel();
    await withTimeout(this.loop ?? Promise.resolve(), timeoutMs, undefined);
    this.options.redis.off('ready', this.onReady);
  }

  /** Leaves the cluster cleanly: the heartbeat key goes, and the node is forgotten if it holds no work. */
  async leave(): Promise<void> {
    const { redis, keys, nodeId, recovery } = this.options;
    await redis.del(keys.node(nodeId), keys.nodeConcurrency(nodeId));
    await recovery.forget(nodeId);
  }

  async beat(): Promise<void> {
    const { redis, keys, nodeId, heartbeat } = this.options;
    const queues = this.options.queues();
    const multi = redis.multi().psetex(keys.node(nodeId), heartbeat * 2, 'alive').sadd(keys.nodes, nodeId);
    if (queues.length > 0) multi.sadd(keys.nodeQueues(nodeId), ...queues);
    const concurrency = Object.entries(this.options.concurrency?.() ?? {});
    // Replaced whole (a queue removed since goes), and gone with the node's key when it stops beating.
    multi.del(keys.nodeConcurrency(nodeId));
    if (concurrency.length > 0) multi.hset(keys.nodeConcurrency(nodeId), ...concurrency.flat()).pexpire(keys.nodeConcurrency(nodeId), heartbeat * 2);
    checkExec(await multi.exec());
    this.lastBeatAt = Date.now();
  }

  private async run(): Promise<void> {
    const { heartbeat, recovery, nodeId } = this.options;
    while (this.running) {
      await this.sleeper.sleep(heartbeat);
      if (!this.running) break;
      try {
        await this.beat();
        if (Date.now() - this.readySince >= 2 * heartbeat + MAX_RECONNECT_DELAY) await recovery.recoverDeadNodes(nodeId);
      } catch (error) {
        this.warnings.warn(`Heartbeat of node ${nodeId} failed: ${(error as Error).message}`);
      }
    }
  }
}
