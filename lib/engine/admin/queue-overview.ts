import type Redis from 'ioredis';
import { checkInteger, checkOptions } from './admin-input';
import { readJob } from '../core/job';
import { type Keys, statDay } from '../redis/keys';
import { checkExec } from '../redis/multi';

/** One queue as the Queues page shows it. */
export interface QueueOverview {
  name: string;
  /** Jobs waiting: `plain` + `prioritized` + `grouped`. */
  waiting: number;
  /** In `queue:<name>`. */
  plain: number;
  /** In `verk:queue:<name>:prioritized` (jobs with a nonzero priority). */
  prioritized: number;
  /** In `verk:queue:<name>:grouped`: grouped jobs waiting in their groups (docs/limits.md). */
  grouped: number;
  /**
   * Seconds the longest-waiting job at the head of its group has waited (now −
   * `enqueued_at`; 0 when empty): Sidekiq's latency (the oldest plain job, `LINDEX -1`),
   * extended to prioritized jobs by also looking at the first job of the highest
   * priority and the first job of the negative priorities (each group is FIFO, so its
   * first job is its oldest), and to grouped jobs by looking at the first job of the group
   * the round-robin serves next. A job behind another priority or group is not looked at.
   */
  latency: number;
  /** Jobs in progress on every node that holds work for the queue. */
  running: number;
  /**
   * How many jobs of it the live nodes run at a time, as each node publishes with its
   * heartbeat (`verk:node:<id>:concurrency`): the sum, how many nodes run it, and per node
   * id (the first MAX_NODES_LISTED by id, so the page stays bounded).
   */
  concurrency: { total: number; nodes: number; byNode: Record<string, number> };
  /** Paused on every node (pauseQueue). */
  paused: boolean;
  /** Jobs of this queue that finished / failed, ever and today (UTC). */
  processed: number;
  failed: number;
  today: { processed: number; failed: number };
}

export interface QueueOverviewOptions {
  /** Queues to skip (sorted by name). Default 0. */
  offset?: number;
  /** Queues per page, 1 to 1000. Default 100. */
  limit?: number;
}

export interface QueueOverviewPage {
  /** Queues known: the `queues` set, paused queues and every queue a node holds work for. */
  total: number;
  queues: QueueOverview[];
}

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;
/** Nodes listed by id in a queue's `concurrency.byNode`. */
export const MAX_NODES_LISTED = 50;

/**
 * The Queues page: every queue's sizes, latency, running jobs, counters and pause, for a
 * page of queues, in three round trips (names; the nodes' queues; one pipeline of every
 * read of the page's queues).
 */
