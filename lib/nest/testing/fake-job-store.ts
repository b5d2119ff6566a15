import { linkDependencies } from '../../engine/client/client';
import { unknownDependency } from '../../engine/flow/flow-writer';
import { isFlowJob } from '../../engine/flow/flow';
import { type JobPayload, nowSeconds } from '../../engine/core/job';
import type { FailureOutcome } from '../../engine/core/failure';

/** A job waiting in a set (`schedule`, `retry`, `dead`) with its time. */
export interface FakeSetEntry {
  payload: JobPayload;
  /** When it is due (schedule, retry) or when it died (dead). */
  at: Date;
}

/** A job in a queue: `seq` keeps FIFO order within a priority. */
interface Waiting {
  payload: JobPayload;
  seq: number;
}

interface FakeBatch {
  total: number;
  pending: Set<string>;
  succeeded: number;
  dead: number;
  callback: JobPayload;
}

/** A batch's callback and its counts, once filled in. */
interface BatchToCreate {
  bid: string;
  callback: JobPayload;
}

/**
 * The in-memory stand-in for the Redis structures, used by VerkModule.forTesting: queues
 * (priority, then FIFO), `schedule`, `retry`, `dead`, jobs blocked on dependencies,
 * unique locks, finished dependable jobs and batches. It follows what the Lua scripts do
 * (enqueueFlowJobs, completeFlowJob, failFlowJob) for one process and one clock; it does
 * not simulate several nodes, timing or Redis failures.
 */
export class FakeJobStore {
  private seq = 0;
  private readonly queues = new Map<string, Waiting[]>();
  private scheduleSet: FakeSetEntry[] = [];
  private retrySet: FakeSetEntry[] = [];
  private deadSet: FakeSetEntry[] = [];
  /** jid -> the job and the jids it still waits for. */
  private readonly blocked = new Map<string, { payload: JobPayload; waiting: Set<string> }>();
  /** Dependable jobs not finished yet (wherever they are), and those that finished. */
  private readonly pendingDependable = new Set<string>();
  private readonly finished = new Set<string>();
  /** unique key -> the jid holding it and when the lock expires (epoch ms). */
  private readonly locks = new Map<string, { jid: string; expiresAt: number }>();
  private readonly batches = new Map<string, FakeBatch>();

  /**
   * Writes jobs as enqueueFlowJobs/enqueueJob do, all or nothing: a dependency that is
   * neither pending nor finished throws the real VerkValidationError before anything is
   * stored. A unique job whose lock is held is not written: its result is the holder's
   * jid. Jobs run at `atMs` (epoch ms, default now): later ones go to `schedule`.
   */
  write(payloads: JobPayload[], fields: readonly string[], atMs = Date.now(), batch?: BatchToCreate): string[] {
    linkDependencies(payloads, fields);
    const inCall = new Set<string>();
    payloads.forEach((payload, index) => {
      (payload.depends_on ?? []).forEach((dep, at) => {
        if (!inCall.has(dep) && !this.pendingDependable.has(dep) && !this.finished.has(dep)) throw unknownDependency(`${fields[index]}.dependsOn[${at}]`, dep);
      });
      inCall.add(payload.jid);
    });
    const now = Date.now();
    const jids = payloads.map((payload) => {
      if (typeof payload.unique_key === 'string') {
        const lock = this.locks.get(payload.unique_key);
        if (lock && lock.expiresAt > now) return lock.jid;
        this.locks.set(payload.unique_key, { jid: payload.jid, expiresAt: now + (payload.unique_ttl ?? 0) });
      }
      if (payload.dependable === true) this.pendingDependable.add(payload.jid);
      const waiting = new Set((payload.depends_on ?? []).filter((dep) => !this.finished.has(dep)));
      if (waiting.size > 0) this.blocked.set(payload.jid, { payload, waiting });
      else this.place(payload, atMs);
      return payload.jid;
    });
    if (batch) {
      this.batches.set(batch.bid, { total: payloads.length, pending: new Set(payloads.map((payload) => payload.jid)), succeeded: 0, dead: 0, callback: batch.callback });
    }
    return jids;
  }

  /** Into its queue now, or into `schedule` when due later. */
  private place(payload: JobPayload, atMs: number): void {
    if (atMs > Date.now()) {
      const { enqueued_at: _omitted, ...scheduled } = payload;
      this.scheduleSet.push({ payload: scheduled as JobPayload, at: new Date(atMs) });
      this.scheduleSet.sort((a, b) => a.at.getTime() - b.at.getTime());
      return;
    }
    this.push({ ...payload, enqueued_at: nowSeconds() });
  }

