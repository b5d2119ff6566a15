import type Redis from 'ioredis';
import type { FoundJob, JobSource, VerkAdmin } from '../admin/admin';
import { checkJid } from '../admin/admin-input';
import { readJob } from '../core/job';
import { VerkFlowError } from '../errors';
import type { VerkJobControl } from '../admin/job-control';
import type { JobPayload } from '../core/job';
import type { Keys } from '../redis/keys';
import { VerkScripts } from '../redis/verk-scripts';
import { type JobEvent, readHistory } from '../history/recorder';
import { scanBatchIds } from './batch-list';

/** Where a job stands, as `job(jid)` reports it. */
export type JobState =
  /** Waiting for dependencies (in no queue yet). */
  | 'blocked'
  | 'scheduled'
  /** In its queue. */
  | 'waiting'
  | 'running'
  | 'retry'
  | 'dead'
  /** Finished successfully: a dependable job (remembered for `flowRetention`), or a job whose history says so. */
  | 'finished'
  /** Not found: finished (and not dependable), deleted, or never enqueued. */
  | 'unknown';

export interface JobStatus {
  jid: string;
  state: JobState;
  queue?: string;
  /** The node running it (state `running`). */
  nodeId?: string;
  /** When it is due (scheduled, retry), died (dead) or finished (finished). */
  at?: Date;
  /** Its payload, when it is stored somewhere. */
  job?: JobPayload;
  /** The payload exactly as stored (the bytes of the member), when it is stored somewhere. */
  raw?: string;
  /** State `blocked`: the dependencies it still waits for and where each stands. */
  waitingFor?: { jid: string; state: JobState }[];
  /** Jobs waiting for this one. */
  dependents: string[];
  /** What happened to it, oldest first, when its queue keeps a history (option `history`). */
  history?: JobEvent[];
}

export interface BatchStatus {
  bid: string;
  total: number;
  /** Jobs that have neither succeeded nor died yet. */
  pending: number;
  succeeded: number;
  dead: number;
  createdAt: Date;
  /** When the last job finished and the callback was enqueued. */
  completedAt?: Date;
}

export interface JobStatusOptions {
  /**
   * How to find a job stored in a set, a queue or a node's in-progress list (the job and
   * its dependencies): default `admin.findJob`, which searches to the end. The dashboard
   * passes one bounded step of `engine.browse.locate`; null then means "not found by
   * that step". A dependency that flow control knows is queued and that `locate` does not
   * find is reported `waiting`.
   */
  locate?: (jid: string) => Promise<FoundJob | null>;
}

export interface CancelOptions {
  /** Also cancel every job waiting for this one, transitively. Without it, a job with dependents is refused. */
  cascade?: boolean;
  /** Only where it is now: a set or a queue (as deleteJob). Default: wherever it waits. */
  from?: JobSource;
  /**
   * Without `from`: how to find the job (as JobStatusOptions.locate); default
   * `admin.findJob`. Null means not found.
   */
  locate?: (jid: string) => Promise<FoundJob | null>;
}

/** Job lookup with dependencies, batch status and cancelling (dependency-aware). */
/** Times cancel looks a job up again when it moved between the look-up and the removal. */
const MOVED_ATTEMPTS = 3;