export class VerkQueueOverview {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  async queues(options?: QueueOverviewOptions): Promise<QueueOverviewPage> {
    const input = checkOptions(options, 'options');
    const offset = checkInteger(input.offset, 'options.offset', 0, Number.MAX_SAFE_INTEGER, 0);
    const limit = checkInteger(input.limit, 'options.limit', 1, MAX_LIMIT, DEFAULT_LIMIT);
    const { redis, keys } = this;
    const [known, nodeIds, pausedNames] = checkExec(await redis.multi().smembers(keys.queues).smembers(keys.nodes).smembers(keys.pausedQueues).exec()) as string[][];
    const nodeQueues = new Map<string, string[]>();
    // Per queue: node id -> concurrency, from the hashes the nodes' heartbeats keep.
    const concurrency = new Map<string, Map<string, number>>();
    if (nodeIds.length > 0) {
      nodeIds.sort();
      const pipeline = redis.pipeline();
      for (const id of nodeIds) pipeline.smembers(keys.nodeQueues(id)).hgetall(keys.nodeConcurrency(id));
      const replies = checkExec(await pipeline.exec());
      nodeIds.forEach((id, i) => {
        nodeQueues.set(id, replies[2 * i] as string[]);
        for (const [queue, value] of Object.entries((replies[2 * i + 1] ?? {}) as Record<string, string>)) {
          const byNode = concurrency.get(queue) ?? new Map<string, number>();
          byNode.set(id, Number(value));
          concurrency.set(queue, byNode);
        }
      });
    }
    const names = [...new Set([...known, ...pausedNames, ...[...nodeQueues.values()].flat(), ...concurrency.keys()])].sort();
    const page = names.slice(offset, offset + limit);
    const paused = new Set(pausedNames);
    const day = statDay();
    const pipeline = redis.pipeline();
    const reads = page.map((name) => {
      pipeline
        .llen(keys.queue(name))
        .zcard(keys.prioritized(name))
        .lindex(keys.queue(name), -1)
        .zrange(keys.prioritized(name), 0, '0')
        .zrangebyscore(keys.prioritized(name), '(0', '+inf', 'LIMIT', 0, 1)
        .get(keys.queueStat('processed', name))
        .get(keys.queueStat('failed', name))
        .get(keys.queueStat('processed', name, day))
        .get(keys.queueStat('failed', name, day))
        .zcard(keys.grouped(name))
        .zrange(keys.groupRing(name), '0', '0');
      const holders = nodeIds.filter((id) => nodeQueues.get(id)?.includes(name));
      for (const id of holders) pipeline.llen(keys.inProgress(name, id));
      return holders.length;
    });
    const replies = page.length > 0 ? checkExec(await pipeline.exec()) : [];
    const now = Date.now() / 1000;
    let at = 0;
    const perQueue = page.map((_, i) => {
      const r = replies.slice(at, at + READS + reads[i]);
      at += READS + reads[i];
      return r;
    });
    const groupHeads = await this.groupHeads(page, perQueue.map((r) => (r[9] === 0 ? undefined : (r[10] as string[])[0])));
    const queues = page.map((name, i): QueueOverview => {
      const r = perQueue[i];
      const heads = [r[2] as string | null, ...(r[3] as string[]), ...(r[4] as string[]), groupHeads[i]];
      const plain = Number(r[0]);
      const prioritized = Number(r[1]);
      const grouped = Number(r[9]);
      return {
        name,
        waiting: plain + prioritized + grouped,
        plain,
        prioritized,
        grouped,
        latency: Math.max(0, ...heads.map((raw) => ageOf(raw, now))),
        running: r.slice(READS).reduce((sum: number, count) => sum + Number(count), 0),
        concurrency: concurrencyOf(concurrency.get(name)),
        paused: paused.has(name),
        processed: Number(r[5] ?? 0),
        failed: Number(r[6] ?? 0),
        today: { processed: Number(r[7] ?? 0), failed: Number(r[8] ?? 0) },
      };
    });
    return { total: names.length, queues };
  }

  /**
   * The payload of the first job of each queue's next group (`next[i]`, from the ring), in
   * one more round trip, taken only when a queue of the page has grouped jobs waiting.
   */
  private async groupHeads(page: string[], next: (string | undefined)[]): Promise<(string | null)[]> {
    if (next.every((group) => group === undefined)) return page.map(() => null);
    const pipeline = this.redis.pipeline();
    page.forEach((name, i) => {
      const group = next[i];
      if (group !== undefined) pipeline.zrangebylex(this.keys.grouped(name), `[${group}\0`, `[${group}\x01`, 'LIMIT', 0, 1);
    });
    const replies = checkExec(await pipeline.exec());
    let at = 0;
    // A grouped member is `<group>\0`, 19 digits (priority, sequence), then the payload as stored.
    return next.map((group) => (group === undefined ? null : ((replies[at++] as string[])[0]?.slice(group.length + 20) ?? null)));
  }
}

/** Replies per queue in the page's pipeline before its in-progress lengths. */
const READS = 11;

function concurrencyOf(byNode: Map<string, number> | undefined): QueueOverview['concurrency'] {
  if (!byNode) return { total: 0, nodes: 0, byNode: {} };
  let total = 0;
  for (const value of byNode.values()) total += value;
  return { total, nodes: byNode.size, byNode: Object.fromEntries([...byNode].slice(0, MAX_NODES_LISTED)) };
}

/** Seconds since a waiting job was enqueued (`enqueued_at`, else `created_at`); 0 when unknown. */
function ageOf(raw: string | null, now: number): number {
  if (raw === null) return 0;
  const job = readJob(raw).job;
  const since = typeof job?.enqueued_at === 'number' ? job.enqueued_at : typeof job?.created_at === 'number' ? job.created_at : undefined;
  return since === undefined ? 0 : Math.max(0, now - since);
}
