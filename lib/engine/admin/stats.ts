import type Redis from 'ioredis';
import type { ChainableCommander } from 'ioredis';
import { checkInteger, checkOptions, checkQueueName } from './admin-input';
import { type Keys, statDay } from '../redis/keys';
import { checkExec } from '../redis/multi';
import { checkDate, type QueueHistograms, readHistogram } from './histograms';
import { limitsState, type QueueLimitsState } from '../limits/queue-limits';

/** Counters of one UTC day. */
export interface DayStats {
  /** YYYY-MM-DD (UTC), as in Sidekiq's `stat:processed:<day>`. */
  date: string;
  processed: number;
  failed: number;
}

/** Numbers of one queue. */
export interface QueueStats {
  name: string;
  /**
   * Jobs waiting: in `queue:<name>`, with a priority in `verk:queue:<name>:prioritized`, and
   * grouped jobs the limited fetch took into `verk:queue:<name>:grouped` (docs/limits.md).
   */
  size: number;
  /**
   * Jobs taken by a node and not finished, summed over every node in `verk_nodes`: a
   * node that died keeps its jobs here until a live node recovers them.
   */
  inProgress: number;
  /** In-progress jobs per node id (only nodes that hold at least one). */
  inProgressByNode: Record<string, number>;
  /** Jobs of this queue that finished / failed, ever (`verk:stat:<kind>:queue:<name>`). */
  processed: number;
  failed: number;
  /** Today's counters (UTC); the same as `days[0]`. */
  today: DayStats;
  /** One entry per day, newest first, today first. */
  days: DayStats[];
}

/** queueStats(): a queue's numbers and its run/wait histograms of one UTC day. */
export interface QueueDetails extends QueueStats {
  histograms: QueueHistograms;
  /** The queue's limits across nodes and their state (docs/limits.md); `limits.grouped` is the part of `size` waiting in groups. */
  limits: QueueLimitsState;
}

/** A live node (its heartbeat key exists). */
export interface NodeStats {
  id: string;
  /** Queues the node holds work for (`verk:node:<id>:queues`), sorted. */
  queues: string[];
  /** Jobs in progress on this node per queue (every queue of `queues`, 0 included). */
  running: Record<string, number>;
  /** Sum of `running`. */
  busy: number;
}

/** The whole system at a glance, as Sidekiq's dashboard shows it. */
export interface VerkStats {
  /** `stat:processed` / `stat:failed`: jobs finished / failed, ever. */
  processed: number;
  failed: number;
  /** Today's counters (UTC); the same as `days[0]`. */
  today: DayStats;
  /** One entry per day, newest first, today first. */
  days: DayStats[];
  /** Jobs waiting, summed over `queues`. */
  enqueued: number;
  /** Jobs in progress, summed over `queues`. */
  inProgress: number;
  /** Sizes of `schedule`, `retry` and `dead`. */
  scheduled: number;
  retries: number;
  dead: number;
  /** Jobs waiting for their dependencies (`verk:flow:blocked`, in no queue yet); the `verk_blocked_jobs` metric. */
  blocked: number;
  /**
   * Every queue in the `queues` set and every queue a registered node holds work for,
   * sorted by name.
   */
  queues: QueueStats[];
  /** Live nodes, sorted by id. */
  nodes: NodeStats[];
}

export interface StatsOptions {
  /** How many days of daily counters, today included. Default 1 (today), at most 366. */
  days?: number;
}

export interface QueueStatsOptions extends StatsOptions {
  /** The day of the histograms: a Date (its UTC day) or 'YYYY-MM-DD' (UTC). Default today. */
  date?: Date | string;
}

const MAX_DAYS = 366;
const DAY_MS = 86_400_000;

/** Collects commands into one MULTI and reads their replies by index. */
class Batch {
  private count = 0;
  private replies: unknown[] = [];

  constructor(readonly multi: ChainableCommander) {}

  add(command: (multi: ChainableCommander) => unknown): number {
    command(this.multi);
    return this.count++;
  }

  async exec(): Promise<void> {
    if (this.count === 0) return;
    this.replies = checkExec(await this.multi.exec());
  }

  number(index: number): number {
    const reply = this.replies[index];
    const value = typeof reply === 'number' ? reply : Number(reply ?? 0);
    return Number.isFinite(value) ? value : 0;
  }

