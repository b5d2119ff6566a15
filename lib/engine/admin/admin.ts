import type Redis from 'ioredis';
import type { ChainableCommander } from 'ioredis';
import { type CheckedSource, checkInteger, checkJid, checkOptions, checkOrder, checkQueueName, checkSet, checkSource, type JobSet, type JobSource } from './admin-input';
import { InvalidJobError, VerkValidationError } from '../errors';
import { type JobPayload, nowSeconds, readJob } from '../core/job';
import type { Keys } from '../redis/keys';
import { VerkScripts } from '../redis/verk-scripts';
import { checkExec } from '../redis/multi';
import { settleLostJobs } from '../flow/flow-lost';
import { spliceFields } from '../core/payload-text';
import { checkPriority, priorityOf } from '../core/priority';
import type { JobRecorder } from '../history/recorder';
import { type QueueDetails, type QueueStatsOptions, type StatsOptions, type VerkStats, VerkStatsReader } from './stats';
import type { QueueHistograms } from './histograms';
import { type ClassMetricsQuery, type ClassMetricsReport, readClassMetrics } from '../class-metrics/class-metrics-reader';
import { readRunningJobs, type RunningPage } from './running-jobs';
import { VerkJobLocator } from './job-locator';

/**
 * One stored member as read by the management API. `job` is null when the text is not a
 * job (not JSON, not an object, no class, args or jid); `error` then says why, and `raw`
 * keeps the text as stored.
 */
export type ListedJob =
  | { raw: string; job: JobPayload; error?: undefined; at?: number }
  | { raw: string; job: null; error: string; at?: number };

/** A page of jobs and the total size of what was listed. */
export interface JobPage {
  total: number;
  offset: number;
  limit: number;
  /**
   * Sorted sets: by score (the time, `at`, in epoch seconds), earliest first. A queue: in
   * processing order, the job consumers take next first (prioritized jobs with priority
   * > 0, the plain list, then priority < 0).
   */
  jobs: ListedJob[];
}

export interface ListOptions {
  /** Jobs to skip. Default 0. */
  offset?: number;
  /** Jobs per page, 1 to 1000. Default 25. */
  limit?: number;
  /**
   * Sorted sets: 'asc' (default) lists the lowest score (the earliest time) first, 'desc'
   * the latest first (Sidekiq's Dead page). A queue lists in run order only ('asc').
   */
  order?: 'asc' | 'desc';
}

/** How VerkAdmin removes jobs for good (deleteJob, clear); the engine passes its options. */
export interface AdminRemovalOptions {
  maxDeadJobs: number;
  /** How long a completed batch is remembered, seconds. */
  flowRetentionSeconds: number;
  /** Called when a batch callback was put in `schedule` to run now. */
  onScheduledNow?: () => void;
}

/** Where a job is now, with its payload exactly as stored (`raw`) and parsed (`job`). */
export type FoundJob =
  /**
   * A waiting job. `grouped`: a grouped job the limited fetch took into the queue's grouped
   * set waits there as this member (`<group>\0<priority><sequence>` then `raw`).
   */
  | { where: 'queue'; queue: string; job: JobPayload; raw: string; grouped?: string }
  | { where: 'inprogress'; queue: string; nodeId: string; job: JobPayload; raw: string }
  | { where: JobSet; at: number; job: JobPayload; raw: string };

export type { JobSet, JobSource } from './admin-input';

const DEFAULT_LIMIT = 25;
const MAX_LIMIT = 1000;
/** Times a move or delete looks again when the member changed under it. */
const ATTEMPTS = 3;
/** Jobs clear() removes per script call (a short script: Redis serves others in between). */
const CLEAR_CHUNK = 1000;

/**
 * Sidekiq-web-like management: stats, listing, finding, moving and deleting jobs.
 * Every move is atomic and guarded by the removal of the exact stored member, so a job
 * that the scheduler or a worker moves at the same instant is moved once.
 */
