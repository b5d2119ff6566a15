import { UnknownWorkerError, VerkRateLimitError } from '../errors';
import { failJob, invalidJob } from '../core/failure';
import { isFlowJob } from '../flow/flow';
import { type JobPayload, parsePayload } from '../core/job';
import { waitOf } from '../core/histogram';
import type { OutcomeWriter } from './outcome-writer';
import type { Interruption, JobRun } from '../core/middleware';
import type { JobEvent } from '../history/recorder';
import { JobFailed, JobFinished, JobStarted } from '../events';
import type { WorkerHandler } from '../core/worker-registry';
import type { QueueManagerOptions } from './queue-manager-options';

/**
 * Runs the jobs a queue manager fetched: the worker inside the middleware (and a tracing
 * span), the started/finished/failed events, metrics and history, then hands the outcome
 * to the OutcomeWriter. Keeps the runs going on now, so a cancel or move can mark them.
 */
export class JobRunner {
  private readonly queue: string;
  /** The runs going on now, by jid: what a cancel or move message can mark (see interrupt). */
  private readonly runs = new Map<string, JobRun[]>();

  constructor(
    private readonly options: QueueManagerOptions,
    private readonly outcomes: OutcomeWriter,
    private readonly clock: () => number,
  ) {
    this.queue = options.queue;
  }

  /**
   * A job running here was cancelled or moved (its outcome will find nothing to update):
   * marks the runs of that jid going on now, so their worker can see it. Returns false
   * when none is: the message came after its run ended, and a later run of the same jid
   * must not be taken for the one it meant.
   */
  interrupt(jid: string, interruption: Interruption): boolean {
    const runs = this.runs.get(jid);
    if (!runs) return false;
    for (const run of runs) run.interruption = interruption;
    return true;
  }

  private beginRun(jid: string): JobRun {
    const run: JobRun = {};
    const runs = this.runs.get(jid);
    if (runs) runs.push(run);
    else this.runs.set(jid, [run]);
    return run;
  }

  private endRun(jid: string, run: JobRun): void {
    const runs = this.runs.get(jid);
    if (!runs) return;
    const index = runs.indexOf(run);
    if (index >= 0) runs.splice(index, 1);
    if (runs.length === 0) this.runs.delete(jid);
  }

  /** Runs one fetched job to its written (or queued) outcome; never throws for a job's failure. */
  async execute(raw: string): Promise<void> {
    const parsed = parsePayload(raw, this.queue);
    if (!parsed.ok) {
      const outcome = invalidJob(raw, this.queue, parsed.reason, parsed.partial);
      this.options.logger.error(`Queue ${this.queue}: ${outcome.payload.error_message}; moved to dead`);
      await this.outcomes.writeFailure(raw, outcome);
      return;
    }
    const job = parsed.payload;
    const run = this.beginRun(job.jid);
    try {
      await this.runJob(raw, job, run);
    } finally {
      // The run is over once its outcome is written or queued: a cancel or move arriving
      // later finds nothing to mark.
      this.endRun(job.jid, run);
    }
  }

  private async runJob(raw: string, job: JobPayload, run: JobRun): Promise<void> {
    const worker = this.options.workers.get(job.class);
    const { events } = this.options;
    const started = this.clock();
    const metrics = this.options.metrics;
    metrics?.started(job.enqueued_at, started);
    const recorder = this.options.recorder?.wants(this.queue) ? this.options.recorder : undefined;
    recorder?.record([{ jid: job.jid, event: 'started', at: started, node: this.options.nodeId, queue: this.queue }]);
    if (events.active) events.emit(new JobStarted(job, this.queue, new Date(started)));
    const tracing = this.options.tracing;
    try {
      // Off: one check, no closure.
      if (tracing === undefined) await this.perform(worker, job, run);
      else await tracing.process(job, this.queue, this.options.nodeId, () => this.perform(worker, job, run));
    } catch (error) {
      // A 429 from the remote side: back to the head of the queue, which pauses; not a failure.
      if (error instanceof VerkRateLimitError) return this.outcomes.writeRateLimited(raw, job.jid, error);
      const durationMs = this.clock() - started;
      metrics?.performed(job.class, durationMs, false);
      const outcome = failJob(job, error, {
        maxRetryCount: this.options.maxRetryCount,
        retryAt: worker?.retryAt,
        onBadRetryAt: (value) => this.options.logger.warn(`Worker ${job.class}: retryAt returned ${String(value)}, using the default backoff`),
      });
      if (events.active) {
        const retryAt = outcome.target === 'retry' ? new Date(outcome.score * 1000) : undefined;
        events.emit(new JobFailed(outcome.payload, this.queue, error, outcome.payload.error_backtrace ?? '', new Date(), durationMs, retryAt));
      }
      // Off: undefined, and `?.` evaluates none of the arguments.
      this.options.classMetrics?.record(job.class, started + durationMs, durationMs, waitOf(job.enqueued_at, started), true);
      await this.outcomes.writeFailure(raw, outcome, durationMs, this.outcomes.histogramOf(durationMs, job, started));
      return;
    }
    const finished = this.clock();
    metrics?.performed(job.class, finished - started, true);
    this.options.classMetrics?.record(job.class, finished, finished - started, waitOf(job.enqueued_at, started), false);
    if (events.active) events.emit(new JobFinished(job, this.queue, new Date(started), new Date(finished), finished - started));
    // Not when it was cancelled or moved while running (its outcome is ignored; that event is recorded by the cancel/move).
    const event: JobEvent | undefined = recorder && run.interruption === undefined ? { jid: job.jid, event: 'finished', at: finished, node: this.options.nodeId, queue: this.queue, durationMs: finished - started } : undefined;
    if (isFlowJob(job)) await this.outcomes.writeFlowCompletion(raw, job, event, this.outcomes.histogramOf(finished - started, job, started));
    else this.outcomes.acknowledge(raw, event, finished - started, waitOf(job.enqueued_at, started));
  }

  /** The worker's perform inside the middleware; an unknown class is a failure like any other. */
  private perform(worker: WorkerHandler | undefined, job: JobPayload, run: JobRun): unknown {
    if (!worker) {
      throw new UnknownWorkerError(`No worker for job class "${job.class}" on node ${this.options.nodeId} (known: ${this.options.workers.names().join(', ') || 'none'})`);
    }
    return this.options.middleware.perform(worker, job, this.queue, this.options.nodeId, run);
  }
}