export class VerkFlowAdmin {
  private readonly scripts: VerkScripts;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly admin: VerkAdmin,
    private readonly control: VerkJobControl,
    /** Records a cancel in the job's history / tracking (the engine adds node and time). */
    private readonly recordEvent: (event: Pick<JobEvent, 'jid' | 'event' | 'queue'>) => void = () => undefined,
  ) {
    this.scripts = new VerkScripts(redis, keys);
  }

  /** Where a job is now, what it waits for and what waits for it. */
  async job(jid: string, options: JobStatusOptions = {}): Promise<JobStatus> {
    checkJid(jid);
    const find = options.locate ?? ((other: string) => this.admin.findJob(other));
    const [status, history] = await Promise.all([this.locate(jid, find), readHistory(this.redis, this.keys, jid)]);
    if (history.length > 0) {
      status.history = history;
      // Stored nowhere any more: the history says whether it finished (its last word on the job's fate).
      const last = status.state === 'unknown' ? [...history].reverse().find((event) => event.event !== 'tagged' && event.event !== 'untagged') : undefined;
      if (last?.event === 'finished') {
        status.state = 'finished';
        status.at = new Date(last.at);
        status.queue ??= last.queue;
      }
    }
    if (status.state === 'blocked') {
      const waiting = await this.redis.hget(this.keys.flowWaitingOn, jid);
      const deps = waiting ? (JSON.parse(waiting) as string[]) : [];
      // Flow control's record (one read) names the state of a dependency `find` did not
      // find (the dashboard's find reads a bounded amount); it can lag (retryNow leaves 'dead').
      const pending = deps.length > 0 ? await this.redis.hmget(this.keys.flowPending, ...deps) : [];
      status.waitingFor = await Promise.all(
        deps.map(async (dep, i) => {
          const state = (await this.locate(dep, find)).state;
          const known = pending[i];
          if (state !== 'unknown' || known === null) return { jid: dep, state };
          return { jid: dep, state: known === 'queued' ? 'waiting' : (known as JobState) };
        }),
      );
    }
    return status;
  }

  /** A batch's counters; null when there is no such batch (or it completed longer than flowRetention ago). */
  async batchStatus(bid: string): Promise<BatchStatus | null> {
    checkJid(bid, 'bid');
    const fields = await this.redis.hgetall(this.keys.batch(bid));
    if (!fields.total) return null;
    const seconds = (value: string) => new Date(Number(value) * 1000);
    return {
      bid,
      total: Number(fields.total),
      pending: Number(fields.pending),
      succeeded: Number(fields.succeeded),
      dead: Number(fields.dead),
      createdAt: seconds(fields.created_at),
      ...(fields.completed_at ? { completedAt: seconds(fields.completed_at) } : {}),
    };
  }

  /**
   * Batches still remembered (running, or completed less than flowRetention ago), found by
   * a bounded SCAN (there is no batch index): pass the returned `cursor` to continue; null
   * when every key was seen. Newest first within one call.
   */
  async listBatches(options: { cursor?: string; limit?: number } = {}): Promise<{ batches: BatchStatus[]; cursor: string | null }> {
    const { bids, cursor } = await scanBatchIds(this.redis, this.keys, options);
    const statuses = await Promise.all(bids.map((bid) => this.batchStatus(bid)));
    const batches = statuses.filter((status): status is BatchStatus => status !== null).sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
    return { batches, cursor };
  }

  /**
   * Removes a job wherever it is: waiting for dependencies, in a queue, scheduled, in
   * retry or dead, or running (taken from its worker, whose outcome is then ignored and
   * which sees `currentJob().canceled`). Refused (VerkFlowError) when jobs depend on it,
   * unless `cascade`, and when it belongs to a batch that still counts on it. False when
   * it is not found.
   */
  async cancel(jid: string, options: CancelOptions = {}): Promise<boolean> {
    checkJid(jid);
    const cascade = options.cascade === true;
    const dependents = await this.dependentsOf(jid);
    if (dependents.length > 0 && !cascade) {
      throw new VerkFlowError(
        `Job ${jid} has ${dependents.length} job(s) waiting for it (${dependents.slice(0, 5).join(', ')}${dependents.length > 5 ? ', ...' : ''}); ` +
          'cancel with { cascade: true } to remove them too',
      );
    }
    let payload: JobPayload | undefined;
    if (options.from === undefined && (await this.redis.hexists(this.keys.flowBlocked, jid))) {
      if (cascade) await this.cancelDependents(jid);
      let raw: string | null;
      try {
        raw = await this.scripts.removeBlockedJob({ jid });
      } catch (error) {
        if ((error as Error).message.includes('dependents')) throw new VerkFlowError(`Job ${jid} got a dependent while being cancelled; try again`);
        throw error;
      }
      if (raw === null) return false;
      payload = readJob(raw).job ?? undefined;
    } else {
      // A job can move between the look-up and the removal (the scheduler moving it from
      // `schedule` to its queue, a worker fetching it): then it is looked up again, a few times.
      let found: FoundJob | null = null;
      for (let attempt = 0; ; attempt++) {
        found = options.from !== undefined ? await this.admin.findIn(jid, options.from) : options.locate ? await options.locate(jid) : await this.admin.findJob(jid);
        if (!found) return false;
        if (typeof found.job.bid === 'string' && found.where !== 'dead' && (await this.redis.exists(this.keys.batch(found.job.bid))) === 1) {
          throw new VerkFlowError(`Job ${jid} belongs to batch ${found.job.bid}, which waits for it to succeed or die; it cannot be cancelled`);
        }
        let removed: boolean;
        if (found.where === 'inprogress') {
          // Its worker is told; whatever it writes afterwards finds nothing and is ignored.
          removed = await this.control.interruptRunning(found);
        } else {
          const source: JobSource = found.where === 'queue' ? { queue: found.queue } : found.where;
          // With cascade the dependents are removed below, not sent to dead as lost.
          removed = await this.admin.removeJob(jid, source, cascade ? 'keep' : 'lose', found);
        }
        if (removed) break;
        if (attempt === MOVED_ATTEMPTS - 1) return false;
      }
      payload = found.job;
      if (cascade) await this.cancelDependents(jid);
      else await this.redis.hdel(this.keys.flowPending, jid);
    }
    if (payload) {
      await this.releaseLock(payload);
      this.recordEvent({ jid, event: 'canceled', queue: payload.queue });
    }
    return true;
  }

  private async cancelDependents(jid: string): Promise<void> {
    const removed = await this.scripts.cancelBlockedJobs({ jid });
    for (const raw of removed) {
      const job = readJob(raw).job;
      if (job) await this.releaseLock(job);
    }
  }

  private async releaseLock(job: JobPayload): Promise<void> {
    if (typeof job.unique_key === 'string') await this.scripts.releaseLock({ uniqueKey: job.unique_key, jid: job.jid });
  }

  private async dependentsOf(jid: string): Promise<string[]> {
    const list = await this.redis.hget(this.keys.flowDependents, jid);
    return list ? (JSON.parse(list) as string[]) : [];
  }

  private async locate(jid: string, find: (jid: string) => Promise<FoundJob | null> = (other) => this.admin.findJob(other)): Promise<JobStatus> {
    const { keys } = this;
    const [blocked, dependents] = await Promise.all([this.redis.hget(keys.flowBlocked, jid), this.dependentsOf(jid)]);
    if (blocked !== null) {
      const job = readJob(blocked).job ?? undefined;
      return { jid, state: 'blocked', queue: job?.queue, job, raw: blocked, dependents };
    }
    const found = await find(jid);
    if (found) {
      const base = { jid, job: found.job, raw: found.raw, queue: found.job.queue, dependents };
      switch (found.where) {
        case 'queue':
          return { ...base, state: 'waiting', queue: found.queue };
        case 'inprogress':
          return { ...base, state: 'running', queue: found.queue, nodeId: found.nodeId };
        case 'schedule':
          return { ...base, state: 'scheduled', at: new Date(found.at * 1000) };
        default:
          return { ...base, state: found.where, at: new Date(found.at * 1000) };
      }
    }
    const finished = await this.redis.zscore(keys.flowDone, jid);
    if (finished !== null) return { jid, state: 'finished', at: new Date(Number(finished) * 1000), dependents };
    return { jid, state: 'unknown', dependents };
  }
}
