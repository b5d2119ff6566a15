import { type FailureOutcome, outcomeText } from '../core/failure';
import { isFlowJob } from '../flow/flow';
import { completeFlowJob, type FlowAckContext, failFlowJob } from '../flow/flow-completion';
import { type JobPayload, nowSeconds } from '../core/job';
import { DurationSums, type HistogramWrite, singleJobWrite, waitOf } from '../core/histogram';
import type { VerkScripts } from '../redis/verk-scripts';
import type { RateLimitedLog } from '../logger';
import type { JobEvent, JobRecorder } from '../history/recorder';
import { backoffMs, type Sleeper } from '../core/timing';
import type { QueueMetrics } from '../metrics/queue-metrics';
import { type VerkRateLimitError, VerkRedisError } from '../errors';
import type Redis from 'ioredis';
import type { Durability } from '../redis/durability';

/** Most jobs acknowledged by one script call (Lua's unpack limit is ~8000). */
export const MAX_ACK_BATCH = 1000;

export interface OutcomeWriterOptions {
  queue: string;
  nodeId: string;
  scripts: VerkScripts;
  flowAck: FlowAckContext;
  maxDeadJobs: number;
  /** Option `durability`: each acknowledgement waits for WAIT on `ackRedis`; absent when off. */
  durability?: Durability;
  /** The connection acknowledgements are written on (the one `scripts` uses). */
  ackRedis: Redis;
  /** Run/wait histograms per day, written with each acknowledgement; absent: off. */
  histogramRetention?: number;
  recorder?: JobRecorder;
  metrics?: QueueMetrics;
  warnings: RateLimitedLog;
  /** Shared with the queue manager, so its stop() cuts the retry waits short. */
  sleeper: Sleeper;
  /** True once the connections are going away: retries of writes stop. */
  closed: () => boolean;
  /** A job's outcome has landed (or the writer gave up on closing): the manager lets go of it. */
  release: (raw: string) => void;
  /** The script that wrote the outcome gave the job's limit slot back itself (rateLimitedJob). */
  slotGivenBack: (raw: string) => void;
  /** A VerkRateLimitError was written: the queue now has a limits hash. */
  onRateLimited: () => void;
  /** An acknowledgement put jobs in `schedule` to run now (dependents, batch callbacks). */
  onScheduledNow: () => void;
}

/**
 * Writes the outcome of each job a queue manager ran: finished jobs in batched
 * acknowledgements (one script call for all the jobs finishing together), failures and
 * flow-control jobs one by one, each with its histograms, retried until it lands. A job
 * stays in in-progress, and held by the manager, until its write has landed.
 */
export class OutcomeWriter {
  private pendingAcks: string[] = [];
  /** With histograms on: run and wait ms of each job of pendingAcks, two per job (wait NaN: unknown). */
  private pendingTimes: number[] = [];
  /** `finished` events of jobs waiting in pendingAcks, recorded once their acknowledgement landed. */
  private readonly ackEvents = new Map<string, JobEvent>();
  private flushing?: Promise<void>;

  constructor(private readonly options: OutcomeWriterOptions) {}

  /**
   * Option `durability`: waits until the acknowledgement just written is on the replicas.
   * When they do not confirm in time it is only logged: the write is done on the master and
   * cannot be undone; a failover that loses it runs the job again (never loses it).
   */
  private async confirmDurable(): Promise<void> {
    const { durability, ackRedis, queue, warnings } = this.options;
    if (!durability) return;
    try {
      await durability.confirm(ackRedis, `An acknowledgement in queue ${queue}`);
    } catch (error) {
      // The durability error says it all; another (the connection dropped during WAIT) gets the context.
      const message = (error as Error).message;
      warnings.warn(error instanceof VerkRedisError ? message : `Queue ${queue}: could not confirm an acknowledgement on the replicas (option durability): ${message}`);
    }
  }

  /** With histograms on, the histogram write of a job acknowledged alone (a failure, a flow-control job). */
  histogramOf(runMs: number, job: JobPayload, started: number): HistogramWrite | undefined {
    const retention = this.options.histogramRetention;
    if (retention === undefined) return undefined;
    return singleJobWrite(runMs, waitOf(job.enqueued_at, started), retention);
  }

  /** Acknowledges a flow-control job on its own (dependents, lock, batch); repeated until it lands. */
  async writeFlowCompletion(raw: string, job: JobPayload, event?: JobEvent, histograms?: HistogramWrite): Promise<void> {
    const { options } = this;
    for (let attempt = 0; !options.closed(); attempt++) {
      try {
        const released = await completeFlowJob(options.flowAck, raw, job, histograms);
        if (options.durability) await this.confirmDurable();
        if (event && released >= 0) options.recorder?.record([event]);
        if (released > 0) options.onScheduledNow();
        break;
      } catch (error) {
        options.warnings.warn(`Queue ${options.queue}: could not acknowledge job ${job.jid} (${(error as Error).message}); retrying`);
        await options.sleeper.sleep(backoffMs(attempt));
      }
    }
    options.release(raw);
  }

