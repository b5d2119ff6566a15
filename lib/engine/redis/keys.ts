/**
 * Every Redis key name the engine uses, built in one place.
 *
 * The default layout is Sidekiq's and Verk's, so their clients and ours share queues.
 * A prefix (e.g. `myapp:`) namespaces everything; a Redis Cluster layout with hash tags
 * would be added here alone, since Lua scripts receive every key through KEYS.
 */
export class Keys {
  constructor(
    private readonly prefix = '',
    /**
     * Channels (`verk:control`, `verk:wake`, `verk:track`) are sharded pub/sub channels
     * (SPUBLISH/SSUBSCRIBE, Redis 7): in cluster mode, where a plain PUBLISH would be
     * forwarded to every node; they are in the instance's slot like every key.
     */
    readonly shardedPubSub = false,
  ) {}

  /** Set of known queue names (Sidekiq `queues`). */
  get queues(): string {
    return `${this.prefix}queues`;
  }

  /** Waiting jobs of a queue: producers LPUSH, consumers take from the right. */
  queue(name: string): string {
    return `${this.prefix}queue:${name}`;
  }

  /** Jobs a node has taken from a queue and not yet finished. */
  inProgress(queue: string, nodeId: string): string {
    return `${this.prefix}inprogress:${queue}:${nodeId}`;
  }

  get schedule(): string {
    return `${this.prefix}schedule`;
  }

  get retry(): string {
    return `${this.prefix}retry`;
  }

  get dead(): string {
    return `${this.prefix}dead`;
  }

  /**
   * `stat:processed` / `stat:failed`, and with a day `stat:processed:2026-11-23`. Daily
   * counters (these and the per-queue ones) expire after five years, as Sidekiq's do: the
   * scripts that count set the TTL (lua/includes/stats/incrDaily.lua).
   */
  stat(kind: 'processed' | 'failed', day?: string): string {
    return day ? `${this.prefix}stat:${kind}:${day}` : `${this.prefix}stat:${kind}`;
  }

  /**
   * Per-queue counters (ours, not Sidekiq's): the total `verk:stat:processed:queue:<q>`,
   * and per day `verk:stat:processed:daily:<YYYY-MM-DD>:<q>`. The day comes before the
   * queue name and has a fixed length, so no queue name makes one key mean two counters
   * (with the day last, queue `x:2026-11-29`'s total was queue `x`'s counter of that day).
   */
  queueStat(kind: 'processed' | 'failed', queue: string, day?: string): string {
    return day ? `${this.prefix}verk:stat:${kind}:daily:${day}:${queue}` : `${this.prefix}verk:stat:${kind}:queue:${queue}`;
  }

  /**
   * Run-time or wait-time histogram of a queue for one UTC day (ours, qless's
   * `stats(queue, date)`): a hash of bucket counts and sums (lib/engine/core/histogram.ts),
   * kept `histogramRetention` days after the day. The kind and the fixed-length day come
   * before the queue name, so no queue name (`x:2026-11-29`, `run:x`) makes one key mean two.
   */
  histogram(kind: 'run' | 'wait', queue: string, day: string): string {
    return `${this.prefix}verk:hist:${kind}:${day}:${queue}`;
  }

  /**
   * Job class metrics of one UTC minute (ours, Sidekiq 7's `j|<date>|<hh>:<mm>`): a hash of
   * `<class>|<field>` sums from every node (lib/engine/class-metrics), kept 8 h after the
   * minute. `minute` is YYYYMMDDHHMM.
   */
  classMetrics(minute: string): string {
    return `${this.prefix}verk:metrics:${minute}`;
  }

  /** Set of paused queue names; every node obeys it, and it survives restarts. */
  get pausedQueues(): string {
    return `${this.prefix}verk:paused_queues`;
  }

  /** Pub/sub channel on which pause/resume are announced to every node. */
  get control(): string {
    return `${this.prefix}verk:control`;
  }

  /**
   * Flow control (dependencies, unique jobs, batches). Fixed keys, so scripts get them
   * through KEYS like every other key.
   *
   * `verk:flow:pending` hash: jid -> state (`blocked`, `queued`, `retry`, `dead`) of every
   * dependable job that has not finished successfully.
   */
  get flowPending(): string {
    return `${this.prefix}verk:flow:pending`;
  }

  /** Sorted set: jid -> when a dependable job finished (epoch seconds), kept for `flowRetention`. */
  get flowDone(): string {
    return `${this.prefix}verk:flow:done`;
  }

  /** Hash: jid -> JSON array of the jids of jobs waiting for it. */
  get flowDependents(): string {
    return `${this.prefix}verk:flow:dependents`;
  }

  /** Hash: jid -> payload of a job waiting for its dependencies (it is in no queue yet). */
  get flowBlocked(): string {
    return `${this.prefix}verk:flow:blocked`;
  }

  /** Hash: jid -> JSON array of the dependencies a blocked job still waits for. */
  get flowWaitingOn(): string {
    return `${this.prefix}verk:flow:waiting_on`;
  }

  /**
   * List of payloads of jobs that left without finishing (deleted, cleared, or sent to dead
   * because a dependency was lost) and whose batch has yet to count them or whose unique
   * lock has yet to be freed; every node's scheduler drains it (settleLostJobs).
   */
  get flowLost(): string {
    return `${this.prefix}verk:flow:lost`;
  }

  /**
   * The keys a script needs to trim `dead` or lose a dependable job (lua/includes/flow/trimDead),
   * in the order the scripts take them: verk:flow:pending, dependents, blocked, waiting_on, lost.
   */
  get flowLossKeys(): string[] {
    return [this.flowPending, this.flowDependents, this.flowBlocked, this.flowWaitingOn, this.flowLost];
  }

