import type Redis from 'ioredis';
import type { AdminRemovalOptions, VerkAdmin } from './admin';
import { checkSet, type JobSet } from './admin-input';
import { checkRefs, type JobRef, membersAt } from './job-refs';
import { type JobPayload, nowSeconds, readJob } from '../core/job';
import { spliceFields } from '../core/payload-text';
import { VerkRedisError, VerkValidationError } from '../errors';
import { settleLostJobs } from '../flow/flow-lost';
import type { JobEvent, JobRecorder } from '../history/recorder';
import type { Keys } from '../redis/keys';
import { VerkScripts } from '../redis/verk-scripts';

/** What an action on selected jobs did. */
export interface BulkResult {
  /** Jobs this call moved or deleted. */
  count: number;
  /**
   * jids it did not act on: no longer there (moved, deleted or retried meanwhile, or
   * already handled by an earlier call), or, for a retry, not a job that names a queue.
   */
  skipped: string[];
}

/** What Retry all did. */
export interface RetryAllResult {
  /** Jobs enqueued. */
  count: number;
  /** Members left in the set because they cannot be enqueued (not a job, or no queue). */
  skipped: number;
}

/** Jobs per script call: a short script, so Redis serves other clients in between. */
const CHUNK = 1000;

interface Resolved {
  member: string;
  job: JobPayload | null;
  jid: string;
}

/**
 * Actions on many jobs of `retry`, `schedule` and `dead` (the dashboard's Retry now,
 * Delete, Kill on a selection, Retry all and Delete all), in batched scripts: at most
 * CHUNK jobs per call, never a round trip per job, never the whole set in memory. Each
 * batch is atomic, a job leaves its set only once it is written where it goes, and every
 * action is idempotent: a job that is no longer there is skipped.
 */
