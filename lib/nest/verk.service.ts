import { type BeforeApplicationShutdown, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import type { EnqueueJob } from '../engine/client';
import { VerkEngine } from '../engine/verk-engine';

/**
 * The application's handle on the job system: enqueue and schedule jobs, manage queues.
 * It also runs the engine inside Nest's lifecycle: the node starts once the application
 * has bootstrapped and stops gracefully before it shuts down (call
 * `app.enableShutdownHooks()` so SIGTERM triggers that).
 */
@Injectable()
export class VerkService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  constructor(readonly engine: VerkEngine) {}

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

  async onApplicationBootstrap(): Promise<void> {
    await this.engine.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.engine.stop();
  }
}
