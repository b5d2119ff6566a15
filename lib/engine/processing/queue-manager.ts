import type Redis from 'ioredis';
import { BlockingConnectionId } from '../redis/blocking-connection';
import { VerkStateError } from '../errors';
import { MAX_ACK_BATCH, OutcomeWriter } from './outcome-writer';
import { LimitedFetch } from '../limits/limited-fetch';
import { JobRunner } from './job-runner';
import { VerkScripts } from '../redis/verk-scripts';
import { RateLimitedLog } from '../logger';
import type { Interruption } from '../core/middleware';
import { QueuePaused, QueuePausing, QueueRunning } from '../events';
import { backoffMs, Sleeper, withTimeout } from '../core/timing';
import type { QueueManagerOptions } from './queue-manager-options';

export type { QueueManagerOptions } from './queue-manager-options';

/** Most jobs moved by one fetch (Lua's unpack limit is ~8000). */
const MAX_BATCH = MAX_ACK_BATCH;

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
  /** Wake-ups received (a prioritized job arrived), and the id of the BLMOVE in flight (0: none). */
  private wakes = 0;
  private blockingFetch = 0;
  private blockingFetches = 0;
  private state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  private loop?: Promise<void>;
  /** Jobs this manager holds (running or awaiting their final write), with multiplicity. */
  private readonly held = new Map<string, number>();
  private heldCount = 0;
  private executing = 0;
  private slotWaiter?: () => void;
  private idleWaiter?: () => void;
  private readonly clock: () => number;
  /** Finished jobs' batched acknowledgements, failures, flow completions, with their histograms. */
  private readonly outcomes: OutcomeWriter;
  /** Runs each job: its worker inside the middleware, its events, then its outcome's write. */
  private readonly runner: JobRunner;
  /** The queue's limits on this node: the limited fetch and the slots it holds. */
  private readonly limits: LimitedFetch;
  private needsReconcile = false;
  /** Set once the connections are going away: retries of writes stop. */
  private closed = false;
  private readonly sleeper = new Sleeper();
  /** Failures that repeat while Redis is away: at most one line every 2 s. */
  private readonly warnings: RateLimitedLog;
  private paused: boolean;
  private pausedAnnounced = false;
  private resumeWaiter?: () => void;
  private wakeStopping?: () => void;
  /** Resolves when stop() begins. */
  private readonly stopping = new Promise<void>((resolve) => (this.wakeStopping = resolve));
  private readonly scripts: VerkScripts;
  /** Where acknowledgements are written (see QueueManagerOptions.ackRedis), and their façade. */
  private readonly ackRedis: Redis;
  private readonly ackScripts: VerkScripts;
  /** The blocking connection's id, to interrupt its BLMOVE (CLIENT UNBLOCK) on wake-up and pause. */
  private readonly blockingId: BlockingConnectionId;

  constructor(private readonly options: QueueManagerOptions) {
    this.queue = options.queue;
    this.concurrency = options.concurrency;
    this.inProgressKey = options.keys.inProgress(options.queue, options.nodeId);
    this.queueKey = options.keys.queue(options.queue);
    this.paused = options.paused ?? false;
    this.clock = options.clock ?? Date.now;
    this.warnings = new RateLimitedLog(options.logger, 2000);
    // Before the first BLMOVE connects it (lazyConnect), so its first id is not missed.
    this.blockingId = new BlockingConnectionId(options.blocking, options.keys.queue(options.queue));
    this.scripts = new VerkScripts(options.redis, options.keys);
    this.ackRedis = options.ackRedis ?? options.redis;
    this.ackScripts = options.ackRedis ? new VerkScripts(options.ackRedis, options.keys) : this.scripts;
    this.outcomes = new OutcomeWriter({
      queue: options.queue,
      nodeId: options.nodeId,
      scripts: this.ackScripts,
      flowAck: { scripts: this.ackScripts, queue: options.queue, nodeId: options.nodeId, retentionSeconds: options.flowRetentionSeconds },
      maxDeadJobs: options.maxDeadJobs,
      durability: options.durability,
      ackRedis: this.ackRedis,
      histogramRetention: options.histograms?.retentionDays,
      recorder: options.recorder,
      metrics: options.metrics,
      warnings: this.warnings,
      sleeper: this.sleeper,
      closed: () => this.closed,
      release: (raw) => this.release(raw),
      slotGivenBack: (raw) => this.limits.forget(raw),
      onRateLimited: () => this.limitsChanged(true),
      onScheduledNow: options.onScheduledNow,
    });
    this.runner = new JobRunner(options, this.outcomes, this.clock);
    this.limits = new LimitedFetch({ queue: options.queue, nodeId: options.nodeId, scripts: this.scripts, warnings: this.warnings, sleeper: this.sleeper, closed: () => this.closed, limited: options.limited ?? false });
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /**
   * Stops fetching on this node (QueuePausing); jobs already taken run to the end, then
   * QueuePaused. A BLMOVE waiting on the empty queue is interrupted, so it cannot take a
   * job that arrives after the pause.
   */
  pause(): void {
    if (this.paused || this.state !== 'running') return;
    this.paused = true;
    this.pausedAnnounced = false;
    this.options.events.emit(new QueuePausing(this.queue));
    const fetch = this.blockingFetch;
    if (fetch !== 0) void this.interruptBlockingFetch(fetch, 'on pause');
    this.announceIfPaused();
  }

  /**
   * A prioritized job arrived in the queue (announced on the wake channel): BLMOVE waits on
   * the list only, so a wait in progress is interrupted and the loop fetches again. A
   * wake-up that comes between a fetch and its BLMOVE makes the loop skip that BLMOVE.
   */
  wake(): void {
    this.wakes++;
    this.limits.wakeUp();
    const fetch = this.blockingFetch;
    if (fetch === 0 || this.state !== 'running') return;
    void this.interruptBlockingFetch(fetch, 'for a prioritized job');
  }

  /**
   * A job running here was cancelled or moved (its outcome will find nothing to update):
   * marks the runs of that jid going on now, so their worker can see it (see JobRunner).
   */
  interrupt(jid: string, interruption: Interruption): boolean {
    return this.runner.interrupt(jid, interruption);
  }

  /**
   * The queue's limits changed (announced on the control channel, or re-read after a
   * reconnect): fetch with or without them from now on, and fetch again at once.
   */
  limitsChanged(limited: boolean): void {
    this.limits.limited = limited;
    this.wake();
  }

  /** Whether this node fetches the queue with its limits. */
  get limited(): boolean {
    return this.limits.limited;
  }

  /** Fetches again (QueueRunning). */
  resume(): void {
    this.limits.wakeUp();
    if (!this.paused || this.state !== 'running') return;
    this.paused = false;
    this.options.events.emit(new QueueRunning(this.queue));
    this.resumeWaiter?.();
  }

  private announceIfPaused(): void {
    if (this.paused && !this.pausedAnnounced && this.heldCount === 0) {
      this.pausedAnnounced = true;
      this.options.events.emit(new QueuePaused(this.queue));
    }
  }

  /** Interrupts the BLMOVE numbered `fetch` while it is still the one in flight. */
  private async interruptBlockingFetch(fetch: number, why: string): Promise<void> {
    try {
      await this.blockingId.unblock(this.options.redis, () => this.blockingFetch === fetch && this.state === 'running');
    } catch (error) {
      // At worst the BLMOVE runs to its timeout; on pause the confirm script refuses the job it takes.
      this.warnings.warn(`Queue ${this.queue}: could not interrupt the blocking fetch ${why} (${(error as Error).message})`);
    }
  }

  /** Number of jobs running or awaiting their final write. */
  get busy(): number {
    return this.heldCount;
  }

  get running(): boolean {
    return this.state === 'running';
  }

  start(): void {
    if (this.state !== 'new') throw new VerkStateError(`Queue manager for "${this.queue}" was already started`);
    this.state = 'running';
    this.options.blocking.on('close', this.connectionDropped);
    this.options.redis.on('close', this.connectionDropped);
    // On a Cluster a node's connection ends when its master dies (failover): a write in
    // flight to it may have been lost or resent to the promoted replica.
    this.options.redis.on('-node', this.connectionDropped);
    if (this.ackRedis !== this.options.redis) {
      this.ackRedis.on('close', this.connectionDropped);
      this.ackRedis.on('-node', this.connectionDropped);
    }
    this.options.events.emit(this.paused ? new QueuePaused(this.queue) : new QueueRunning(this.queue));
    this.pausedAnnounced = this.paused;
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
    this.wakeStopping?.();
    this.slotWaiter?.();
    this.resumeWaiter?.();
    this.limits.wakeUp();
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
    await withTimeout(this.outcomes.drainAcks(), deadline - Date.now() + 1000, undefined);
    // Everything still in in-progress now is a job that did not finish in time.
    // Bounded: with Redis away this would wait forever; the jobs then stay in in-progress
    // and this node (same id) or the heartbeat recovery of another puts them back.
    const moved = await withTimeout(this.scripts.requeueInProgress({ queue: this.queue, nodeId: this.options.nodeId }).catch(() => -1), 2000, -1);
    // Their slots, and those of jobs whose release had not landed, go back with them.
    if (moved >= 0) await withTimeout(this.limits.releaseHeld().catch(() => undefined), 2000, undefined);
    this.closed = true;
    this.sleeper.cancel();
    this.state = 'stopped';
    this.options.redis.off('close', this.connectionDropped);
    this.options.redis.off('-node', this.connectionDropped);
    this.ackRedis.off('close', this.connectionDropped);
    this.ackRedis.off('-node', this.connectionDropped);
    this.blockingId.detach();
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
    const { blocking, nodeId } = this.options;
    const { queue, scripts } = this;
    const blockSeconds = this.options.blockSeconds ?? 5;
    let failures = 0;
    while (this.state === 'running') {
      if (this.paused) {
        await new Promise<void>((resolve) => (this.resumeWaiter = resolve));
        this.resumeWaiter = undefined;
        continue;
      }
      const free = this.concurrency - this.heldCount;
      if (free <= 0) {
        await new Promise<void>((resolve) => (this.slotWaiter = resolve));
        this.slotWaiter = undefined;
        continue;
      }
      try {
        if (this.needsReconcile) await this.reconcile();
        const wakes = this.wakes;
        if (this.limits.limited) {
          const taken = await this.fetchLimited(Math.min(free, MAX_BATCH), wakes, blockSeconds);
          failures = 0;
          if (this.state !== 'running') break;
          for (const raw of taken) this.begin(raw);
          continue;
        }
        let jobs = await scripts.fetchJobs({ queue, nodeId, count: Math.min(free, MAX_BATCH) });
        if (jobs === null) {
          // Paused by another node; the announcement may still be on its way.
          this.pause();
          continue;
        }
        if (jobs.length === 0) {
          // A prioritized job arrived since the fetch began: fetch again rather than wait.
          if (this.wakes !== wakes) continue;
          // Nothing waiting: block in Redis until a job arrives, moving it atomically.
          // Raced with stop(): a BLMOVE that was in flight when the connection dropped waits
          // in ioredis to be resent, and disconnecting before the connection is ready again
          // never settles it (ioredis does not flush that queue). A job it still moves stays
          // in in-progress and stop() puts it back.
          this.blockingFetch = ++this.blockingFetches;
          const job = await Promise.race([blocking.blmove(this.queueKey, this.inProgressKey, 'RIGHT', 'LEFT', blockSeconds), this.stopping.then(() => null)]).finally(() => (this.blockingFetch = 0));
          if (job === null) continue;
          const mine = await scripts.confirmBlockedFetch({ queue, nodeId, raw: job });
          if (mine === 0) {
            this.pause();
            continue;
          }
          jobs = [job];
        }
        failures = 0;
        // Stopping: what was just fetched stays in in-progress and stop() puts it back.
        if (this.state !== 'running') break;
        for (const raw of jobs) this.begin(raw);
      } catch (error) {
        if (this.state !== 'running') break;
        this.warnings.warn(`Queue ${this.queue}: fetch failed (${(error as Error).message}); retrying`);
        await this.sleeper.sleep(backoffMs(failures++));
      }
    }
  }

  /**
   * One round of the limited fetch: the jobs taken, or none after waiting - until a known
   * reset, or for a slot (woken on the wake channel), or for a job to arrive (a BLMOVE
   * that moves nothing: the queue's list onto itself) - so a node over its limits does not
   * poll Redis. A wake-up, resume, new limits or stop cut any wait short.
   */
  private async fetchLimited(count: number, wakes: number, blockSeconds: number): Promise<string[]> {
    const reply = await this.limits.fetch(count);
    if (reply === null) {
      this.pause();
      return [];
    }
    if (reply.jobs.length > 0 || this.wakes !== wakes || this.state !== 'running') return reply.jobs;
    if (reply.wait !== 0) {
      await this.limits.wait(reply.wait > 0 ? reply.wait : blockSeconds * 1000);
      return [];
    }
    this.blockingFetch = ++this.blockingFetches;
    await Promise.race([this.options.blocking.blmove(this.queueKey, this.queueKey, 'RIGHT', 'RIGHT', blockSeconds), this.stopping]).finally(() => (this.blockingFetch = 0));
    return [];
  }


  /** Puts jobs that sit in our in-progress list but are not held here back in the queue. */
  private async reconcile(): Promise<void> {
    const heldJobs: string[] = [];
    for (const [raw, count] of this.held) for (let i = 0; i < count; i++) heldJobs.push(raw);
    // Cleared first: a drop during this call asks for another round.
    this.needsReconcile = false;
    let moved: number;
    try {
      moved = await this.scripts.reconcileInProgress({ queue: this.queue, nodeId: this.options.nodeId, held: heldJobs });
    } catch (error) {
      this.needsReconcile = true;
      throw error;
    }
    if (moved > 0) this.options.logger.warn(`Queue ${this.queue}: put back ${moved} job(s) fetched by a command that was resent after a dropped connection`);
    // The slots such a resent fetch took go back too; those of the jobs held here stay.
    await this.limits.releaseHeld(heldJobs);
  }

  private begin(raw: string): void {
    this.held.set(raw, (this.held.get(raw) ?? 0) + 1);
    this.heldCount++;
    this.executing++;
    void this.executeCounted(raw);
  }

  /** Runs a job and keeps the count shutdown waits on (no per-job closure on the hot path). */
  private async executeCounted(raw: string): Promise<void> {
    try {
      await this.runner.execute(raw);
    } catch (error) {
      // execute() handles every job failure itself; this is a bug guard, never a silent loss:
      // the job stays in in-progress and is put back by shutdown or recovery.
      this.options.logger.error(`Queue ${this.queue}: internal error running a job: ${(error as Error).message}`, (error as Error).stack);
    } finally {
      this.executing--;
      if (this.executing === 0) this.idleWaiter?.();
    }
  }

  private release(raw: string): void {
    const count = this.held.get(raw) ?? 0;
    if (count <= 1) this.held.delete(raw);
    else this.held.set(raw, count - 1);
    this.heldCount--;
    this.limits.released(raw);
    this.slotWaiter?.();
    this.announceIfPaused();
  }
}