  hash(index: number): Record<string, string> {
    const reply = this.replies[index];
    if (reply !== null && typeof reply === 'object' && !Array.isArray(reply)) return reply as Record<string, string>;
    if (!Array.isArray(reply)) return {};
    // In case the connection hands HGETALL back as the flat field/value list.
    const hash: Record<string, string> = {};
    for (let i = 0; i + 1 < reply.length; i += 2) hash[String(reply[i])] = String(reply[i + 1]);
    return hash;
  }
}

/**
 * Reads counters and sizes in three round trips: the names; each node's liveness and the
 * queues it holds work for; then one MULTI of every counter and size, with an LLEN only
 * for the in-progress lists that can hold jobs (a node's queues), not nodes x queues.
 */
export class VerkStatsReader {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  async stats(options?: StatsOptions): Promise<VerkStats> {
    const days = statDays(checkOptions(options, 'options').days);
    const { redis, keys } = this;
    // Round trip 1: the names of everything else.
    const [queueSet, nodeIds] = await Promise.all([redis.smembers(keys.queues), redis.smembers(keys.nodes)]);
    nodeIds.sort();

    // Round trip 2: which nodes are alive, and the queues each holds work for (the fetch
    // script adds a queue there before it moves a job to the node's in-progress list).
    const nodeReads = nodeIds.length === 0 ? [] : checkExec(await nodeIds.reduce((pipeline, id) => pipeline.exists(keys.node(id)).smembers(keys.nodeQueues(id)), redis.pipeline()).exec());
    const nodeQueues = new Map(nodeIds.map((id, i) => [id, (nodeReads[2 * i + 1] as string[]).sort()]));
    const holders = new Map<string, string[]>();
    for (const [id, queues] of nodeQueues) for (const queue of queues) holders.set(queue, [...(holders.get(queue) ?? []), id]);

    // Round trip 3, one MULTI, so sizes are a consistent snapshot (a job moving between
    // a queue and a node's in-progress list is counted once). A node may hold work for a
    // queue that is not in `queues` (a foreign client, a set cleaned by hand): read too.
    const batch = new Batch(redis.multi());
    const global = {
      processed: batch.add((m) => m.get(keys.stat('processed'))),
      failed: batch.add((m) => m.get(keys.stat('failed'))),
      days: days.map((day) => [batch.add((m) => m.get(keys.stat('processed', day))), batch.add((m) => m.get(keys.stat('failed', day)))]),
      scheduled: batch.add((m) => m.zcard(keys.schedule)),
      retries: batch.add((m) => m.zcard(keys.retry)),
      dead: batch.add((m) => m.zcard(keys.dead)),
      blocked: batch.add((m) => m.hlen(keys.flowBlocked)),
    };
    const names = [...new Set([...queueSet, ...holders.keys()])].sort();
    const queueReads = names.map((queue) => ({ queue, reads: this.addQueue(batch, queue, holders.get(queue) ?? [], days) }));
    await batch.exec();

    const queues = queueReads.map(({ queue, reads }) => readQueue(batch, queue, reads, holders.get(queue) ?? [], days));
    const byName = new Map(queues.map((queue) => [queue.name, queue]));
    const live: NodeStats[] = [];
    nodeIds.forEach((id, i) => {
      if (Number(nodeReads[2 * i]) !== 1) return;
      const running: Record<string, number> = {};
      let busy = 0;
      for (const queue of nodeQueues.get(id) ?? []) {
        const count = byName.get(queue)?.inProgressByNode[id] ?? 0;
        running[queue] = count;
        busy += count;
      }
      live.push({ id, queues: nodeQueues.get(id) ?? [], running, busy });
    });

    const dayStats = days.map((date, i) => ({ date, processed: batch.number(global.days[i][0]), failed: batch.number(global.days[i][1]) }));
    return {
      processed: batch.number(global.processed),
      failed: batch.number(global.failed),
      today: dayStats[0],
      days: dayStats,
      enqueued: queues.reduce((sum, queue) => sum + queue.size, 0),
      inProgress: queues.reduce((sum, queue) => sum + queue.inProgress, 0),
      scheduled: batch.number(global.scheduled),
      retries: batch.number(global.retries),
      dead: batch.number(global.dead),
      blocked: batch.number(global.blocked),
      queues,
      nodes: live,
    };
  }

