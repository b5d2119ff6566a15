import type Redis from 'ioredis';
import { UnknownWorkerError } from './errors';
import { failJob, type FailureOutcome, invalidJob } from './failure';
import { type JobPayload, parsePayload } from './job';
import { type Keys, statDay } from './keys';
import type { VerkLogger } from './logger';
import type { JobObserver } from './observer';
import { backoffMs, Sleeper, withTimeout } from './timing';
import type { WorkerRegistry } from './worker-registry';

/** Most jobs moved by one fetch or acknowledged by one script call (Lua's unpack limit is ~8000). */
const MAX_BATCH = 1000;

export interface QueueManagerOptions {
  queue: string;
  concurrency: number;
  nodeId: string;
  keys: Keys;
  /** Shared engine connection (fetch, acknowledge, fail). */
  redis: Redis;
  /** This queue's own connection, blocked in BLMOVE while the queue is empty. */
  blocking: Redis;
  workers: WorkerRegistry;
  logger: VerkLogger;
  observer?: JobObserver;
  maxRetryCount: number;
  maxDeadJobs: number;
  /** Server-side timeout of one BLMOVE, seconds. */
  blockSeconds?: number;
}

/**
 * Runs one queue on this node: keeps up to `concurrency` jobs running, fetching them
 * atomically into `inprogress:<q>:<node>` and removing them from there only once their
 * outcome (finished, retry, dead) is written. A job is held, and counts against the
 * concurrency, until that write has landed.
 */
export class QueueManager {
  readonly queue: string;
  readonly concurrency: number;
  private readonly inProgressKey: string;
  private readonly queueKey: string;
  private state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  private loop?: Promise<void>;
  /** Jobs this manager holds (running or awaiting their final write), with multiplicity. */
  private readonly held = new Map<string, number>();
  private heldCount = 0;
  private executing = 0;
  private slotWaiter?: () => void;
  private idleWaiter?: () => void;
  private pendingAcks: string[] = [];
  private flushing?: Promise<void>;
  private needsReconcile = false;
  /** Set once the connections are going away: retries of writes stop. */
  private closed = false;
  private readonly sleeper = new Sleeper();
  private lastErrorLog = 0;

  constructor(private readonly options: QueueManagerOptions) {
    this.queue = options.queue;
    this.concurrency = options.concurrency;
    this.inProgressKey = options.keys.inProgress(options.queue, options.nodeId);
    this.queueKey = options.keys.queue(options.queue);
  }

  /** Number of jobs running or awaiting their final write. */
  get busy(): number {
    return this.heldCount;
  }

  get running(): boolean {
    return this.state === 'running';
  }

  start(): void {
    if (this.state !== 'new') throw new Error(`Queue manager for "${this.queue}" was already started`);
    this.state = 'running';
    this.options.blocking.on('close', this.connectionDropped);
    this.options.redis.on('close', this.connectionDropped);
    this.loop = this.run();
  }

  /**
   * A fetch in flight when a connection drops is resent after reconnecting, so it may
   * have run twice and left jobs in in-progress that this node never received. The next
   * loop iteration, which starts only after that fetch settled, puts them back.
   */
  private readonly connectionDropped = (): void => {
    this.needsReconcile = true;
  };

  /**
   * Stops fetching, waits for running jobs until `deadline` (epoch ms), writes their
   * outcomes, and puts every job still in this node's in-progress list back at the head of
   * the queue. Returns how many jobs were put back.
   */
  async stop(deadline: number): Promise<number> {
    if (this.state !== 'running') return 0;
    this.state = 'stopping';
    this.slotWaiter?.();
    this.sleeper.cancel();
    // Interrupts a BLMOVE in flight. A job it moved in that instant stays in in-progress
    // and is put back below.
    this.options.blocking.disconnect(false);
    // The loop may be waiting on the shared connection while Redis is away; the engine
    // closes that connection after the deadline, which ends the wait.
    await withTimeout(this.loop ?? Promise.resolve(), deadline - Date.now(), undefined);

    if (this.executing > 0) {
      await withTimeout(new Promise<void>((resolve) => (this.idleWaiter = resolve)), deadline - Date.now(), undefined);
    }
    const unfinished = this.executing;
    await withTimeout(this.drainAcks(), deadline - Date.now() + 1000, undefined);
    // Everything still in in-progress now is a job that did not finish in time.
    // Bounded: with Redis away this would wait forever; the jobs then stay in in-progress
    // and this node (same id) or the heartbeat recovery of another puts them back.
    const moved = await withTimeout(this.options.redis.verkRequeueInProgress(this.inProgressKey, this.queueKey).catch(() => -1), 2000, -1);
    this.closed = true;
    this.sleeper.cancel();
    this.state = 'stopped';
    this.options.redis.off('close', this.connectionDropped);
    if (moved < 0) {
      this.options.logger.error(
        `Queue ${this.queue}: could not reach Redis to put back unfinished jobs; they stay in ${this.inProgressKey} and are put back when node ${this.options.nodeId} starts again`,
      );
      return 0;
    }
    if (unfinished > 0 || moved > 0) {
      this.options.logger.warn(`Queue ${this.queue}: ${unfinished} job(s) did not finish within the shutdown timeout; ${moved} job(s) put back at the head of ${this.queueKey}`);
    }
    return moved;
  }