export class VerkBulkActions {
  private readonly scripts: VerkScripts;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly admin: VerkAdmin,
    private readonly removal: AdminRemovalOptions,
    private readonly recorder?: JobRecorder,
  ) {
    this.scripts = new VerkScripts(redis, keys);
  }

  /** Enqueues the selected jobs now, each to the end of its own queue (with its priority), as retryNow does. */
  async retry(from: JobSet, jobs: readonly JobRef[]): Promise<BulkResult> {
    const set = checkSet(from, 'from');
    const { found, skipped } = await this.resolve(set, checkRefs(jobs));
    const count = await this.retryResolved(set, found, skipped);
    return { count, skipped };
  }

  /**
   * Enqueues up to `count` of the oldest jobs of a set again, each into its queue, page by
   * page (VerkEngine.retryDead). Returns how many.
   */
  async retryOldest(from: JobSet, count: number): Promise<number> {
    checkSet(from, 'from');
    if (!Number.isInteger(count) || count < 1) throw new VerkValidationError('count', `must be an integer >= 1, got ${JSON.stringify(count)}`);
    let retried = 0;
    while (retried < count) {
      const page = await this.admin.listJobs(from, { limit: Math.min(1000, count - retried), order: 'asc' });
      const refs = page.jobs.flatMap((listed) => (listed.job ? [{ jid: listed.job.jid, at: listed.at }] : []));
      if (refs.length === 0) break;
      const { count: moved } = await this.retry(from, refs);
      retried += moved;
      if (moved === 0) break;
    }
    return retried;
  }

  /**
   * Deletes the selected jobs for good, as clear() does: a dependable job takes the jobs
   * waiting for it to dead (DependencyLostError), a job of a batch counts as dead in it.
   */
  async delete(from: JobSet, jobs: readonly JobRef[]): Promise<BulkResult> {
    const set = checkSet(from, 'from');
    const { found, skipped } = await this.resolve(set, checkRefs(jobs));
    let count = 0;
    for (let i = 0; i < found.length; i += CHUNK) count += await this.admin.removeMembers(set, found.slice(i, i + CHUNK).map((job) => job.member));
    // The script reports a count: a job another call removed in between is not in `skipped`.
    return { count, skipped };
  }

  /**
   * Sidekiq's Kill: moves the selected jobs of `retry` or `schedule` to `dead` now, as
   * stored, and trims dead to maxDeadJobs. A killed job counts as one that died: its batch
   * counts it as dead, its unique lock is freed, jobs depending on it keep waiting (a
   * retry from dead can still run it).
   */
  async kill(from: 'retry' | 'schedule', jobs: readonly JobRef[]): Promise<BulkResult> {
    if (from !== 'retry' && from !== 'schedule') throw new VerkValidationError('from', `must be 'retry' or 'schedule' (jobs are killed into dead), got ${JSON.stringify(from)}`);
    const { found, skipped } = await this.resolve(from, checkRefs(jobs));
    let count = 0;
    const events: JobEvent[] = [];
    for (let i = 0; i < found.length; i += CHUNK) {
      const chunk = found.slice(i, i + CHUNK);
      const moved = new Set(await this.scripts.killJobs({ from, members: chunk.map((job) => job.member), maxDeadJobs: this.removal.maxDeadJobs, now: nowSeconds() }));
      chunk.forEach((job, index) => {
        if (!moved.has(index + 1)) return skipped.push(job.jid);
        count++;
        this.event(events, job, 'dead', from);
      });
    }
    if (count > 0 && (await settleLostJobs(this.redis, this.keys, this.removal.flowRetentionSeconds)) > 0) this.removal.onScheduledNow?.();
    this.recorder?.record(events);
    return { count, skipped };
  }

  /**
   * Enqueues every job of a set now, oldest first, CHUNK per script call: as many as
   * the set held when it began (jobs arriving meanwhile stay). A member that cannot be
   * enqueued (not a job, or naming no queue) stays and is counted in `skipped`.
   */
  async retryAll(from: JobSet): Promise<RetryAllResult> {
    const set = checkSet(from, 'from');
    const key = this.keys[set];
    const total = await this.redis.zcard(key);
    let count = 0;
    let skipped = 0;
    let seen = 0;
    while (seen < total) {
      // Skipped members stay at the front: read past them.
      const members = await this.redis.zrange(key, skipped, String(skipped + Math.min(CHUNK, total - seen) - 1));
      if (members.length === 0) break;
      seen += members.length;
      const found: Resolved[] = members.map((member) => {
        const job = readJob(member).job;
        return { member, job, jid: job?.jid ?? '' };
      });
      const left: string[] = [];
      count += await this.retryResolved(set, found, left);
      skipped += found.filter((job) => !enqueueable(job.job)).length;
    }
    return { count, skipped };
  }

  /** Deletes every job of a set (VerkAdmin.clear: chunks of 1000, flow rules applied). Returns how many. */
  deleteAll(from: JobSet): Promise<number> {
    return this.admin.clear(checkSet(from, 'from'));
  }

  /** Enqueues resolved jobs in chunks; adds to `skipped` what was not moved. Returns how many moved. */
  private async retryResolved(set: JobSet, found: readonly Resolved[], skipped: string[]): Promise<number> {
    let count = 0;
    const events: JobEvent[] = [];
    let failure: string | undefined;
    const now = nowSeconds();
    const ready: { job: Resolved; queue: string; payload: string }[] = [];
    for (const job of found) {
      if (!enqueueable(job.job)) skipped.push(job.jid);
      // Spliced into the stored text, never re-encoded (it may be another system's job).
      else ready.push({ job, queue: job.job.queue, payload: spliceFields(job.member, { enqueued_at: now }) });
    }
    for (let i = 0; i < ready.length; i += CHUNK) {
      const chunk = ready.slice(i, i + CHUNK);
      const [error, ...moved] = await this.scripts.retryJobs({ from: set, jobs: chunk.map((item) => ({ member: item.job.member, queue: item.queue, payload: item.payload })) });
      if (error !== '') failure ??= error;
      const done = new Set(moved);
      chunk.forEach((item, index) => {
        if (!done.has(index + 1)) return skipped.push(item.job.jid);
        count++;
        this.event(events, item.job, set === 'schedule' ? 'enqueued' : 'retried', set);
      });
    }
    this.recorder?.record(events);
    if (failure !== undefined) throw new VerkRedisError(`${failure} (${count} job(s) were enqueued; the others stay in ${set})`);
    return count;
  }

  private event(events: JobEvent[], job: Resolved, event: JobEvent['event'], from: JobSet): void {
    const recorder = this.recorder;
    const queue = job.job?.queue;
    if (recorder?.wants(queue)) events.push({ jid: job.jid, event, at: Date.now(), node: recorder.nodeId, queue, from });
  }

  /**
   * The stored members of the selected jobs: by score where given (one pipelined round
   * trip for all), else by a scan (findIn). Jobs not found are `skipped`.
   */
  private async resolve(set: JobSet, refs: { jid: string; at?: number }[]): Promise<{ found: Resolved[]; skipped: string[] }> {
    const key = this.keys[set];
    const found: Resolved[] = [];
    const skipped: string[] = [];
    const seen = new Set<string>();
    const byScore = refs.filter((ref): ref is { jid: string; at: number } => ref.at !== undefined);
    const members = await membersAt(this.redis, key, byScore);
    byScore.forEach((ref, index) => {
      const member = members[index];
      if (member === null || seen.has(member)) return skipped.push(ref.jid);
      seen.add(member);
      found.push({ member, job: readJob(member).job, jid: ref.jid });
    });
    for (const ref of refs) {
      if (ref.at !== undefined) continue;
      const job = await this.admin.findIn(ref.jid, set);
      if (!job || seen.has(job.raw)) {
        skipped.push(ref.jid);
        continue;
      }
      seen.add(job.raw);
      found.push({ member: job.raw, job: job.job, jid: ref.jid });
    }
    return { found, skipped };
  }
}

/** A job that can be enqueued: parsed, with a queue name. */
function enqueueable(job: JobPayload | null): job is JobPayload {
  return job !== null && typeof job.queue === 'string' && job.queue.length > 0;
}
