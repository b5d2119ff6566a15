import { SetMetadata, type Type } from '@nestjs/common';
import type { VerkEventClass } from '../engine/events';
import type { RecurringOptions } from '../engine/recurring/recurring-definition';
import { VERK_ON_EVENT_METADATA, VERK_PERFORM_METADATA, VERK_WORKER_METADATA } from './constants';
import type { VerkMiddleware } from './middleware';

/**
 * Options of @Worker(). With `cron` or `every` the worker's job is also a recurring job,
 * named after the job class and written when the application starts (see the README's
 * "Recurring and cron jobs"); `args`, `queue` (default `default`), `timezone`, `offset`,
 * `catchUp`, `maxRuns`, `endAt`, `priority`, `retry` and `maxRetryCount` then describe its jobs.
 */
export interface WorkerOptions extends Omit<RecurringOptions, 'class'> {
  /** The job class name this worker runs, e.g. `Mailer::Send`. Default: the class's name. */
  name?: string;
  /** This worker's own middleware, run inside the global ones, outermost first (see the README's Middleware section). */
  middleware?: Type<VerkMiddleware>[];
  /**
   * Let the worker call `currentJob()` (its jid, payload, `canceled`) even when it has no
   * middleware. Off by default: the async context costs about 8% of no-op throughput.
   */
  context?: boolean;
  /**
   * The named instance whose jobs this worker runs (`VerkModule.forRoot({ name })`).
   * Default: the unnamed instance. See docs/instances.md.
   */
  instance?: string;
}

/**
 * Marks a provider as the worker of one job class. The class must be registered as a
 * provider in a module; it gets constructor injection like any other provider.
 *
 * @example
 * @Worker()                 // runs jobs whose class is 'ExampleWorker'
 * export class ExampleWorker { @Perform() async perform(a: number, b: number) {} }
 *
 * @Worker('Mailer::Send')   // runs jobs pushed by Sidekiq as class 'Mailer::Send'
 * export class SendMail { @Perform() run(to: string) {} }
 */
export function Worker(nameOrOptions?: string | WorkerOptions): ClassDecorator {
  const options: WorkerOptions = typeof nameOrOptions === 'string' ? { name: nameOrOptions } : { ...nameOrOptions };
  return SetMetadata(VERK_WORKER_METADATA, options);
}

/** Marks the method of a @Worker class that runs a job; it receives the job's args spread. */
export function Perform(): MethodDecorator {
  return SetMetadata(VERK_PERFORM_METADATA, true);
}

/**
 * Calls the method with every event of the given classes (none = every event), on any
 * provider or controller. It runs off the job's path: throwing, rejecting or being slow
 * never delays or breaks job processing; its error is logged.
 *
 * @example
 * @OnVerkEvent(JobFailed) onFailed(event: JobFailed) { tracker.capture(event.error); }
 */
export function OnVerkEvent(...events: VerkEventClass[]): MethodDecorator {
  return SetMetadata(VERK_ON_EVENT_METADATA, events);
}