  private async run(): Promise<void> {
    const { redis, blocking, keys, nodeId } = this.options;
    const blockSeconds = this.options.blockSeconds ?? 5;
    let failures = 0;
    while (this.state === 'running') {
      const free = this.concurrency - this.heldCount;
      if (free <= 0) {
        await new Promise<void>((resolve) => (this.slotWaiter = resolve));
        this.slotWaiter = undefined;
        continue;
      }
      try {
        if (this.needsReconcile) await this.reconcile();
        let jobs = await redis.verkFetchJobs(this.queueKey, this.inProgressKey, keys.nodes, keys.nodeQueues(nodeId), Math.min(free, MAX_BATCH), nodeId, this.queue);
        if (jobs.length === 0) {
          // Nothing waiting: block in Redis until a job arrives, moving it atomically.
          const job = await blocking.blmove(this.queueKey, this.inProgressKey, 'RIGHT', 'LEFT', blockSeconds);
          if (job === null) continue;
          jobs = [job];
        }
        failures = 0;
        // Stopping: what was just fetched stays in in-progress and stop() puts it back.
        if (this.state !== 'running') break;
        for (const raw of jobs) this.begin(raw);
      } catch (error) {
        if (this.state !== 'running') break;
        this.logRateLimited(`Queue ${this.queue}: fetch failed (${(error as Error).message}); retrying`);
        await this.sleeper.sleep(backoffMs(failures++));
      }
    }
  }

  /** Puts jobs that sit in our in-progress list but are not held here back in the queue. */
  private async reconcile(): Promise<void> {
    const heldJobs: string[] = [];
    for (const [raw, count] of this.held) for (let i = 0; i < count; i++) heldJobs.push(raw);
    // Cleared first: a drop during this call asks for another round.
    this.needsReconcile = false;
    let moved: number;
    try {
      moved = await this.options.redis.verkReconcileInProgress(this.inProgressKey, this.queueKey, ...heldJobs);
    } catch (error) {
      this.needsReconcile = true;
      throw error;
    }
    if (moved > 0) this.options.logger.warn(`Queue ${this.queue}: put back ${moved} job(s) fetched by a command that was resent after a dropped connection`);
  }

  private begin(raw: string): void {
    this.held.set(raw, (this.held.get(raw) ?? 0) + 1);
    this.heldCount++;
    this.executing++;
    void this.execute(raw).finally(() => {
      this.executing--;
      if (this.executing === 0) this.idleWaiter?.();
    });
  }

  private release(raw: string): void {
    const count = this.held.get(raw) ?? 0;
    if (count <= 1) this.held.delete(raw);
    else this.held.set(raw, count - 1);
    this.heldCount--;
    this.slotWaiter?.();
  }

