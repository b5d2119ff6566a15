import type { Logger } from '@nestjs/common';
import { VerkConfigError } from '../engine/errors';
import type { VerkEvent } from '../engine/events';

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
  if (!LEVELS.has(value)) throw new VerkConfigError(`Invalid Verk option "${field}": must be one of 'log', 'debug', 'verbose', 'warn', 'error' or false, got ${JSON.stringify(value)}`, { field });
  return value as JobLogLevel;
}

/** One log line per job event: queue, class, jid and, when done or failed, the duration. */
export class JobLogger {
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

  /** True when any job line is logged, so the listener is worth subscribing. */
  get enabled(): boolean {
    return Boolean(this.start || this.done || this.fail);
  }

  readonly handle = (event: VerkEvent): void => {
    switch (event.type) {
      case 'JobStarted':
        if (this.start) this.logger[this.start](`${event.queue} ${event.job.class} ${event.job.jid} start`);
        break;
      case 'JobFinished':
        if (this.done) this.logger[this.done](`${event.queue} ${event.job.class} ${event.job.jid} done: ${event.durationMs} ms`);
        break;
      case 'JobFailed': {
        if (!this.fail) break;
        const next = event.retryAt ? `retry ${event.job.retry_count} at ${event.retryAt.toISOString()}` : 'moved to dead';
        this.logger[this.fail](`${event.queue} ${event.job.class} ${event.job.jid} fail after ${event.durationMs} ms: ${event.job.error_class}: ${event.job.error_message} (${next})`);
        break;
      }
      default:
        this.logger.log(`Queue ${event.queue}: ${event.type}`);
    }
  };
}
