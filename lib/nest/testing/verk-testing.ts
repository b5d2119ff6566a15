import { Injectable } from '@nestjs/common';
import { checkQueueName } from '../../engine/admin/admin-input';
import type { JobPayload } from '../../engine/core/job';
import { VerkStateError, VerkValidationError } from '../../engine/errors';
import { FakeVerk, type TestingJobRun } from './fake-verk';

/** A job of `schedule`, `retry` or `dead` in VerkModule.forTesting(). */
export interface TestingSetEntry {
  payload: JobPayload;
  /** When it is due (schedule, retry) or when it died (dead). */
  at: Date;
}

/** Options of VerkTesting.drain(). */
export interface DrainOptions {
  /** Only this queue (jobs it enqueues into other queues wait). Default: every queue. */
  queue?: string;
  /** Also run the jobs in `retry` again (whatever their time), until each succeeds or dies. Default false. */
  retries?: boolean;
  /** Stop with a VerkStateError after this many runs (a job that enqueues itself forever). Default 10,000. */
  maxJobs?: number;
}

/** What a drain ran. */
export interface DrainResult {
  /** Every run, in order. */
  runs: TestingJobRun[];
  succeeded: number;
  /** Runs that threw (their jobs went to `retry` or `dead`). */
  failed: number;
}

const DEFAULT_MAX_JOBS = 10_000;

/**
 * The test's handle on the jobs of `VerkModule.forTesting()`: what was enqueued, and
 * running it through the real workers (with Nest DI) and the real middleware. Injectable
 * wherever VerkService is. See docs/testing.md.
 */
@Injectable()
export class VerkTesting {
  constructor(private readonly fake: FakeVerk) {}

  /** `fake` or `inline`. */
  get mode(): 'fake' | 'inline' {
    return this.fake.options.mode;
  }

  /**
   * Jobs waiting to run, as they would be stored (Sidekiq's fields, `priority`,
   * `depends_on`, `bid`, ...): of one queue or of all (grouped by queue name), next to run
   * first, then the jobs still waiting for dependencies. Copies: changing them changes nothing.
   */
  jobs(queue?: string): JobPayload[] {
    if (queue !== undefined) checkQueueName(queue, 'queue');
    const { store } = this.fake;
    const queues = queue === undefined ? store.queueNames() : [queue];
    return structuredClone([...queues.flatMap((name) => store.waiting(name)), ...store.blockedJobs(queue)]);
  }

  /** Jobs of `schedule`, earliest first. */
  scheduled(): TestingSetEntry[] {
    return structuredClone([...this.fake.store.scheduled]);
  }

  /** Jobs of `retry` (failed, to run again), earliest first. */
  retries(): TestingSetEntry[] {
    return structuredClone([...this.fake.store.retries]);
  }

  /** Jobs of `dead`, in the order they died. */
  dead(): TestingSetEntry[] {
    return structuredClone([...this.fake.store.dead]);
  }

  /**
   * Runs the waiting jobs of a queue (or of every queue) until none is left, including
   * the jobs they enqueue and the dependents and batch callbacks they release: by
   * priority, then in enqueue order. A job that throws goes to `retry` (or `dead`) with
   * the real failure fields; `{ retries: true }` runs those again until each succeeds or
   * dies. Paused queues are skipped. Never throws a job's error: see the result's runs.
   */
  async drain(queueOrOptions?: string | DrainOptions): Promise<DrainResult> {
    const options = checkDrainOptions(queueOrOptions);
    const result: DrainResult = { runs: [], succeeded: 0, failed: 0 };
    const { store, paused } = this.fake;
    for (;;) {
      const queues = (options.queue === undefined ? store.queueNames() : [options.queue]).filter((queue) => !paused.has(queue));
      const job = store.take(queues);
      if (!job) {
        if (options.retries && store.promoteRetries(options.queue) > 0) continue;
        return result;
      }
      if (result.runs.length >= options.maxJobs) {
        throw new VerkStateError(`VerkTesting.drain() ran ${options.maxJobs} jobs and jobs are still waiting (a job that enqueues itself forever?); raise maxJobs if this is expected`);
      }
      this.count(result, (await this.fake.run(job)).run);
    }
  }

  /** Runs the next waiting job of a queue (even a paused one) and only that; undefined when the queue is empty. */
  async performNext(queue: string): Promise<TestingJobRun | undefined> {
    checkQueueName(queue, 'queue');
    const job = this.fake.store.take([queue]);
    return job ? (await this.fake.run(job)).run : undefined;
  }

  /**
   * Moves the jobs of `schedule` due by `until` (a Date or epoch ms; default: all of
   * them) to their queues, earliest first, then drains every queue.
   */
  async runScheduled(options: { until?: Date | number } = {}): Promise<DrainResult> {
    const until = options.until === undefined ? Infinity : options.until instanceof Date ? options.until.getTime() : options.until;
    if (typeof until !== 'number' || Number.isNaN(until)) throw new VerkValidationError('until', `must be a valid Date or epoch milliseconds, got ${JSON.stringify(options.until)}`);
    this.fake.store.promoteScheduled(until);
    return this.drain();
  }

  /** Forgets every job, lock, dependency, batch and paused queue (between tests). */
  clear(): void {
    this.fake.store.clear();
    this.fake.paused.clear();
  }

  private count(result: DrainResult, run: TestingJobRun): void {
    result.runs.push(run);
    if (run.outcome === 'done') result.succeeded++;
    else result.failed++;
  }
}

function checkDrainOptions(input: string | DrainOptions | undefined): Required<Omit<DrainOptions, 'queue'>> & { queue?: string } {
  const options = typeof input === 'string' ? { queue: input } : (input ?? {});
  if (typeof options !== 'object' || options === null) throw new VerkValidationError('options', `must be a queue name or { queue?, retries?, maxJobs? }, got ${JSON.stringify(input)}`);
  for (const key of Object.keys(options)) {
    if (!['queue', 'retries', 'maxJobs'].includes(key)) throw new VerkValidationError(`options.${key}`, 'unknown option (known: queue, retries, maxJobs)');
  }
  if (options.queue !== undefined) checkQueueName(options.queue, 'queue');
  if (options.retries !== undefined && typeof options.retries !== 'boolean') throw new VerkValidationError('options.retries', `must be a boolean, got ${JSON.stringify(options.retries)}`);
  const maxJobs = options.maxJobs ?? DEFAULT_MAX_JOBS;
  if (!Number.isInteger(maxJobs) || maxJobs < 1) throw new VerkValidationError('options.maxJobs', `must be an integer >= 1, got ${JSON.stringify(options.maxJobs)}`);
  return { queue: options.queue, retries: options.retries === true, maxJobs };
}
