import { Injectable, type OnApplicationBootstrap, type OnApplicationShutdown, type OnModuleDestroy } from '@nestjs/common';
import { Observable } from 'rxjs';
import type { FoundJob, JobPage, JobSet, JobSource, ListOptions } from '../engine/admin/admin';
import type { BatchOptions, BatchResult, EnqueueJob } from '../engine/client/client';
import type { BatchStatus, CancelOptions, JobStatus } from '../engine/flow/flow-admin';
import type { VerkEvent } from '../engine/events';
import type { RecurringJob, RecurringOptions, RecurringPatch } from '../engine/recurring/recurring-definition';
import type { JobEvent, TaggedJobs, TrackedJobEvent } from '../engine/history/recorder';
import type { QueueDetails, QueueStatsOptions, StatsOptions, VerkStats } from '../engine/admin/stats';
import type { JobFilter, SearchOptions, SearchPage } from '../engine/admin/job-search';
import type { BulkResult, RetryAllResult } from '../engine/admin/bulk-actions';
import type { JobRef } from '../engine/admin/job-refs';
import type { BusyOptions, BusyPage } from '../engine/admin/busy';
import type { LocateOptions, LocateResult } from '../engine/admin/job-locator';
import type { QueueOverviewOptions, QueueOverviewPage } from '../engine/admin/queue-overview';
import type { QueueLimits, QueueLimitsState } from '../engine/limits/queue-limits';
import type { ClassMetricsQuery, ClassMetricsReport } from '../engine/class-metrics/class-metrics-reader';
import { VerkEngine } from '../engine/verk-engine';

/**
 * The application's handle on the job system: enqueue and schedule jobs, manage queues.
 * It also runs the engine inside Nest's lifecycle: the node starts once the application
 * has bootstrapped and stops gracefully when it closes (call `app.enableShutdownHooks()`
 * so SIGTERM closes it).
 *
 * Running jobs are drained in onModuleDestroy, not beforeApplicationShutdown: Nest runs
 * every module's onModuleDestroy before any beforeApplicationShutdown or
 * onApplicationShutdown, where database modules (TypeORM, Mongoose) close their pools;
 * draining later would let running jobs find those closed. The enqueue connection stays
 * open until onApplicationShutdown, after the HTTP server has stopped taking requests.
 */
@Injectable()
export class VerkService implements OnApplicationBootstrap, OnModuleDestroy, OnApplicationShutdown {
  /**
   * Every event of this node: JobStarted, JobFinished, JobFailed, QueueRunning,
   * QueuePausing, QueuePaused. Delivered off the job's path.
   */
  readonly events$: Observable<VerkEvent>;

  constructor(private readonly engine: VerkEngine) {
    this.events$ = new Observable<VerkEvent>((subscriber) => engine.events.subscribe((event) => subscriber.next(event)));
  }

  /** This node's id. */
  get nodeId(): string {
    return this.engine.nodeId;
  }

  /** The queues this node runs, with their concurrency. */
  queues(): Record<string, number> {
    return this.engine.queues();
  }

  /** Adds a job to the end of its queue; returns its jid. Throws VerkValidationError on bad input, writing nothing. */
  enqueue(job: EnqueueJob): Promise<string> {
    return this.engine.client.enqueue(job);
  }

  /** Adds many jobs in one atomic round trip; returns their jids in order. */
  enqueueMany(jobs: EnqueueJob[]): Promise<string[]> {
    return this.engine.client.enqueueMany(jobs);
  }

  /** Runs a job at `at` (a Date or epoch milliseconds); a past time enqueues it now. Returns its jid. */
  schedule(job: EnqueueJob, at: Date | number): Promise<string> {
    return this.engine.client.schedule(job, at);
  }

  /** Starts processing a queue on this node at runtime. */
  addQueue(name: string, concurrency: number): Promise<void> {
    return this.engine.addQueue(name, concurrency);
  }

  /** Stops processing a queue on this node; running jobs finish, waiting jobs stay in Redis. */
  removeQueue(name: string): Promise<void> {
    return this.engine.removeQueue(name);
  }