  /** Lock of a unique job: holds the jid of the job that owns it, with the lock's TTL. */
  unique(key: string): string {
    return `${this.prefix}verk:unique:${key}`;
  }

  /** SCAN pattern matching every batch hash (the prefix escaped for the glob). */
  get batchPattern(): string {
    return `${this.prefix.replace(/[*?[\]\\]/g, (char) => `\\${char}`)}verk:batch:*`;
  }

  /** Hash of a batch: counters, callback and times. */
  batch(bid: string): string {
    return `${this.prefix}verk:batch:${bid}`;
  }

  /**
   * Waiting jobs of a queue that have a nonzero priority (ours; Sidekiq clients do not see
   * it): score = -priority * 2^42 + sequence, so the lowest score runs first.
   */
  prioritized(queue: string): string {
    return `${this.prefix}verk:queue:${queue}:prioritized`;
  }

  /** Counter giving prioritized jobs of a queue their FIFO order within a priority. */
  prioritySeq(queue: string): string {
    return `${this.prefix}verk:queue:${queue}:priority_seq`;
  }

  /**
   * Pub/sub channel on which the name of a queue is published when a prioritized job
   * arrives while it had none, so nodes blocked on the empty list fetch again.
   */
  get wake(): string {
    return `${this.prefix}verk:wake`;
  }

  /** Hash: recurring job name -> its definition (JSON). */
  get recurring(): string {
    return `${this.prefix}verk:recurring`;
  }

  /** Sorted set: recurring job name -> its next tick (epoch ms); absent once its schedule has ended. */
  get recurringDue(): string {
    return `${this.prefix}verk:recurring:due`;
  }

  /**
   * Limits of a queue (docs/limits.md), hash: the configuration every node obeys
   * (`rate_max`, `rate_duration`, `global`, `group_concurrency`, `group_rate_max`,
   * `group_rate_duration`), the marker `grouped` (grouped jobs were enqueued), and the
   * state the limited fetch keeps (`running`, `paused_until`, `waiting`, `seq`, `v`, `u`).
   * A queue whose hash does not exist is fetched by the plain scripts.
   */
  limits(queue: string): string {
    return `${this.prefix}verk:limits:${queue}`;
  }

  /** Sorted set: the starts of a rate-limited queue within the last window (score: epoch ms). */
  limitStarts(queue: string): string {
    return `${this.prefix}verk:limits:${queue}:starts`;
  }

  /**
   * Hash: the jobs a node runs under a queue's limits (the payload as fetched -> its group,
   * '' for none): what its acknowledgements release, and what recovering the node gives back.
   */
  heldSlots(queue: string, nodeId: string): string {
    return `${this.prefix}verk:limits:${queue}:held:${nodeId}`;
  }

  /**
   * Waiting grouped jobs of a queue, taken out of its list by the limited fetch: a sorted
   * set of score 0 ordered by member, `<group>\0<priority><sequence><payload>`, so each
   * group's jobs are contiguous and ordered by priority, then FIFO.
   */
  grouped(queue: string): string {
    return `${this.prefix}verk:queue:${queue}:grouped`;
  }

  /** Sorted set: group -> its round-robin tag; the groups of a queue with waiting jobs. */
  groupRing(queue: string): string {
    return `${this.prefix}verk:limits:${queue}:ring`;
  }

  /** Hash of per-group state: `r:<g>` running, `s:<g>` recent starts, `p:<g>` paused until. */
  groupState(queue: string): string {
    return `${this.prefix}verk:limits:${queue}:groups`;
  }

  /** Sorted set: group -> when its `s:`/`p:` fields in groupState stop mattering (epoch ms), for cleanup. */
  groupTouched(queue: string): string {
    return `${this.prefix}verk:limits:${queue}:touched`;
  }

  /** Job history (ours): list of a job's events as JSON, oldest first; see recorder.ts. */
  history(jid: string): string {
    return `${this.prefix}verk:history:${jid}`;
  }

  /** Sorted set: jid -> time of its last recorded event (epoch ms); the index retention trims. */
  get historyIndex(): string {
    return `${this.prefix}verk:history`;
  }

  /** Sorted set of tracked jobs: jid -> when its tracking expires (epoch ms). */
  get tracked(): string {
    return `${this.prefix}verk:tracked`;
  }

  /** Pub/sub channel on which every event of a tracked job is published (JSON). */
  get trackChannel(): string {
    return `${this.prefix}verk:track`;
  }

  /** Tag index: sorted set jid -> when it was tagged (epoch ms). */
  tag(tag: string): string {
    return `${this.prefix}verk:tag:${tag}`;
  }

  /** Set of tag names in use, so retention can trim every tag index. */
  get tags(): string {
    return `${this.prefix}verk:tags`;
  }

  /** Set of node ids that may hold in-progress work (Verk 1.6). */
  get nodes(): string {
    return `${this.prefix}verk_nodes`;
  }

  /** Liveness key of a node, refreshed with a TTL of twice the heartbeat. */
  node(nodeId: string): string {
    return `${this.prefix}verk:node:${nodeId}`;
  }

  /** Queues a node holds in-progress work for. */
  nodeQueues(nodeId: string): string {
    return `${this.prefix}verk:node:${nodeId}:queues`;
  }

  /**
   * Hash: queue -> how many jobs of it the node runs at a time (ours), rewritten with each
   * heartbeat and expiring with the node's liveness key (the dashboard's Queues page).
   */
  nodeConcurrency(nodeId: string): string {
    return `${this.prefix}verk:node:${nodeId}:concurrency`;
  }
}

/** The UTC day used by Sidekiq's daily counters: YYYY-MM-DD. */
export function statDay(date: Date = new Date()): string {
  return date.toISOString().slice(0, 10);
}
