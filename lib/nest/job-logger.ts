import type { Logger } from '@nestjs/common';
import { VerkConfigError } from '../engine/errors';
import type { FailureOutcome } from '../engine/failure';
import type { JobPayload } from '../engine/job';
import type { JobObserver } from '../engine/observer';

/** A Nest log level for job lines, or false for none. */
export type JobLogLevel = 'log' | 'debug' | 'verbose' | 'warn' | 'error' | false;

/** Verk's per-event log levels. */
export interface JobLogLevels {
  /** Level of the line written when a job starts. Default 'debug'. */
  startJobLogLevel?: JobLogLevel;
  /** Level of the line written when a job finishes. Default 'log'. */
  doneJobLogLevel?: JobLogLevel;
  /** Level of the line written when a job fails. Default 'warn'. */
  failJobLogLevel?: JobLogLevel;
}

const LEVELS = new Set<unknown>(['log', 'debug', 'verbose', 'warn', 'error', false]);

function level(value: unknown, field: keyof JobLogLevels, fallback: JobLogLevel): JobLogLevel {
  if (value === undefined) return fallback;
  if (!LEVELS.has(value)) throw new VerkConfigError(`Invalid Verk option "${field}": must be one of 'log', 'debug', 'verbose', 'warn', 'error' or false, got ${JSON.stringify(value)}`);
  return value as JobLogLevel;
}

/** One log line per job event: queue, class, jid and, when done or failed, the duration. */
export class JobLogger implements JobObserver {
  private readonly start: JobLogLevel;
  private readonly done: JobLogLevel;
  private readonly fail: JobLogLevel;

  constructor(
    private readonly logger: Logger,
    levels: JobLogLevels,
  ) {
    this.start = level(levels.startJobLogLevel, 'startJobLogLevel', 'debug');
    this.done = level(levels.doneJobLogLevel, 'doneJobLogLevel', 'log');
    this.fail = level(levels.failJobLogLevel, 'failJobLogLevel', 'warn');
  }

  jobStarted(job: JobPayload, queue: string): void {
    if (this.start) this.logger[this.start](`${queue} ${job.class} ${job.jid} start`);
  }

  jobFinished(job: JobPayload, queue: string, durationMs: number): void {
    if (this.done) this.logger[this.done](`${queue} ${job.class} ${job.jid} done: ${durationMs} ms`);
  }

  jobFailed(job: JobPayload, queue: string, _error: unknown, outcome: FailureOutcome, durationMs?: number): void {
    if (!this.fail) return;
    const next = outcome.target === 'dead' ? 'moved to dead' : `retry ${outcome.payload.retry_count} at ${new Date(outcome.score * 1000).toISOString()}`;
    const took = durationMs === undefined ? '' : ` after ${durationMs} ms`;
    this.logger[this.fail](`${queue} ${job.class} ${job.jid} fail${took}: ${outcome.payload.error_class}: ${outcome.payload.error_message} (${next})`);
  }
}