  /** Stops fetching from a queue on every node (stored in Redis, survives restarts); running jobs finish. */
  pauseQueue(name: string): Promise<void> {
    return this.engine.pauseQueue(name);
  }

  /** Lets every node fetch from a paused queue again. */
  resumeQueue(name: string): Promise<void> {
    return this.engine.resumeQueue(name);
  }

  /** Enqueues up to `count` of the oldest dead jobs again, each into its queue; returns how many (both brokers). */
  retryDead(count: number): Promise<number> {
    return this.engine.retryDead(count);
  }

  /** Removes every dead job; returns how many (both brokers). */
  clearDead(): Promise<number> {
    return this.engine.clearDead();
  }

  /**
   * Replaces a queue's limits on every node at once (docs/limits.md): `rateLimit`,
   * `globalConcurrency`, `groups`; absent ones are lifted.
   */
  setQueueLimits(name: string, limits: QueueLimits): Promise<void> {
    return this.engine.setQueueLimits(name, limits);
  }

  /** A queue's limits and their state (running jobs, pause, waiting groups). */
  queueLimits(name: string): Promise<QueueLimitsState> {
    return this.engine.queueLimits(name);
  }

  /** Whether a queue is paused. */
  isQueuePaused(name: string): Promise<boolean> {
    return this.engine.isPaused(name);
  }

  /**
   * Processed/failed counters (total, per day, per queue), the size of every queue, of
   * in-progress, `schedule`, `retry` and `dead`, and the live nodes. `days`: how many
   * days of daily counters, today included (default 1).
   */
  stats(options?: StatsOptions): Promise<VerkStats> {
    return this.engine.admin.stats(options);
  }

  /**
   * The same numbers for one queue, with its run-time and wait-time histograms of one UTC
   * day (`date`: a Date or 'YYYY-MM-DD', default today): count, mean, min, max, std and
   * every bucket, in ms.
   */
  queueStats(name: string, options?: QueueStatsOptions): Promise<QueueDetails> {
    return this.engine.admin.queueStats(name, options);
  }

  /**
   * Per job class over the last `minutes` minutes (1 to 480, default 60), every node
   * together (recorded with option `histograms: true`): executions, failures, run and wait
   * times (mean and estimated p50/p95/p99, ms) sorted by total run time, a per-minute
   * series, and with `className` that class's run and wait histograms. See
   * docs/histograms.md.
   *
   * ```ts
   * const { classes } = await verk.classMetrics({ minutes: 60 });
   * for (const row of classes) console.log(row.class, row.processed, row.failed, row.runMs.p95);
   * ```
   */
  classMetrics(options?: ClassMetricsQuery): Promise<ClassMetricsReport> {
    return this.engine.admin.classMetrics(options);
  }

  /** A page of `retry`, `schedule`, `dead` (by time) or of a queue's waiting jobs (next to run first), with the total. */
  listJobs(where: JobSource, options?: ListOptions): Promise<JobPage> {
    return this.engine.admin.listJobs(where, options);
  }

  /** Where a job is now (schedule, a queue, in progress on a node, retry, dead) with its payload; null if nowhere. */
  findJob(jid: string): Promise<FoundJob | null> {
    return this.engine.admin.findJob(jid);
  }

  /** Enqueues a job of `retry`, `dead` or `schedule` now. False when it was not (or no longer) there. */
  retryNow(jid: string, from: JobSet): Promise<boolean> {
    return this.engine.admin.retryNow(jid, from);
  }

  /**
   * Deletes a job from a set or a queue. False when it was not there. Refused
   * (VerkFlowError) when jobs depend on it, unless `{ cascade: true }` (which deletes them
   * too), and for a job a batch still waits for.
   */
  deleteJob(jid: string, from: JobSource, options: { cascade?: boolean } = {}): Promise<boolean> {
    return this.engine.flow.cancel(jid, { cascade: options.cascade, from });
  }