  private async execute(raw: string): Promise<void> {
    const parsed = parsePayload(raw, this.queue);
    if (!parsed.ok) {
      const outcome = invalidJob(raw, this.queue, parsed.reason, parsed.partial);
      this.options.logger.error(`Queue ${this.queue}: ${outcome.payload.error_message}; moved to dead`);
      await this.writeFailure(raw, outcome);
      return;
    }
    const job = parsed.payload;
    const worker = this.options.workers.get(job.class);
    const started = Date.now();
    this.notify('jobStarted', job);
    try {
      if (!worker) {
        throw new UnknownWorkerError(`No worker for job class "${job.class}" on node ${this.options.nodeId} (known: ${this.options.workers.names().join(', ') || 'none'})`);
      }
      await worker.perform(job.args, job);
    } catch (error) {
      const outcome = failJob(job, error, {
        maxRetryCount: this.options.maxRetryCount,
        retryAt: worker?.retryAt,
        onBadRetryAt: (value) => this.options.logger.warn(`Worker ${job.class}: retryAt returned ${String(value)}, using the default backoff`),
      });
      this.notify('jobFailed', job, error, outcome, Date.now() - started);
      await this.writeFailure(raw, outcome);
      return;
    }
    this.notify('jobFinished', job, Date.now() - started);
    this.acknowledge(raw);
  }

  private notify(event: 'jobStarted', job: JobPayload): void;
  private notify(event: 'jobFinished', job: JobPayload, durationMs: number): void;
  private notify(event: 'jobFailed', job: JobPayload, error: unknown, outcome: FailureOutcome, durationMs: number): void;
  private notify(event: keyof JobObserver, job: JobPayload, a?: unknown, b?: FailureOutcome, c?: number): void {
    const observer = this.options.observer;
    if (!observer) return;
    try {
      if (event === 'jobStarted') observer.jobStarted?.(job, this.queue);
      else if (event === 'jobFinished') observer.jobFinished?.(job, this.queue, a as number);
      else observer.jobFailed?.(job, this.queue, a, b as FailureOutcome, c as number);
    } catch (error) {
      this.options.logger.error(`Job observer failed on ${event}: ${(error as Error).message}`);
    }
  }

  /** Moves a failed job to retry or dead; repeated until it lands (the job stays in in-progress meanwhile). */
  private async writeFailure(raw: string, outcome: FailureOutcome): Promise<void> {
    const { redis, keys, maxDeadJobs } = this.options;
    const target = outcome.target === 'retry' ? keys.retry : keys.dead;
    for (let attempt = 0; !this.closed; attempt++) {
      try {
        const day = statDay();
        await redis.verkFailJob(this.inProgressKey, target, keys.dead, keys.stat('failed'), keys.stat('failed', day), keys.queueStat('failed', this.queue), keys.queueStat('failed', this.queue, day), raw, JSON.stringify(outcome.payload), outcome.score, maxDeadJobs);
        break;
      } catch (error) {
        this.logRateLimited(`Queue ${this.queue}: could not record failure of job ${outcome.payload.jid} (${(error as Error).message}); retrying`);
        await this.sleeper.sleep(backoffMs(attempt));
      }
    }
    this.release(raw);
  }

  /** Queues a finished job for the next batched acknowledgement. */
  private acknowledge(raw: string): void {
    this.pendingAcks.push(raw);
    if (!this.flushing) this.flushing = this.flushAcks();
  }

  /** Resolves when every acknowledgement queued so far has been written (or the manager closed). */
  private async drainAcks(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  private async flushAcks(): Promise<void> {
    // Let the jobs finishing in this tick join the batch.
    await new Promise<void>((resolve) => setImmediate(resolve));
    const { redis, keys } = this.options;
    let attempt = 0;
    while (this.pendingAcks.length > 0 && !this.closed) {
      const batch = this.pendingAcks.splice(0, MAX_BATCH);
      try {
        const day = statDay();
        await redis.verkFinishJobs(this.inProgressKey, keys.stat('processed'), keys.stat('processed', day), keys.queueStat('processed', this.queue), keys.queueStat('processed', this.queue, day), ...batch);
        attempt = 0;
        for (const raw of batch) this.release(raw);
      } catch (error) {
        this.pendingAcks.unshift(...batch);
        this.logRateLimited(`Queue ${this.queue}: could not acknowledge ${batch.length} finished job(s) (${(error as Error).message}); retrying`);
        await this.sleeper.sleep(backoffMs(attempt++));
      }
    }
    // Synchronously with the loop's last check, so an acknowledgement queued after it starts a new flush.
    this.flushing = undefined;
  }

  private logRateLimited(message: string): void {
    const now = Date.now();
    if (now - this.lastErrorLog < 2000) return;
    this.lastErrorLog = now;
    this.options.logger.warn(message);
  }
}
