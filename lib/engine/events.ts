import type { JobPayload } from './core/job';
import type { VerkLogger } from './logger';

/** A job began running on this node. */
export class JobStarted {
  readonly type = 'JobStarted' as const;
  /** The named instance it comes from (`VerkModule.forRoot({ name })`); undefined for the unnamed default one. */
  instance?: string;
  constructor(
    readonly job: JobPayload,
    readonly queue: string,
    readonly startedAt: Date,
  ) {}
}

/** A job's perform method returned. */
export class JobFinished {
  readonly type = 'JobFinished' as const;
  /** The named instance it comes from (`VerkModule.forRoot({ name })`); undefined for the unnamed default one. */
  instance?: string;
  constructor(
    readonly job: JobPayload,
    readonly queue: string,
    readonly startedAt: Date,
    readonly finishedAt: Date,
    /** How long perform ran, ms. */
    readonly durationMs: number,
  ) {}
}

/** A job's perform method threw (or the job could not run: unknown class). */
export class JobFailed {
  readonly type = 'JobFailed' as const;
  /** The named instance it comes from (`VerkModule.forRoot({ name })`); undefined for the unnamed default one. */
  instance?: string;
  constructor(
    /** The job with its failure fields (retry_count, error_message, ...). */
    readonly job: JobPayload,
    readonly queue: string,
    readonly error: unknown,
    /** The error's stack, '' when it had none. */
    readonly stacktrace: string,
    readonly failedAt: Date,
    readonly durationMs: number,
    /** When it runs again, or undefined when it went to `dead`. */
    readonly retryAt: Date | undefined,
  ) {}

  get dead(): boolean {
    return this.retryAt === undefined;
  }
}

/** A queue is fetching jobs on this node (started or resumed). */
export class QueueRunning {
  readonly type = 'QueueRunning' as const;
  /** The named instance it comes from (`VerkModule.forRoot({ name })`); undefined for the unnamed default one. */
  instance?: string;
  constructor(readonly queue: string) {}
}

/** A queue stopped fetching on this node; jobs it had already taken are still running. */
export class QueuePausing {
  readonly type = 'QueuePausing' as const;
  /** The named instance it comes from (`VerkModule.forRoot({ name })`); undefined for the unnamed default one. */
  instance?: string;
  constructor(readonly queue: string) {}
}

/** A paused queue has no job running any more on this node. */
export class QueuePaused {
  readonly type = 'QueuePaused' as const;
  /** The named instance it comes from (`VerkModule.forRoot({ name })`); undefined for the unnamed default one. */
  instance?: string;
  constructor(readonly queue: string) {}
}

export type VerkEvent = JobStarted | JobFinished | JobFailed | QueueRunning | QueuePausing | QueuePaused;
export type VerkEventClass = typeof JobStarted | typeof JobFinished | typeof JobFailed | typeof QueueRunning | typeof QueuePausing | typeof QueuePaused;
export type VerkEventListener = (event: VerkEvent) => unknown;

/**
 * Delivers events to listeners away from the job's path: emit() only queues the event,
 * and listeners run on a later turn of the event loop, each guarded, so a listener that
 * throws, rejects or is slow never delays or breaks job processing. Its error is logged.
 */
export class EventBus {
  private readonly listeners = new Set<VerkEventListener>();
  private queue: VerkEvent[] = [];
  private scheduled = false;

  constructor(
    private readonly logger: VerkLogger,
    /** The named instance whose events these are (stamped on each), undefined for the default one. */
    private readonly instance?: string,
  ) {}

  /** True when someone listens: emitters skip building events otherwise. */
  get active(): boolean {
    return this.listeners.size > 0;
  }

  /** Adds a listener; returns the function that removes it. */
  subscribe(listener: VerkEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: VerkEvent): void {
    if (this.listeners.size === 0) return;
    if (this.instance !== undefined) event.instance = this.instance;
    this.queue.push(event);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.deliver);
    }
  }

  private readonly deliver = (): void => {
    this.scheduled = false;
    const events = this.queue;
    this.queue = [];
    for (const event of events) {
      for (const listener of this.listeners) {
        try {
          const result = listener(event);
          if (result instanceof Promise) result.catch((error: unknown) => this.report(event, error));
        } catch (error) {
          this.report(event, error);
        }
      }
    }
  };

  private report(event: VerkEvent, error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    this.logger.error(`A listener of ${event.type} failed: ${message}`, error instanceof Error ? error.stack : undefined);
  }
}
