import type Redis from 'ioredis';
import type { ChainableCommander } from 'ioredis';
import type { Keys } from '../redis/keys';
import { withTimeout } from '../core/timing';

/** Most queue names, node ids and recurring names one scrape reads: bounds its cost and the series it adds. */
export const MAX_NAMES_PER_SCRAPE = 1000;

/** How long a scrape waits for Redis before answering with the node's own numbers and the last cluster ones, marked stale. */
export const READ_TIMEOUT_MS = 1000;

export interface QueueSnapshot {
  name: string;
  /** Waiting: the list plus the prioritized set. */
  size: number;
  /** Seconds the next job to run has waited (0 for an empty queue). */
  latency: number;
  paused: boolean;
}

/** The cluster-wide numbers, read from Redis at scrape time. */
export interface ClusterSnapshot {
  queues: QueueSnapshot[];
  scheduled: number;
  retry: number;
  dead: number;
  blocked: number;
  nodesAlive: number;
  /** Recurring job name -> its next run (epoch seconds), soonest first. */
  recurring: { name: string; next: number }[];
  /** More queues than MAX_NAMES_PER_SCRAPE exist: only some were read. */
  truncated: boolean;
}

export interface ClusterRead {
  /** The last snapshot read (undefined before the first one succeeded). */
  snapshot?: ClusterSnapshot;
  /** True when this scrape could not read Redis in time: `snapshot` is an older one. */
  stale: boolean;
}

interface QueueReads {
  size: number;
  prioritized: number;
  oldest: number;
  next: number;
  paused: number;
}

/** Replies of one MULTI, read by index; a command that failed (e.g. WRONGTYPE on one key) reads as empty, not as a failed scrape. */
class Replies {
  constructor(private readonly replies: [Error | null, unknown][]) {}

  value(index: number): unknown {
    const reply = this.replies[index];
    return reply && reply[0] === null ? reply[1] : undefined;
  }

  number(index: number): number {
    const value = Number(this.value(index) ?? 0);
    return Number.isFinite(value) ? value : 0;
  }

  strings(index: number): string[] {
    const value = this.value(index);
    return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
  }
}