  /**
   * Into its queue, kept in run order (higher priority first, FIFO within one): a binary
   * search for the first job of a lower priority, so taking the next job is the head.
   */
  private push(payload: JobPayload): string {
    const list = this.queues.get(payload.queue) ?? [];
    const priority = payload.priority ?? 0;
    let low = 0;
    let high = list.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((list[middle].payload.priority ?? 0) >= priority) low = middle + 1;
      else high = middle;
    }
    list.splice(low, 0, { payload, seq: this.seq++ });
    this.queues.set(payload.queue, list);
    return payload.jid;
  }

  /** Queue names that hold waiting jobs. */
  queueNames(): string[] {
    return [...this.queues.keys()].filter((queue) => (this.queues.get(queue) ?? []).length > 0).sort();
  }

  /** A queue's waiting jobs, next to run first (higher priority first, FIFO within one). */
  waiting(queue: string): JobPayload[] {
    return this.ordered(queue).map((entry) => entry.payload);
  }

  private ordered(queue: string): readonly Waiting[] {
    return this.queues.get(queue) ?? [];
  }

  /** Jobs waiting for dependencies, in the order they were written. */
  blockedJobs(queue?: string): JobPayload[] {
    return [...this.blocked.values()].map((entry) => entry.payload).filter((payload) => queue === undefined || payload.queue === queue);
  }

  /**
   * Takes the next job to run: of `queue`, or, across `queues`, the head that was
   * enqueued first. Undefined when they are empty.
   */
  take(queues: readonly string[]): JobPayload | undefined {
    let best: { queue: string; entry: Waiting } | undefined;
    for (const queue of queues) {
      const head = this.ordered(queue)[0];
      if (head && (!best || head.seq < best.entry.seq)) best = { queue, entry: head };
    }
    if (!best) return undefined;
    (this.queues.get(best.queue) ?? []).shift();
    return best.entry.payload;
  }

  /** Takes one waiting job by jid (inline mode runs exactly what was just written). */
  takeJid(jid: string): JobPayload | undefined {
    for (const list of this.queues.values()) {
      const index = list.findIndex((entry) => entry.payload.jid === jid);
      if (index >= 0) return list.splice(index, 1)[0].payload;
    }
    return undefined;
  }

  /**
   * A job succeeded: dependents released, its unique lock freed, its batch counted.
   * Returns the jids this put in a queue (released dependents, a batch callback).
   */
  complete(job: JobPayload): string[] {
    if (!isFlowJob(job)) return [];
    const released: string[] = [];
    if (job.dependable === true) {
      this.pendingDependable.delete(job.jid);
      this.finished.add(job.jid);
      for (const [jid, entry] of this.blocked) {
        entry.waiting.delete(job.jid);
        if (entry.waiting.size > 0) continue;
        this.blocked.delete(jid);
        released.push(this.push({ ...entry.payload, enqueued_at: nowSeconds() }));
      }
    }
    this.releaseLock(job);
    return [...released, ...this.countInBatch(job, 'succeeded')];
  }

  /**
   * A job failed: into `retry` (its lock kept) or `dead` (lock freed, counted as dead in
   * its batch; jobs that depend on it keep waiting, as in Redis). Returns the jids this
   * put in a queue (a batch callback).
   */
  fail(outcome: FailureOutcome): string[] {
    const entry = { payload: outcome.payload, at: new Date(outcome.score * 1000) };
    if (outcome.target === 'retry') {
      this.retrySet.push(entry);
      this.retrySet.sort((a, b) => a.at.getTime() - b.at.getTime());
      return [];
    }
    this.deadSet.push(entry);
    this.releaseLock(outcome.payload);
    return this.countInBatch(outcome.payload, 'dead');
  }

  private releaseLock(job: JobPayload): void {
    if (typeof job.unique_key !== 'string') return;
    if (this.locks.get(job.unique_key)?.jid === job.jid) this.locks.delete(job.unique_key);
  }

  /** Counts a finished job of a batch; the last one enqueues the callback with `{ bid, total, succeeded, dead }`. */
  private countInBatch(job: JobPayload, outcome: 'succeeded' | 'dead'): string[] {
    const batch = typeof job.bid === 'string' ? this.batches.get(job.bid) : undefined;
    if (!batch || !batch.pending.delete(job.jid)) return [];
    batch[outcome]++;
    if (batch.pending.size > 0) return [];
    this.batches.delete(job.bid as string);
    const counts = { bid: job.bid, total: batch.total, succeeded: batch.succeeded, dead: batch.dead };
    return [this.push({ ...batch.callback, args: [...batch.callback.args, counts], batch_callback_of: job.bid, enqueued_at: nowSeconds() })];
  }

  /** Moves `schedule` jobs due by `until` (epoch ms) to their queues, earliest first; returns how many. */
  promoteScheduled(until: number): number {
    const due = this.scheduleSet.filter((entry) => entry.at.getTime() <= until);
    this.scheduleSet = this.scheduleSet.filter((entry) => entry.at.getTime() > until);
    for (const entry of due) this.push({ ...entry.payload, enqueued_at: nowSeconds() });
    return due.length;
  }

  /** Moves every `retry` job (of `queue`, or all) back to its queue, whatever its time; returns how many. */
  promoteRetries(queue?: string): number {
    const moving = this.retrySet.filter((entry) => queue === undefined || entry.payload.queue === queue);
    this.retrySet = this.retrySet.filter((entry) => !moving.includes(entry));
    for (const entry of moving) this.push({ ...entry.payload, enqueued_at: nowSeconds() });
    return moving.length;
  }

  get scheduled(): readonly FakeSetEntry[] {
    return this.scheduleSet;
  }

  get retries(): readonly FakeSetEntry[] {
    return this.retrySet;
  }

  get dead(): readonly FakeSetEntry[] {
    return this.deadSet;
  }

  /** Removes the waiting jobs of a queue, or of `schedule`, `retry`, `dead`; returns how many. */
  clearSource(where: 'schedule' | 'retry' | 'dead' | { queue: string }): number {
    if (typeof where === 'object') {
      const count = this.queues.get(where.queue)?.length ?? 0;
      this.queues.delete(where.queue);
      return count;
    }
    const set = where === 'schedule' ? this.scheduleSet : where === 'retry' ? this.retrySet : this.deadSet;
    const count = set.length;
    set.length = 0;
    return count;
  }

  /** Forgets everything. */
  clear(): void {
    this.queues.clear();
    this.scheduleSet = [];
    this.retrySet = [];
    this.deadSet = [];
    this.blocked.clear();
    this.pendingDependable.clear();
    this.finished.clear();
    this.locks.clear();
    this.batches.clear();
  }
}
