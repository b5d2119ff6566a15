import type Redis from 'ioredis';
import { checkConcurrency, checkQueueName } from '../admin/admin-input';
import type { NodeState } from '../core/lifecycle';
import { VerkStateError } from '../errors';
import { isLimited } from '../limits/queue-limits';
import type { EngineMetrics } from '../metrics/engine-metrics';
import type { VerkHealthFacts } from '../node-facts';
import type { ResolvedVerkOptions } from '../options';
import { closeConnection, createConnection } from '../redis/redis';
import { QueueManager, type QueueManagerOptions } from './queue-manager';

/** The parts of the engine every QueueManager of the node uses. */
export type NodeQueueParts = Pick<QueueManagerOptions, 'keys' | 'redis' | 'workers' | 'middleware' | 'logger' | 'events' | 'onScheduledNow' | 'recorder' | 'classMetrics' | 'clock' | 'tracing' | 'durability' | 'ackRedis'>;

/** The QueueManager options all queues of a node share (everything but the queue's own). */
type SharedManagerOptions = Omit<QueueManagerOptions, 'queue' | 'concurrency' | 'blocking' | 'paused' | 'limited' | 'metrics'>;

/** What a node's queue set is given by its engine. */
export interface NodeQueuesOptions {
  /** The node's options: its id, `redis` (each queue's blocking connection), `shutdownTimeout` and what every manager obeys. */
  options: ResolvedVerkOptions;
  parts: NodeQueueParts;
  /** The node's lifecycle state, read live: queues are added only while 'running'. */
  state: () => NodeState;
  /** Sends one heartbeat now, so peers see a queue added at runtime without waiting a period. */
  beat: () => Promise<void>;
  /** Prometheus metrics; undefined when off. */
  metrics?: EngineMetrics;
}

/**
 * The queues one Redis node runs: a QueueManager per queue, each with its own blocking
 * connection, added at start or at runtime (addQueue) and removed at runtime
 * (removeQueue) or all together at the node's stop.
 */
export class NodeQueues {
  private readonly entries = new Map<string, { manager: QueueManager; blocking: Redis }>();
  /** Queues whose addQueue is reading their state from Redis (not yet in `entries`). */
  private readonly adding = new Set<string>();
  /** Queues whose remove() waits for their running jobs (no longer in `entries`). */
  private readonly removing = new Set<string>();

  private readonly manager: SharedManagerOptions;

  constructor(private readonly options: NodeQueuesOptions) {
    const { nodeId, maxRetryCount, maxDeadJobs, flowRetention, histograms, histogramRetention } = options.options;
    this.manager = {
      ...options.parts,
      nodeId,
      maxRetryCount,
      maxDeadJobs,
      flowRetentionSeconds: Math.ceil(flowRetention / 1000),
      histograms: histograms ? { retentionDays: histogramRetention } : undefined,
    };
  }

  /** The managers by queue, read live (the control channel acts on them). */
  get managers(): ReadonlyMap<string, { manager: QueueManager }> {
    return this.entries;
  }

  /** Names of the queues this node is running, with their concurrency (published with each heartbeat). */
  concurrency(): Record<string, number> {
    const result: Record<string, number> = {};
    for (const [name, { manager }] of this.entries) result[name] = manager.concurrency;
    return result;
  }

  /** Each queue's concurrency, whether its manager is fetching and how many jobs it runs (from memory). */
  health(): VerkHealthFacts['queues'] {
    const queues: VerkHealthFacts['queues'] = {};
    for (const [name, { manager }] of this.entries) queues[name] = { concurrency: manager.concurrency, running: manager.running, busy: manager.busy };
    return queues;
  }