export class VerkAdmin {
  private readonly statsReader: VerkStatsReader;
  private readonly scripts: VerkScripts;
  private readonly locator: VerkJobLocator;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    /** Job history and tracking: records what retryNow moves. */
    private readonly recorder?: JobRecorder,
    /** What deleting and clearing need: trimming dead, and settling the batches of removed jobs. */
    private readonly removal: AdminRemovalOptions = { maxDeadJobs: 100, flowRetentionSeconds: 7 * 24 * 3600 },
  ) {
    this.statsReader = new VerkStatsReader(redis, keys);
    this.scripts = new VerkScripts(redis, keys);
    this.locator = new VerkJobLocator(redis, keys);
  }

  /** Counters, sizes and live nodes. */
  stats(options?: StatsOptions): Promise<VerkStats> {
    return this.statsReader.stats(options);
  }

  /** The numbers of one queue, with its run/wait histograms of one UTC day (default today). */
  queueStats(name: string, options?: QueueStatsOptions): Promise<QueueDetails> {
    return this.statsReader.queueStats(name, options);
  }

  /** The run/wait histograms of several queues for one UTC day (default today), in one round trip, without their sizes. */
  queueHistograms(names: readonly string[], options: { date?: Date | string } = {}): Promise<{ name: string; histograms: QueueHistograms }[]> {
    return this.statsReader.histograms(names, options.date);
  }

  /**
   * Per job class over the last `minutes` minutes (default 60, at most 480), from every
   * node's per-minute sums (option `histograms`): executions, failures, run and wait time
   * (mean, estimated p50/p95/p99), a per-minute series, and with `className` that class's
   * run and wait buckets. One round trip of at most 480 HGETALLs.
   */
  classMetrics(options?: ClassMetricsQuery): Promise<ClassMetricsReport> {
    return readClassMetrics(this.redis, this.keys, options);
  }

  /** A page of the jobs in progress on every registered node, by node id then queue (the dashboard's Busy page). */
  runningJobs(options?: ListOptions): Promise<RunningPage> {
    return readRunningJobs(this.redis, this.keys, options);
  }

  /** A page of `retry`, `schedule`, `dead` (by score) or a queue (in processing order). */
  async listJobs(where: JobSource, options?: ListOptions): Promise<JobPage> {
    const source = checkSource(where, 'where');
    const input = checkOptions(options, 'options');
    const offset = checkInteger(input.offset, 'options.offset', 0, Number.MAX_SAFE_INTEGER, 0);
    const limit = checkInteger(input.limit, 'options.limit', 1, MAX_LIMIT, DEFAULT_LIMIT);
    const order = checkOrder(input.order, source);
    if (source.set) {
      const key = this.keyOf(source);
      // ZRANGE's stop as a string: ioredis 6.0.0 types it string-only (fixed upstream, unreleased).
      const stop = String(offset + limit - 1);
      const [total, page] = await this.transaction<[number, string[]]>((multi) => (order === 'desc' ? multi.zcard(key).zrevrange(key, offset, stop, 'WITHSCORES') : multi.zcard(key).zrange(key, offset, stop, 'WITHSCORES')));
      const jobs: ListedJob[] = [];
      for (let i = 0; i + 1 < page.length; i += 2) jobs.push({ raw: page[i], ...readJob(page[i]), at: Number(page[i + 1]) });
      return { total, offset, limit, jobs };
    }
    // The list and the queue's prioritized jobs, merged in processing order, in one script.
    const [total, ...page] = await this.scripts.listQueue({ queue: source.queue, offset, limit });
    const jobs: ListedJob[] = page.map((raw) => ({ raw, ...readJob(raw) }));
    return { total, offset, limit, jobs };
  }

  /**
   * Where a job is now: its history's last word first (when its queue keeps one), then a
   * search of `schedule`, `retry`, `dead`, the queues and the nodes' in-progress lists,
   * server-side in steps of a fixed number of members (VerkJobLocator), to the end. A job
   * that moves during the search may be missed. Null when not found. On a large
   * deployment this reads every stored job in the worst case: pages use
   * `engine.browse.locate`, one bounded step at a time.
   */
  findJob(jid: string): Promise<FoundJob | null> {
    return this.locator.findAnywhere(jid);
  }

  /**
   * Enqueues a job of `retry`, `dead` or `schedule` now, as the scheduler does when it is
   * due: to the end of its queue, with `enqueued_at` set, every other field unchanged.
   * Returns false when the job is not (or no longer) in that set.
   */
  async retryNow(jid: string, from: JobSet): Promise<boolean> {
    checkJid(jid);
    const set = checkSet(from, 'from');
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const found = await this.locator.findIn(jid, { set });
      if (!found) return false;
      const queue = found.job.queue;
      if (typeof queue !== 'string' || queue.length === 0) throw new InvalidJobError(`Job ${jid} in ${set} names no queue; it cannot be enqueued`);
      // Spliced into the stored text, never re-encoded (it may be another system's job).
      const payload = spliceFields(found.raw, { enqueued_at: nowSeconds() });
      if ((await this.scripts.retryNow({ from: set, queue, raw: found.raw, payload })) === 1) {
        const recorder = this.recorder;
        if (recorder?.wants(queue)) recorder.record([{ jid, event: set === 'schedule' ? 'enqueued' : 'retried', at: Date.now(), node: recorder.nodeId, queue, from: set }]);
        return true;
      }
      // Moved or changed under us: look again, it may be back with a new payload.
    }
    return false;
  }

  /** The job with this jid in one set or queue, or null: a server-side search of it to the end. */
  findIn(jid: string, where: JobSource): Promise<FoundJob | null> {
    checkJid(jid);
    const source = checkSource(where, 'from');
    return this.locator.findIn(jid, source.set ? { set: source.set } : { queue: source.queue });
  }

  /**
   * Removes a job from a set or from the waiting jobs of a queue; false when it was not
   * there. Internal: the public delete is the flow admin's cancel (VerkService.deleteJob /
   * cancel, engine.flow.cancel), which first applies the flow rules (a job others depend on
   * is refused unless cascading, a job a batch still waits for is refused). With
   * `dependents: 'lose'` a dependable job takes the jobs waiting for it to dead
   * (DependencyLostError), as clear() does; `'keep'` leaves them (cascade removes them).
   * `known`: the member as the caller just found it (tried first, without a search).
   */
  async removeJob(jid: string, from: JobSource, dependents: 'lose' | 'keep', known?: { raw: string; grouped?: string }): Promise<boolean> {
    checkJid(jid);
    const source = checkSource(from, 'from');
    const key = this.keyOf(source);
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      // The member the caller just found is tried first (removal is by the exact member, so a
      // stale one removes nothing); else, or when it changed, the set or queue is searched.
      const found: { raw: string; grouped?: string } | null = attempt === 0 && known ? known : await this.locator.findIn(jid, source.set ? { set: source.set } : { queue: source.queue });
      if (!found) return false;
      if (source.set) {
        if ((await this.remove(key, 'zset', source, { members: [found.raw] }, dependents)) === 1) return true;
      } else if (found.grouped !== undefined) {
        // Waiting in its group: removed by its member there (its group leaves the ring with its last job).
        if ((await this.remove(this.keys.grouped(source.queue), 'grouped', source, { members: [found.grouped] }, dependents)) === 1) return true;
      } else {
        // A waiting job is in its queue's list or, with a priority, in its prioritized set.
        const prioritized = this.keys.prioritized(source.queue);
        const inSet = (await this.redis.zscore(prioritized, found.raw)) !== null;
        if ((await this.remove(inSet ? prioritized : key, inSet ? 'zset' : 'list', source, { members: [found.raw] }, dependents)) === 1) return true;
      }
    }
    return false;
  }

  /**
   * Removes these members of a set for good, as clear() removes jobs (a dependable job
   * takes the jobs waiting for it to dead; a job of a batch counts as dead in it). Members
   * no longer there are skipped. Returns how many were removed.
   */
  async removeMembers(set: JobSet, members: readonly string[]): Promise<number> {
    const source: CheckedSource = { set: checkSet(set, 'from') };
    return members.length === 0 ? 0 : this.remove(this.keyOf(source), 'zset', source, { members: [...members] }, 'lose');
  }

  /**
   * Removes every job of a set or of a queue's waiting jobs (its list and its prioritized
   * jobs), in chunks from the oldest, as many as there were when it began (jobs arriving
   * meanwhile stay, and so do the dependents it sends to dead). Dependable jobs and jobs of
   * batches are handled as deleteJob does. Returns how many were removed.
   */
  async clear(where: JobSource): Promise<number> {
    const source = checkSource(where, 'where');
    const key = this.keyOf(source);
    if (source.set) return this.clearKey(key, 'zset', source, await this.redis.zcard(key));
    const prioritized = this.keys.prioritized(source.queue);
    // Grouped jobs the limited fetch took into the queue's grouped set are waiting jobs too.
    const grouped = this.keys.grouped(source.queue);
    const [plain, ranked, inGroups] = await this.transaction<[number, number, number]>((multi) => multi.llen(key).zcard(prioritized).zcard(grouped));
    return (
      (await this.clearKey(key, 'list', source, plain)) +
      (await this.clearKey(prioritized, 'zset', source, ranked)) +
      (await this.clearKey(grouped, 'grouped', source, inGroups))
    );
  }

  private async clearKey(key: string, kind: 'list' | 'zset' | 'grouped', source: CheckedSource, total: number): Promise<number> {
    let removed = 0;
    while (removed < total) {
      const count = await this.remove(key, kind, source, { oldest: Math.min(CLEAR_CHUNK, total - removed) }, 'lose');
      if (count === 0) break;
      removed += count;
    }
    return removed;
  }

  /** Runs removeJobs, then settles the batches and locks of what it removed (settleLostJobs). */
  private async remove(key: string, kind: 'list' | 'zset' | 'grouped', source: CheckedSource, what: { members: string[] } | { oldest: number }, dependents: 'lose' | 'keep'): Promise<number> {
    const { keys, removal } = this;
    // Completes the dependents' error message: "dependency <jid> was deleted from dead".
    const where = `${'members' in what ? 'deleted' : 'cleared'} from ${source.set ?? `queue ${source.queue}`}`;
    const ring = kind === 'grouped' && !source.set ? keys.groupRing(source.queue) : undefined;
    const removed = await this.scripts.removeJobs({ from: key, kind, ring, what, removedFrom: where, dependents, maxDeadJobs: removal.maxDeadJobs, now: nowSeconds() });
    if (removed > 0 && (await settleLostJobs(this.redis, keys, removal.flowRetentionSeconds)) > 0) removal.onScheduledNow?.();
    return removed;
  }

  /**
   * Changes the priority of a job waiting in a queue (integer from -1000 to 1000, 0 = a
   * plain job): it moves to the end of its new priority, as if enqueued now with it
   * (priority 0: to the end of the plain list). A job already at that priority stays
   * where it is. Looks in `queue` only when given, else in every queue (a scan, like
   * findJob). With `options.locate`, the job it finds (the dashboard: where its page saw
   * it). Returns false when no waiting job has that jid (a running job cannot be
   * reprioritised).
   */
  async setPriority(jid: string, priority: number, queue?: string, options: { locate?: (jid: string) => Promise<FoundJob | null> } = {}): Promise<boolean> {
    checkJid(jid);
    if (priority === undefined) throw new VerkValidationError('priority', 'must be an integer from -1000 to 1000, got undefined');
    const value = checkPriority(priority, 'priority');
    const { keys } = this;
    // With `locate` (the dashboard: where its page saw the job), the queue is the one it finds.
    const queues = options.locate ? [null] : queue === undefined ? (await this.redis.smembers(keys.queues)).sort() : [checkQueueName(queue, 'queue')];
    for (const name of queues) {
      for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
        const found = options.locate ? await options.locate(jid) : await this.locator.findIn(jid, { queue: name as string });
        if (found?.where !== 'queue') break;
        if (found.grouped !== undefined) {
          // Waiting in its group: reordered there (a group's jobs run by priority, then FIFO).
          if (priorityOf(found.job) === value) return true;
          const payload = spliceFields(found.raw, { priority: value === 0 ? undefined : value });
          const group = found.grouped.slice(0, found.grouped.indexOf('\0'));
          if ((await this.scripts.reprioritizeGrouped({ queue: found.queue, member: found.grouped, group, payload })) === 1) return true;
          continue;
        }
        // Which of the two a waiting job is in: its exact member in the prioritized set, or the list.
        const inSet = (await this.redis.zscore(keys.prioritized(found.queue), found.raw)) !== null;
        if (priorityOf(found.job) === value && inSet === (value !== 0)) return true;
        const payload = spliceFields(found.raw, { priority: value === 0 ? undefined : value });
        if ((await this.scripts.reprioritize({ queue: found.queue, raw: found.raw, where: inSet ? 'zset' : 'list', payload, priority: value })) === 1) return true;
        // Fetched, or changed under us: look again.
      }
    }
    return false;
  }

  private keyOf(source: CheckedSource): string {
    if (source.set) return source.set === 'retry' ? this.keys.retry : source.set === 'schedule' ? this.keys.schedule : this.keys.dead;
    return this.keys.queue(source.queue);
  }

  private async transaction<T extends unknown[]>(build: (multi: ChainableCommander) => ChainableCommander): Promise<T> {
    return checkExec(await build(this.redis.multi()).exec()) as T;
  }
}
