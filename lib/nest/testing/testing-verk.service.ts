import { Injectable } from '@nestjs/common';
import { Observable, throwError } from 'rxjs';
import { checkConcurrency, checkQueueName, checkSource, type JobSource } from '../../engine/admin/admin-input';
import type { BatchOptions, BatchResult, EnqueueJob } from '../../engine/client/client';
import { VerkStateError } from '../../engine/errors';
import type { VerkEvent } from '../../engine/events';
import type { TrackedJobEvent } from '../../engine/history/recorder';
import type { VerkService } from '../verk.service';
import { FakeVerk } from './fake-verk';

/** VerkService's public members: the compiler says when the testing service lacks one. */
type VerkServiceApi = { [Member in keyof VerkService]: VerkService[Member] };

/** The error of a VerkService call forTesting does not simulate. */
function notSimulated(method: string): Promise<never> {
  return Promise.reject(
    new VerkStateError(`VerkService.${method}() needs Redis, which VerkModule.forTesting() does not simulate; assert on VerkTesting (jobs(), scheduled(), retries(), dead()) or test it against a real redis-server`),
  );
}

/**
 * VerkService under VerkModule.forTesting() (registered under the VerkService token):
 * enqueue, enqueueMany, schedule and batch validate exactly as the real service and keep
 * the jobs in memory (or, inline, run them at once); queues can be added, removed, paused
 * and cleared in memory. Calls that only make sense against Redis (stats, listings,
 * history, recurring, cancel, move...) reject with a VerkStateError saying so.
 */
@Injectable()
export class TestingVerkService implements VerkServiceApi {
  readonly events$: Observable<VerkEvent>;
  private readonly added = new Map<string, number>();

  constructor(private readonly fake: FakeVerk) {
    this.events$ = new Observable<VerkEvent>((subscriber) => fake.events.subscribe((event) => subscriber.next(event)));
  }

  get nodeId(): string {
    return this.fake.nodeId;
  }

  queues(): Record<string, number> {
    return { ...this.fake.options.queues, ...Object.fromEntries(this.added) };
  }

  enqueue(job: EnqueueJob): Promise<string> {
    return this.fake.enqueue(job);
  }

  enqueueMany(jobs: EnqueueJob[]): Promise<string[]> {
    return this.fake.enqueueMany(jobs);
  }

  schedule(job: EnqueueJob, at: Date | number): Promise<string> {
    return this.fake.schedule(job, at);
  }

  batch(jobs: EnqueueJob[], options: BatchOptions): Promise<BatchResult> {
    return this.fake.batch(jobs, options);
  }

  async addQueue(name: string, concurrency: number): Promise<void> {
    checkQueueName(name, 'queue');
    checkConcurrency(concurrency, 'concurrency');
    if (name in this.queues()) throw new VerkStateError(`Queue "${name}" is already running on node ${this.nodeId}`);
    this.added.set(name, concurrency);
  }

  async removeQueue(name: string): Promise<void> {
    if (!this.added.delete(name)) throw new VerkStateError(`Queue "${name}" is not running on node ${this.nodeId}`);
  }

  /** drain() skips a paused queue until it is resumed. */
  async pauseQueue(name: string): Promise<void> {
    this.fake.paused.add(checkQueueName(name, 'queue'));
  }

  async resumeQueue(name: string): Promise<void> {
    this.fake.paused.delete(checkQueueName(name, 'queue'));
  }

  async isQueuePaused(name: string): Promise<boolean> {
    return this.fake.paused.has(name);
  }

  async clear(where: JobSource): Promise<number> {
    const source = checkSource(where, 'where');
    return this.fake.store.clearSource(source.set ?? { queue: source.queue as string });
  }

  stats = (): Promise<never> => notSimulated('stats');
  queueStats = (): Promise<never> => notSimulated('queueStats');
  classMetrics = (): Promise<never> => notSimulated('classMetrics');
  listJobs = (): Promise<never> => notSimulated('listJobs');
  findJob = (): Promise<never> => notSimulated('findJob');
  retryNow = (): Promise<never> => notSimulated('retryNow');
  deleteJob = (): Promise<never> => notSimulated('deleteJob');
  batchStatus = (): Promise<never> => notSimulated('batchStatus');
  job = (): Promise<never> => notSimulated('job');
  cancel = (): Promise<never> => notSimulated('cancel');
  move = (): Promise<never> => notSimulated('move');
  setPriority = (): Promise<never> => notSimulated('setPriority');
  searchJobs = (): Promise<never> => notSimulated('searchJobs');
  findJobAt = (): Promise<never> => notSimulated('findJobAt');
  locateJob = (): Promise<never> => notSimulated('locateJob');
  retryDead = (): Promise<never> => notSimulated('retryDead');
  clearDead = (): Promise<never> => notSimulated('clearDead');
  setQueueLimits = (): Promise<never> => notSimulated('setQueueLimits');
  queueLimits = (): Promise<never> => notSimulated('queueLimits');
  busy = (): Promise<never> => notSimulated('busy');
  queuesOverview = (): Promise<never> => notSimulated('queuesOverview');
  retryJobs = (): Promise<never> => notSimulated('retryJobs');
  deleteJobs = (): Promise<never> => notSimulated('deleteJobs');
  killJobs = (): Promise<never> => notSimulated('killJobs');
  retryAll = (): Promise<never> => notSimulated('retryAll');
  recur = (): Promise<never> => notSimulated('recur');
  listRecurring = (): Promise<never> => notSimulated('listRecurring');
  getRecurring = (): Promise<never> => notSimulated('getRecurring');
  updateRecurring = (): Promise<never> => notSimulated('updateRecurring');
  removeRecurring = (): Promise<never> => notSimulated('removeRecurring');
  history = (): Promise<never> => notSimulated('history');
  tag = (): Promise<never> => notSimulated('tag');
  untag = (): Promise<never> => notSimulated('untag');
  jobsByTag = (): Promise<never> => notSimulated('jobsByTag');
  track = (): Promise<never> => notSimulated('track');
  untrack = (): Promise<never> => notSimulated('untrack');

  subscribe(): Observable<TrackedJobEvent> {
    return throwError(() => new VerkStateError('VerkService.subscribe() needs Redis pub/sub, which VerkModule.forTesting() does not simulate'));
  }

  /** Nothing to start or stop: no connection, no loop. */
  async onApplicationBootstrap(): Promise<void> {}
  async onModuleDestroy(): Promise<void> {}
  async onApplicationShutdown(): Promise<void> {}
}
