import { Inject, Injectable, Logger } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { type BatchOptions, type BatchResult, type EnqueueJob, scheduleTime, validateBatch, validateJob, validateJobs } from '../../engine/client/client';
import { failJob } from '../../engine/core/failure';
import { type JobPayload, nowSeconds } from '../../engine/core/job';
import { MiddlewareStack } from '../../engine/core/middleware';
import { WorkerRegistry } from '../../engine/core/worker-registry';
import { EventBus, JobFailed, JobFinished, JobStarted } from '../../engine/events';
import { validateRecurring, type RecurringOptions } from '../../engine/recurring/recurring-definition';
import { VerkExplorer, type VerkWorkerHost } from '../verk.explorer';
import { workerName } from '../worker-name';
import { FakeJobStore } from './fake-job-store';
import { type ResolvedTestingOptions, VERK_TESTING_OPTIONS } from './verk-testing-options';

/** One run of a job by VerkTesting (or by an inline enqueue). */
export interface TestingJobRun {
  jid: string;
  class: string;
  queue: string;
  args: unknown[];
  /** `done`, or where the failed job went: `retry` or `dead`. */
  outcome: 'done' | 'retry' | 'dead';
  /** What the job threw, when it failed. */
  error?: unknown;
}

/**
 * The in-memory stand-in for the engine under VerkModule.forTesting(): the worker
 * registry, middleware and events VerkExplorer fills (VerkWorkerHost), the enqueue calls
 * (built and validated by the engine client's own functions, then written to a
 * FakeJobStore), and the run of one job through the real worker and middleware. Opens no
 * connection.
 */
@Injectable()
export class FakeVerk implements VerkWorkerHost {
  readonly nodeId = 'testing';
  readonly workers = new WorkerRegistry();
  readonly middleware = new MiddlewareStack();
  readonly events = new EventBus(new Logger('Verk'));
  readonly store = new FakeJobStore();
  readonly paused = new Set<string>();
  /** Checks `@Worker({ cron | every })` as the engine does; nothing is scheduled in tests. */
  readonly recurring = {
    declare: (name: string, options: RecurringOptions): void => {
      validateRecurring(name, options, workerName);
    },
  };

  constructor(
    @Inject(VERK_TESTING_OPTIONS) readonly options: ResolvedTestingOptions,
    private readonly moduleRef: ModuleRef,
  ) {}

  /**
   * Workers and middleware discovered before the first write or run, even when the test
   * only compile()d its module and never called init() (discovery runs once either way).
   */
  private discovered(): Promise<void> {
    return this.moduleRef.get(VerkExplorer, { strict: true }).onModuleInit();
  }

  async enqueue(job: EnqueueJob): Promise<string> {
    return this.writeOne(validateJob(job, 'job', workerName, nowSeconds()), Date.now());
  }

  async enqueueMany(jobs: EnqueueJob[]): Promise<string[]> {
    const payloads = validateJobs(jobs, workerName, nowSeconds());
    if (payloads.length === 0) return [];
    return this.write(payloads, payloads.map((_, index) => `jobs[${index}]`), Date.now());
  }

  /** A time that has passed enqueues now, as the real client does; inline mode runs every job now. */
  async schedule(job: EnqueueJob, at: Date | number): Promise<string> {
    const ms = scheduleTime(at);
    const payload = validateJob(job, 'job', workerName, nowSeconds());
    return this.writeOne(payload, this.options.mode === 'inline' ? Date.now() : ms);
  }

  async batch(jobs: EnqueueJob[], options: BatchOptions): Promise<BatchResult> {
    const { bid, payloads, callback } = validateBatch(jobs, options, workerName, nowSeconds());
    await this.discovered();
    await this.middleware.prepare(payloads);
    await this.middleware.prepare([callback], () => 'options.onComplete');
    const fields = payloads.map((_, index) => `jobs[${index}]`);
    const jids = this.store.write(payloads, fields, Date.now(), { bid, callback });
    await this.afterWrite(jids);
    return { bid, jids, callbackJid: callback.jid };
  }

  private async writeOne(payload: JobPayload, atMs: number): Promise<string> {
    return (await this.write([payload], ['job'], atMs))[0];
  }

  /** Client middleware (which may refuse: nothing stored), then the store, then (inline) the runs. */
  private async write(payloads: JobPayload[], fields: string[], atMs: number): Promise<string[]> {
    await this.discovered();
    await this.middleware.prepare(payloads, (index) => fields[index]);
    const jids = this.store.write(payloads, fields, atMs);
    await this.afterWrite(jids);
    return jids;
  }

  /**
   * Inline mode: runs the jobs just written, and what their outcomes release (dependents,
   * a batch callback), each at once; throws the first job's error after all ran. A job
   * that enqueues another runs it inside its own run, as Sidekiq's inline mode does.
   */
  private async afterWrite(jids: string[]): Promise<void> {
    if (this.options.mode !== 'inline') return;
    const pending = [...jids];
    let firstError: { error: unknown } | undefined;
    while (pending.length > 0) {
      const job = this.store.takeJid(pending.shift() as string);
      // Not there: a unique duplicate (the holder runs elsewhere), or it waits for a dependency.
      if (!job) continue;
      const { run, released } = await this.run(job, true);
      if (run.outcome !== 'done' && !firstError) firstError = { error: run.error };
      pending.push(...released);
    }
    if (firstError) throw firstError.error;
  }

  /**
   * Runs one job taken from the store through its worker and the real middleware, and
   * stores its outcome: done (dependents released, lock freed, batch counted), or the
   * real failure fields and retry/dead decision (inline mode: dead, no retries).
   */
  async run(job: JobPayload, inline = false): Promise<{ run: TestingJobRun; released: string[] }> {
    await this.discovered();
    const { queue } = job;
    const started = Date.now();
    if (this.events.active) this.events.emit(new JobStarted(job, queue, new Date(started)));
    const worker = this.workers.get(job.class);
    const base = { jid: job.jid, class: job.class, queue, args: job.args };
    try {
      if (!worker) throw this.workers.unknown(job.class, this.nodeId);
      await this.middleware.perform(worker, job, queue, this.nodeId);
    } catch (error) {
      const durationMs = Date.now() - started;
      let outcome = failJob(job, error, { maxRetryCount: this.options.maxRetryCount, retryAt: worker?.retryAt });
      if (inline) outcome = { ...outcome, target: 'dead', score: nowSeconds() };
      const released = this.store.fail(outcome);
      if (this.events.active) {
        const retryAt = outcome.target === 'retry' ? new Date(outcome.score * 1000) : undefined;
        this.events.emit(new JobFailed(outcome.payload, queue, error, outcome.payload.error_backtrace ?? '', new Date(), durationMs, retryAt));
      }
      return { run: { ...base, outcome: outcome.target, error }, released };
    }
    const released = this.store.complete(job);
    const finished = Date.now();
    if (this.events.active) this.events.emit(new JobFinished(job, queue, new Date(started), new Date(finished), finished - started));
    return { run: { ...base, outcome: 'done' }, released };
  }
}
