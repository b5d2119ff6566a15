import { Injectable, type OnApplicationBootstrap, type OnApplicationShutdown, type OnModuleDestroy } from '@nestjs/common';
import { Observable } from 'rxjs';
import type { EnqueueJob } from '../engine/client';
import type { VerkEvent } from '../engine/events';
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

  constructor(readonly engine: VerkEngine) {
    this.events$ = new Observable<VerkEvent>((subscriber) => engine.events.subscribe((event) => subscriber.next(event)));
  }

  /** This node's id. */
  get nodeId(): string {
    return this.engine.nodeId;
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

  /** Whether a queue is paused. */
  isQueuePaused(name: string): Promise<boolean> {
    return this.engine.isPaused(name);
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