/** When a stored job was enqueued (epoch s): Sidekiq's latency reads `enqueued_at`, else `created_at`. */
function enqueuedAt(payload: unknown): number | undefined {
  if (typeof payload !== 'string') return undefined;
  try {
    // Read only, never written back.
    const job = JSON.parse(payload) as { enqueued_at?: unknown; created_at?: unknown };
    const at = typeof job.enqueued_at === 'number' ? job.enqueued_at : job.created_at;
    return typeof at === 'number' && Number.isFinite(at) ? at : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Reads the cluster-wide gauges with one MULTI (one round trip), shared by every scrape
 * within `maxAgeMs` (the engine's pollInterval) and by scrapes that arrive while a read is
 * in flight, so ten scrapers cost one read. The names of queues and nodes are read in the
 * same MULTI as the numbers of the names the previous read found (and this node's own
 * queues); only when a name appeared since does a second round trip read the new ones.
 */
export class ClusterMetricsReader {
  private last?: ClusterSnapshot;
  private lastAt = Number.NEGATIVE_INFINITY;
  private inFlight?: Promise<ClusterSnapshot | undefined>;
  private knownQueues: string[] = [];
  private knownNodes: string[] = [];
  /** Redis commands sent by reads (for tests and the docs' cost claim). */
  reads = 0;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly maxAgeMs: number,
    /** This node's queues: read even before anything was enqueued in them. */
    private readonly ownQueues: () => string[],
    private readonly onError: (error: Error) => void,
  ) {}

  /** The snapshot for a scrape: cached, shared, or read now within READ_TIMEOUT_MS. */
  async read(): Promise<ClusterRead> {
    if (this.last && Date.now() - this.lastAt < this.maxAgeMs) return { snapshot: this.last, stale: false };
    // One read at a time: during an outage scrapes wait on the same stuck read, they never pile up.
    this.inFlight ??= this.readNow()
      .then(
        (snapshot) => {
          this.last = snapshot;
          this.lastAt = Date.now();
          return snapshot;
        },
        (error: unknown) => {
          this.onError(error as Error);
          return undefined;
        },
      )
      .finally(() => (this.inFlight = undefined));
    const snapshot = await withTimeout(this.inFlight, READ_TIMEOUT_MS, undefined);
    return snapshot ? { snapshot, stale: false } : { snapshot: this.last, stale: true };
  }

  private async readNow(): Promise<ClusterSnapshot> {
    const { keys } = this;
    const queues = [...new Set([...this.knownQueues, ...this.ownQueues()])];
    const nodes = this.knownNodes;
    const multi = this.redis.multi();
    let count = 0;
    const add = (command: (m: ChainableCommander) => unknown): number => {
      command(multi);
      return count++;
    };
    // Positive count: distinct members, all of them when the set is no larger (bounded either way).
    const names = add((m) => m.srandmember(keys.queues, MAX_NAMES_PER_SCRAPE));
    const queueCount = add((m) => m.scard(keys.queues));
    const nodeIds = add((m) => m.srandmember(keys.nodes, MAX_NAMES_PER_SCRAPE));
    const scheduled = add((m) => m.zcard(keys.schedule));
    const retry = add((m) => m.zcard(keys.retry));
    const dead = add((m) => m.zcard(keys.dead));
    const blocked = add((m) => m.hlen(keys.flowBlocked));
    const recurring = add((m) => m.zrange(keys.recurringDue, 0, String(MAX_NAMES_PER_SCRAPE - 1), 'WITHSCORES'));
    const alive = nodes.length > 0 ? add((m) => m.exists(...nodes.map((id) => keys.node(id)))) : -1;
    const reads = new Map(queues.map((queue) => [queue, this.addQueue(add, queue)]));
    this.reads++;
    const replies = new Replies((await multi.exec()) ?? []);

    const nameSet = new Set(replies.strings(names));
    for (const queue of this.ownQueues()) nameSet.add(queue);
    const nodeList = replies.strings(nodeIds);
    let nodesAlive = alive >= 0 ? replies.number(alive) : 0;
    const result = new Map<string, QueueSnapshot>();
    for (const [queue, read] of reads) if (nameSet.has(queue)) result.set(queue, snapshotOf(replies, queue, read));

    // Names that appeared since the last read (or the first read): one more round trip.
    const newQueues = [...nameSet].filter((queue) => !reads.has(queue)).slice(0, MAX_NAMES_PER_SCRAPE);
    const known = new Set(nodes);
    const nodesSame = nodeList.length === nodes.length && nodeList.every((id) => known.has(id));
    if (newQueues.length > 0 || !nodesSame) {
      const extra = this.redis.multi();
      let extraCount = 0;
      const addExtra = (command: (m: ChainableCommander) => unknown): number => {
        command(extra);
        return extraCount++;
      };
      const extraAlive = !nodesSame && nodeList.length > 0 ? addExtra((m) => m.exists(...nodeList.map((id) => keys.node(id)))) : -1;
      const extraReads = new Map(newQueues.map((queue) => [queue, this.addQueue(addExtra, queue)]));
      this.reads++;
      const extraReplies = new Replies((await extra.exec()) ?? []);
      if (!nodesSame) nodesAlive = extraAlive >= 0 ? extraReplies.number(extraAlive) : 0;
      for (const [queue, read] of extraReads) result.set(queue, snapshotOf(extraReplies, queue, read));
    }
    this.knownQueues = [...nameSet].slice(0, MAX_NAMES_PER_SCRAPE);
    this.knownNodes = nodeList;

    const pairs = replies.strings(recurring);
    const due: ClusterSnapshot['recurring'] = [];
    for (let i = 0; i + 1 < pairs.length; i += 2) due.push({ name: pairs[i], next: Number(pairs[i + 1]) / 1000 });
    return {
      queues: [...result.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
      scheduled: replies.number(scheduled),
      retry: replies.number(retry),
      dead: replies.number(dead),
      blocked: replies.number(blocked),
      nodesAlive,
      recurring: due,
      truncated: replies.number(queueCount) > MAX_NAMES_PER_SCRAPE,
    };
  }

  private addQueue(add: (command: (m: ChainableCommander) => unknown) => number, queue: string): QueueReads {
    const { keys } = this;
    return {
      size: add((m) => m.llen(keys.queue(queue))),
      prioritized: add((m) => m.zcard(keys.prioritized(queue))),
      // Sidekiq's latency: the job at the right end of the list is the next to run and the oldest.
      oldest: add((m) => m.lindex(keys.queue(queue), -1)),
      // The prioritized job that runs next (lowest score).
      next: add((m) => m.zrange(keys.prioritized(queue), 0, '0')),
      paused: add((m) => m.sismember(keys.pausedQueues, queue)),
    };
  }
}

function snapshotOf(replies: Replies, name: string, read: QueueReads): QueueSnapshot {
  const now = Date.now() / 1000;
  const ages = [enqueuedAt(replies.value(read.oldest)), enqueuedAt(replies.strings(read.next)[0])].filter((at): at is number => at !== undefined).map((at) => Math.max(0, now - at));
  return {
    name,
    size: replies.number(read.size) + replies.number(read.prioritized),
    latency: ages.length > 0 ? Math.max(...ages) : 0,
    paused: replies.number(read.paused) === 1,
  };
}