  /** Moves a failed job to retry or dead; repeated until it lands (the job stays in in-progress meanwhile). */
  async writeFailure(raw: string, outcome: FailureOutcome, durationMs?: number, histograms?: HistogramWrite): Promise<void> {
    const { options } = this;
    const { maxDeadJobs, nodeId, queue } = options;
    for (let attempt = 0; !options.closed(); attempt++) {
      try {
        if (isFlowJob(outcome.payload)) {
          const released = await failFlowJob(options.flowAck, raw, outcome, maxDeadJobs, histograms);
          if (options.durability) await this.confirmDurable();
          if (released >= 0) this.recordFailure(outcome, durationMs);
          if (released > 0) options.onScheduledNow();
          break;
        }
        const payload = outcomeText(raw, outcome);
        const moved = await options.scripts.failJob({ queue, nodeId, target: outcome.target, raw, payload, score: outcome.score, maxDeadJobs, now: nowSeconds(), histograms });
        if (options.durability) await this.confirmDurable();
        // 2: `retry` refused it (a key of the wrong type), it went to dead instead.
        if (moved >= 1) this.recordFailure(moved === 2 ? { ...outcome, target: 'dead' } : outcome, durationMs);
        break;
      } catch (error) {
        options.warnings.warn(`Queue ${queue}: could not record failure of job ${outcome.payload.jid} (${(error as Error).message}); retrying`);
        await options.sleeper.sleep(backoffMs(attempt));
      }
    }
    options.release(raw);
  }

  /**
   * A VerkRateLimitError: the job goes back to the head of its queue (or group), which
   * pauses on every node; repeated until it lands (the job stays in in-progress meanwhile).
   */
  async writeRateLimited(raw: string, jid: string, error: VerkRateLimitError): Promise<void> {
    const { options } = this;
    const { nodeId, queue } = options;
    for (let attempt = 0; !options.closed(); attempt++) {
      try {
        // This node fetches with the limits (and so obeys the pause) from now on: a fetch it
        // sends after the script sees the pause.
        options.onRateLimited();
        await options.scripts.rateLimitedJob({ queue, nodeId, raw, ms: error.retryAfterMs, group: error.group });
        if (options.durability) await this.confirmDurable();
        options.slotGivenBack(raw);
        break;
      } catch (failure) {
        options.warnings.warn(`Queue ${queue}: could not put back rate-limited job ${jid} (${(failure as Error).message}); retrying`);
        await options.sleeper.sleep(backoffMs(attempt));
      }
    }
    options.release(raw);
  }

  /** A failure's event (`failed` with the retry time, or `dead`), once it landed. */
  private recordFailure(outcome: FailureOutcome, durationMs?: number): void {
    const { recorder, nodeId, queue } = this.options;
    this.options.metrics?.failed(outcome.payload.class, outcome.target);
    if (!recorder?.wants(queue)) return;
    const job = outcome.payload;
    const event: JobEvent = {
      jid: job.jid,
      event: outcome.target === 'retry' ? 'failed' : 'dead',
      at: Date.now(),
      node: nodeId,
      queue,
      error: { class: String(job.error_class ?? 'Error'), message: String(job.error_message ?? '') },
      retryCount: job.retry_count,
    };
    if (outcome.target === 'retry') event.runAt = Math.round(outcome.score * 1000);
    if (durationMs !== undefined) event.durationMs = durationMs;
    recorder.record([event]);
  }

  /** Queues a finished job for the next batched acknowledgement, with its run and wait times (ms). */
  acknowledge(raw: string, event: JobEvent | undefined, runMs: number, waitMs: number | undefined): void {
    if (event) this.ackEvents.set(raw, event);
    this.pendingAcks.push(raw);
    if (this.options.histogramRetention !== undefined) this.pendingTimes.push(runMs, waitMs ?? NaN);
    if (!this.flushing) this.flushing = this.flushAcks();
  }

  /** Resolves when every acknowledgement queued so far has been written (or the writer closed). */
  async drainAcks(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  private async flushAcks(): Promise<void> {
    // Let the jobs finishing in this tick join the batch.
    await new Promise<void>((resolve) => setImmediate(resolve));
    const { options } = this;
    const { nodeId, queue } = options;
    let attempt = 0;
    while (this.pendingAcks.length > 0 && !options.closed()) {
      const batch = this.pendingAcks.splice(0, MAX_ACK_BATCH);
      const times = this.pendingTimes.splice(0, 2 * batch.length);
      try {
        await options.scripts.finishJobs({ queue, nodeId, jobs: batch, histograms: this.batchHistograms(times) });
        if (options.durability) await this.confirmDurable();
        attempt = 0;
        if (this.ackEvents.size > 0) this.recordAcks(batch);
        for (const raw of batch) options.release(raw);
      } catch (error) {
        this.pendingAcks.unshift(...batch);
        this.pendingTimes.unshift(...times);
        options.warnings.warn(`Queue ${queue}: could not acknowledge ${batch.length} finished job(s) (${(error as Error).message}); retrying`);
        await options.sleeper.sleep(backoffMs(attempt++));
      }
    }
    // Synchronously with the loop's last check, so an acknowledgement queued after it starts a new flush.
    this.flushing = undefined;
  }

  /** The run and wait times of a batch (pendingTimes' pairs), summed for its acknowledgement. */
  private batchHistograms(times: number[]): HistogramWrite | undefined {
    const retention = this.options.histogramRetention;
    if (retention === undefined) return undefined;
    const run = new DurationSums();
    const wait = new DurationSums();
    for (let i = 0; i < times.length; i += 2) {
      run.add(times[i]);
      if (!Number.isNaN(times[i + 1])) wait.add(times[i + 1]);
    }
    return { run: run.encode(), wait: wait.encode(), retentionDays: retention };
  }

  private recordAcks(batch: string[]): void {
    const events: JobEvent[] = [];
    for (const raw of batch) {
      const event = this.ackEvents.get(raw);
      if (!event) continue;
      events.push(event);
      this.ackEvents.delete(raw);
    }
    this.options.recorder?.record(events);
  }
}