  /**
   * The numbers of one queue (zeros for a queue that does not exist), with its run and
   * wait histograms of `options.date` (default today, UTC), read in the same MULTI.
   */
  async queueStats(name: string, options?: QueueStatsOptions): Promise<QueueDetails> {
    const queue = checkQueueName(name, 'name');
    const checked = checkOptions(options, 'options');
    const days = statDays(checked.days);
    const date = checkDate(checked.date, 'options.date');
    const nodeIds = (await this.redis.smembers(this.keys.nodes)).sort();
    const batch = new Batch(this.redis.multi());
    const reads = this.addQueue(batch, queue, nodeIds, days);
    const run = batch.add((m) => m.hgetall(this.keys.histogram('run', queue, date)));
    const wait = batch.add((m) => m.hgetall(this.keys.histogram('wait', queue, date)));
    const limits = batch.add((m) => m.hgetall(this.keys.limits(queue)));
    const grouped = batch.add((m) => m.zcard(this.keys.grouped(queue)));
    const groups = batch.add((m) => m.zcard(this.keys.groupRing(queue)));
    await batch.exec();
    return {
      ...readQueue(batch, queue, reads, nodeIds, days),
      histograms: { date, run: readHistogram(batch.hash(run)), wait: readHistogram(batch.hash(wait)) },
      limits: limitsState(batch.hash(limits), batch.number(grouped), batch.number(groups)),
    };
  }

  /**
   * The run and wait histograms of these queues for one UTC day (`date`, default today),
   * without their sizes: two HGETALLs per queue in one round trip (the metrics page).
   */
  async histograms(names: readonly string[], date?: Date | string): Promise<{ name: string; histograms: QueueHistograms }[]> {
    const queues = names.map((name, i) => checkQueueName(name, `names[${i}]`));
    const day = checkDate(date, 'options.date');
    if (queues.length === 0) return [];
    const batch = new Batch(this.redis.multi());
    const reads = queues.map((queue) => [batch.add((m) => m.hgetall(this.keys.histogram('run', queue, day))), batch.add((m) => m.hgetall(this.keys.histogram('wait', queue, day)))]);
    await batch.exec();
    return queues.map((name, i) => ({ name, histograms: { date: day, run: readHistogram(batch.hash(reads[i][0])), wait: readHistogram(batch.hash(reads[i][1])) } }));
  }

  private addQueue(batch: Batch, queue: string, nodeIds: string[], days: string[]): QueueReads {
    const { keys } = this;
    return {
      size: batch.add((m) => m.llen(keys.queue(queue))),
      prioritized: batch.add((m) => m.zcard(keys.prioritized(queue))),
      grouped: batch.add((m) => m.zcard(keys.grouped(queue))),
      processed: batch.add((m) => m.get(keys.queueStat('processed', queue))),
      failed: batch.add((m) => m.get(keys.queueStat('failed', queue))),
      days: days.map((day) => [batch.add((m) => m.get(keys.queueStat('processed', queue, day))), batch.add((m) => m.get(keys.queueStat('failed', queue, day)))]),
      inProgress: nodeIds.map((id) => batch.add((m) => m.llen(keys.inProgress(queue, id)))),
    };
  }
}

interface QueueReads {
  size: number;
  prioritized: number;
  grouped: number;
  processed: number;
  failed: number;
  days: number[][];
  inProgress: number[];
}

function readQueue(batch: Batch, name: string, reads: QueueReads, nodeIds: string[], days: string[]): QueueStats {
  const inProgressByNode: Record<string, number> = {};
  let inProgress = 0;
  nodeIds.forEach((id, i) => {
    const count = batch.number(reads.inProgress[i]);
    if (count > 0) inProgressByNode[id] = count;
    inProgress += count;
  });
  const dayStats = days.map((date, i) => ({ date, processed: batch.number(reads.days[i][0]), failed: batch.number(reads.days[i][1]) }));
  return {
    name,
    size: batch.number(reads.size) + batch.number(reads.prioritized) + batch.number(reads.grouped),
    inProgress,
    inProgressByNode,
    processed: batch.number(reads.processed),
    failed: batch.number(reads.failed),
    today: dayStats[0],
    days: dayStats,
  };
}

/** The UTC days asked for, today first. */
function statDays(value: unknown): string[] {
  const count = checkInteger(value, 'options.days', 1, MAX_DAYS, 1);
  const now = Date.now();
  return Array.from({ length: count }, (_, i) => statDay(new Date(now - i * DAY_MS)));
}