  /** Starts processing a queue on this node at runtime. */
  async add(queue: string, concurrency: number): Promise<void> {
    const { nodeId, redis, keys } = this.manager;
    checkQueueName(queue, 'queue');
    checkConcurrency(concurrency, 'concurrency');
    if (this.entries.has(queue) || this.adding.has(queue)) throw new VerkStateError(`Queue "${queue}" is already running on node ${nodeId}`);
    // remove()'s last steps (gauges, the node's queue set) would undo a queue added meanwhile.
    if (this.removing.has(queue)) throw new VerkStateError(`Queue "${queue}" is being removed on node ${nodeId}: add it again once removeQueue has returned`);
    const state = this.options.state();
    if (state !== 'running') throw new VerkStateError(`Verk node ${nodeId} is not running (${state}): queues are added between start() and stop()`);
    // Taken before the reads below, so a second addQueue of the queue meanwhile is refused.
    this.adding.add(queue);
    try {
      const [paused, limited] = await Promise.all([redis.sismember(keys.pausedQueues, queue), isLimited(redis, keys, queue)]);
      // stop() may have come during the reads: a queue started now would outlive the node.
      if (this.options.state() !== 'running') throw new VerkStateError(`Verk node ${nodeId} was stopped while queue "${queue}" was being added`);
      this.start(queue, concurrency, paused === 1, limited);
    } finally {
      this.adding.delete(queue);
    }
    // Sent only while running: a beat after stop()'s leave() would bring the node's key back.
    if (this.options.state() === 'running') await this.options.beat();
  }

  /** Stops processing a queue on this node: running jobs finish, waiting jobs stay in Redis. */
  async remove(queue: string): Promise<void> {
    const { nodeId, redis, keys } = this.manager;
    const entry = this.entries.get(queue);
    if (!entry) throw new VerkStateError(`Queue "${queue}" is not running on node ${nodeId}`);
    this.entries.delete(queue);
    this.removing.add(queue);
    try {
      await entry.manager.stop(Date.now() + this.options.options.shutdownTimeout);
      await closeConnection(entry.blocking);
      this.options.metrics?.queueRemoved(queue);
      // The node no longer holds work for the queue, unless a job is still stuck in progress.
      if ((await redis.llen(keys.inProgress(queue, nodeId))) === 0) await redis.srem(keys.nodeQueues(nodeId), queue);
    } finally {
      this.removing.delete(queue);
    }
  }

  /**
   * A step of the node's start: starts the queues of option `queues`, each paused or
   * limited as Redis says. `checkStarting` after each read: once stop() came, nothing starts.
   */
  async startConfigured(checkStarting: () => void): Promise<void> {
    const { redis, keys } = this.manager;
    const { queues } = this.options.options;
    const paused = new Set(await redis.smembers(keys.pausedQueues));
    checkStarting();
    const limited = new Map<string, boolean>();
    for (const queue of Object.keys(queues)) limited.set(queue, await isLimited(redis, keys, queue));
    checkStarting();
    for (const [queue, concurrency] of Object.entries(queues)) this.start(queue, concurrency, paused.has(queue), limited.get(queue) ?? false);
  }

  /** Builds a queue's manager with its blocking connection and starts it (no Redis read; the caller has read the state). */
  private start(queue: string, concurrency: number, paused: boolean, limited: boolean): void {
    const blocking = createConnection(this.options.options.redis, 'blocking', `verk:${this.manager.nodeId}:queue:${queue}`, this.manager.logger);
    const manager = new QueueManager({
      ...this.manager,
      queue,
      concurrency,
      blocking,
      paused,
      limited,
      metrics: this.options.metrics?.queue(queue, concurrency),
    });
    this.entries.set(queue, { manager, blocking });
    manager.start();
  }

  /** Stops every queue's manager: running jobs get until `deadline`, the unfinished go back to their queues. */
  async stop(deadline: number): Promise<void> {
    await Promise.all([...this.entries.values()].map(({ manager }) => manager.stop(deadline)));
  }

  /** Closes every queue's blocking connection and forgets the queues (the node's last step). */
  async close(): Promise<void> {
    await Promise.all([...this.entries.values()].map(({ blocking }) => closeConnection(blocking)));
    this.entries.clear();
  }
}