  /**
   * Enqueues jobs as one batch: `onComplete` is enqueued exactly once when all of them
   * have finished (succeeded or died), with `{ bid, total, succeeded, dead }` appended to
   * its args. All or nothing.
   */
  batch(jobs: EnqueueJob[], options: BatchOptions): Promise<BatchResult> {
    return this.engine.client.batch(jobs, options);
  }

  /** A batch's counters while it runs (and for flowRetention after); null when unknown. */
  batchStatus(bid: string): Promise<BatchStatus | null> {
    return this.engine.flow.batchStatus(bid);
  }

  /** Where a job stands (blocked, scheduled, waiting, running, retry, dead, finished), what it waits for and what waits for it. */
  job(jid: string): Promise<JobStatus> {
    return this.engine.flow.job(jid);
  }

  /**
   * Removes a job wherever it is (waiting for dependencies, in its queue, scheduled, in
   * retry or dead, or running: then its worker sees `currentJob().canceled` and its
   * outcome is ignored). Refused when jobs depend on it unless `{ cascade: true }`, and
   * when a batch still waits for it. False when not found.
   */
  cancel(jid: string, options?: Omit<CancelOptions, 'from'>): Promise<boolean> {
    return this.engine.flow.cancel(jid, options);
  }

  /**
   * Moves a job to another queue, wherever it is: a waiting job goes to the end of the new
   * queue; scheduled, retry and dead jobs keep their time; a job waiting for dependencies
   * is enqueued into the new queue when released; a running job is taken from its worker
   * (`currentJob().movedTo`; its outcome is ignored) and runs again in the new queue.
   * False when not found.
   */
  move(jid: string, queue: string): Promise<boolean> {
    return this.engine.control.move(jid, queue);
  }

  /**
   * Changes the priority of a waiting job (-1000 to 1000, 0 = plain); it goes to the end
   * of its new priority. `queue` limits the search to one queue (else every queue is
   * scanned). False when no waiting job has that jid (a running job cannot be changed).
   */
  setPriority(jid: string, priority: number, queue?: string): Promise<boolean> {
    return this.engine.admin.setPriority(jid, priority, queue);
  }

  /** Removes every job of a set or a queue; returns how many. */
  clear(where: JobSource): Promise<number> {
    return this.engine.admin.clear(where);
  }

  /**
   * One step of a filtered search of `retry`, `schedule`, `dead` or a queue's waiting jobs
   * (by class, queue, text): reads at most `scanLimit` jobs (default 5000), returns the
   * matches and `nextCursor` to continue (null at the end).
   */
  searchJobs(where: JobSource, filter: JobFilter, options?: SearchOptions): Promise<SearchPage> {
    return this.engine.browse.search(where, filter, options);
  }

  /** A job of `retry`, `schedule` or `dead` by its jid and score (`at`, as listed): one exact read. Null when not there. */
  findJobAt(set: JobSet, jid: string, at: number): Promise<FoundJob | null> {
    return this.engine.browse.findAt(set, jid, at);
  }

  /**
   * One bounded step of finding a job by jid (engine.browse.locate): where it was seen
   * (`hint`) and its history first, then a search of at most `scanLimit` stored jobs
   * (default 50,000); continue with `nextCursor` (null: found, or searched everywhere).
   */
  locateJob(jid: string, options?: LocateOptions): Promise<LocateResult> {
    return this.engine.browse.locate(jid, options);
  }

  /** A page of nodes (alive or not, heartbeat age) and their running jobs; continue with `nextCursor`. */
  busy(options?: BusyOptions): Promise<BusyPage> {
    return this.engine.browse.busy(options);
  }

  /** A page of queues: waiting (plain + prioritized + grouped), latency, running, processed/failed, paused. */
  queuesOverview(options?: QueueOverviewOptions): Promise<QueueOverviewPage> {
    return this.engine.browse.queues(options);
  }

  /** Enqueues the selected jobs of a set now, each into its queue (`{ jid, at }` as listed, or a jid). */
  retryJobs(from: JobSet, jobs: readonly JobRef[]): Promise<BulkResult> {
    return this.engine.bulk.retry(from, jobs);
  }

