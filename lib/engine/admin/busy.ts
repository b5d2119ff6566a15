import type Redis from 'ioredis';
import type { ListedJob } from './admin';
import { checkInteger, checkOptions } from './admin-input';
import { readJob } from '../core/job';
import { VerkValidationError } from '../errors';
import type { Keys } from '../redis/keys';
import { checkExec } from '../redis/multi';

/** A node registered in `verk_nodes`, alive or not. */
export interface BusyNode {
  id: string;
  /** Its heartbeat key exists. A dead node keeps its jobs until a live node recovers them. */
  alive: boolean;
  /**
   * How long ago it last beat, ms: estimated as two heartbeat periods (the key's TTL when
   * set) minus the key's remaining TTL, with this engine's `heartbeat` option (nodes of one
   * deployment share it). Null when dead or when the key has no TTL (not our heartbeat).
   */
  heartbeatAgeMs: number | null;
  /** Queues it holds work for (`verk:node:<id>:queues`), sorted. */
  queues: string[];
  /** Jobs in progress per queue of `queues`. */
  running: Record<string, number>;
  /** Sum of `running`. */
  busy: number;
}

/** A job a node has taken and not finished. */
export type RunningJob = ListedJob & {
  nodeId: string;
  queue: string;
  /** When it was fetched (epoch ms), from its history's `started` event; null when unknown (no history kept). */
  startedAt: number | null;
};

export interface BusyOptions {
  /** A previous page's `nextCursor`. Default: the start. */
  cursor?: string | null;
  /** Nodes per page, about (Redis SSCAN may return a few more), 1 to 500. Default 50. */
  limit?: number;
  /** Running jobs listed per node and queue, 0 to 1000 (the counts are always exact). Default 100. */
  jobsPerQueue?: number;
}

/** A page of nodes and their running jobs. */
export interface BusyPage {
  /** Nodes in `verk_nodes`. */
  totalNodes: number;
  /** This page's nodes, sorted by id. */
  nodes: BusyNode[];
  /** Running jobs of this page's nodes, by node then queue, the latest fetched first. */
  jobs: RunningJob[];
  /** Pass as `cursor` for the next page; null after the last. */
  nextCursor: string | null;
}

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 500;
const DEFAULT_JOBS = 100;
/** History events read per running job to find when it started (the last few). */
const HISTORY_TAIL = 8;

/**
 * The Busy page: nodes and the jobs they run, a page at a time (SSCAN over `verk_nodes`
 * with a cursor, then pipelined reads of the page's nodes only), so a thousand nodes cost
 * what a page of them costs. Three round trips per page.
 */
export class VerkBusyReader {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    /** This engine's heartbeat period, ms (see BusyNode.heartbeatAgeMs). */
    private readonly heartbeat: number,
  ) {}

  async busy(options?: BusyOptions): Promise<BusyPage> {
    const input = checkOptions(options, 'options');
    const cursor = checkCursor(input.cursor);
    const limit = checkInteger(input.limit, 'options.limit', 1, MAX_LIMIT, DEFAULT_LIMIT);
    const perQueue = checkInteger(input.jobsPerQueue, 'options.jobsPerQueue', 0, 1000, DEFAULT_JOBS);
    const { redis, keys } = this;

    // 1: the page's node ids and the total.
    const [[next, ids], totalNodes] = checkExec(await redis.multi().sscan(keys.nodes, cursor, 'COUNT', limit).scard(keys.nodes).exec()) as [[string, string[]], number];
    const nodeIds = [...new Set(ids)].sort();

    // 2: each node's liveness and queues.
    const second = redis.pipeline();
    for (const id of nodeIds) second.pttl(keys.node(id)).smembers(keys.nodeQueues(id));
    const facts = nodeIds.length > 0 ? checkExec(await second.exec()) : [];

    // 3: each (node, queue): its count and its latest jobs.
    const third = redis.pipeline();
    const lists: { nodeId: string; queue: string }[] = [];
    const nodes: BusyNode[] = nodeIds.map((id, n) => {
      const ttl = Number(facts[2 * n]);
      const queues = (facts[2 * n + 1] as string[]).sort();
      for (const queue of queues) {
        lists.push({ nodeId: id, queue });
        third.llen(keys.inProgress(queue, id));
        // The list's producer end holds the latest fetched.
        if (perQueue > 0) third.lrange(keys.inProgress(queue, id), 0, perQueue - 1);
      }
      return { id, alive: ttl !== -2, heartbeatAgeMs: ttl >= 0 ? Math.max(0, 2 * this.heartbeat - ttl) : null, queues, running: {}, busy: 0 };
    });
    const counts = lists.length > 0 ? checkExec(await third.exec()) : [];
    const step = perQueue > 0 ? 2 : 1;
    const byId = new Map(nodes.map((node) => [node.id, node]));
    const jobs: RunningJob[] = [];
    lists.forEach(({ nodeId, queue }, i) => {
      const node = byId.get(nodeId) as BusyNode;
      const count = Number(counts[step * i]);
      node.running[queue] = count;
      node.busy += count;
      if (perQueue > 0) for (const raw of counts[step * i + 1] as string[]) jobs.push({ raw, ...readJob(raw), nodeId, queue, startedAt: null });
    });
    await this.addStartTimes(jobs);
    return { totalNodes, nodes, jobs, nextCursor: next === '0' ? null : next };
  }

  /** Fills `startedAt` from each job's history (the last `started` event), one pipelined round trip. */
  private async addStartTimes(jobs: RunningJob[]): Promise<void> {
    const withJid = jobs.filter((job) => job.job !== null);
    if (withJid.length === 0) return;
    const pipeline = this.redis.pipeline();
    for (const job of withJid) pipeline.lrange(this.keys.history(job.job?.jid ?? ''), -HISTORY_TAIL, -1);
    const tails = checkExec(await pipeline.exec());
    withJid.forEach((job, i) => {
      const events = (tails[i] as string[]) ?? [];
      for (let e = events.length - 1; e >= 0; e--) {
        try {
          const event = JSON.parse(events[e]) as { event?: unknown; at?: unknown };
          if (event.event === 'started' && typeof event.at === 'number') {
            job.startedAt = event.at;
            return;
          }
        } catch {
          // Not an event: look at the one before.
        }
      }
    });
  }
}

function checkCursor(value: unknown): string {
  if (value === undefined || value === null) return '0';
  if (typeof value !== 'string' || !/^[0-9]{1,20}$/.test(value)) {
    throw new VerkValidationError('options.cursor', `must be a cursor returned as nextCursor (digits), got ${JSON.stringify(value)}`);
  }
  return value;
}