  /** Deletes the selected jobs of a set, as clear() does (dependents of a dependable job go to dead). */
  deleteJobs(from: JobSet, jobs: readonly JobRef[]): Promise<BulkResult> {
    return this.engine.bulk.delete(from, jobs);
  }

  /** Moves the selected jobs of `retry` or `schedule` to `dead` now (Sidekiq's Kill). */
  killJobs(from: 'retry' | 'schedule', jobs: readonly JobRef[]): Promise<BulkResult> {
    return this.engine.bulk.kill(from, jobs);
  }

  /** Enqueues every job of a set now, 1,000 per script call; returns how many, and how many could not be. */
  retryAll(from: JobSet): Promise<RetryAllResult> {
    return this.engine.bulk.retryAll(from);
  }

  /**
   * Creates a recurring job, or replaces the one with that name: `every` ms (with an
   * optional `offset`) or a `cron` expression (in `timezone`). Returns it with its next run.
   * Each tick is enqueued once across all nodes. Throws VerkValidationError naming the field.
   */
  recur(name: string, options: RecurringOptions): Promise<RecurringJob> {
    return this.engine.recurring.recur(name, options);
  }

  /** Every recurring job with its next run (`nextRunAt`, null once ended). */
  listRecurring(): Promise<RecurringJob[]> {
    return this.engine.recurring.listRecurring();
  }

  /** One recurring job with its next run, or null. */
  getRecurring(name: string): Promise<RecurringJob | null> {
    return this.engine.recurring.getRecurring(name);
  }

  /** Changes a recurring job's interval, expression, args, limits...; null when there is none by that name. */
  updateRecurring(name: string, patch: RecurringPatch): Promise<RecurringJob | null> {
    return this.engine.recurring.updateRecurring(name, patch);
  }

  /** Removes a recurring job (jobs already enqueued stay); false when there was none. */
  removeRecurring(name: string): Promise<boolean> {
    return this.engine.recurring.removeRecurring(name);
  }

  /** A job's recorded events, oldest first ([] when its queue keeps no history or it was trimmed). */
  history(jid: string): Promise<JobEvent[]> {
    return this.engine.recorder.history(jid);
  }

  /** Adds tags to a job's index entries (the stored payload keeps its enqueue-time tags). */
  tag(jid: string, ...tags: string[]): Promise<void> {
    return this.engine.recorder.tag(jid, ...tags);
  }

  /** Removes tags from a job; returns how many it had. */
  untag(jid: string, ...tags: string[]): Promise<number> {
    return this.engine.recorder.untag(jid, ...tags);
  }

  /** jids carrying a tag, most recently tagged first, with the total. */
  jobsByTag(tag: string, options?: { offset?: number; limit?: number }): Promise<TaggedJobs> {
    return this.engine.recorder.jobsByTag(tag, options);
  }

  /** Publishes every later event of the job on `verk:track` (see `subscribe`). */
  track(jid: string): Promise<void> {
    return this.engine.recorder.track(jid);
  }

  /** Stops publishing a job's events; false when it was not tracked. */
  untrack(jid: string): Promise<boolean> {
    return this.engine.recorder.untrack(jid);
  }

  /**
   * Events of every tracked job, from every node, as they happen (Redis pub/sub: events
   * published while nobody listens, or during a reconnect, are not replayed).
   */
  subscribe(): Observable<TrackedJobEvent> {
    return new Observable<TrackedJobEvent>((subscriber) => this.engine.subscribe((event) => subscriber.next(event)));
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.engine.start();
  }

  /** Stops fetching, lets running jobs finish (up to shutdownTimeout), puts the rest back. */
  async onModuleDestroy(): Promise<void> {
    await this.engine.stop({ keepClient: true });
  }

  /** Closes the last connection once nothing can enqueue any more. */
  async onApplicationShutdown(): Promise<void> {
    await this.engine.stop();
  }
}
