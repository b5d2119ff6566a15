import { UnknownWorkerError, VerkConfigError } from '../errors';
import type { RetryAt } from './failure';
import type { JobPayload } from './job';
import { checkWorkerMiddleware, type ServerMiddleware } from './middleware';

/** What the engine needs of a worker: run a job, and optionally say when to retry it. */
export interface WorkerHandler {
  perform(args: unknown[], job: JobPayload): unknown;
  retryAt?: RetryAt;
  /** This worker's own server middleware, run inside the global ones, outermost first. */
  middleware?: readonly ServerMiddleware[];
  /**
   * Run every job inside `currentJob()` even without middleware, so the worker can read
   * its job (and `canceled`). Off by default: entering the async context costs ~8% of
   * no-op throughput.
   */
  context?: boolean;
}

/** Job class name -> handler. One name has one handler. */
export class WorkerRegistry {
  private readonly handlers = new Map<string, WorkerHandler>();

  register(name: string, handler: WorkerHandler): void {
    if (typeof name !== 'string' || name.length === 0) throw new VerkConfigError('A worker name must be a non-empty string');
    checkWorkerMiddleware(handler.middleware, name);
    if (this.handlers.has(name)) throw new VerkConfigError(`Two workers are registered for the job class "${name}"; each job class must have exactly one worker`);
    this.handlers.set(name, handler);
  }

  get(name: string): WorkerHandler | undefined {
    return this.handlers.get(name);
  }

  names(): string[] {
    return [...this.handlers.keys()];
  }

  /** The failure of a job whose class no registered worker handles. */
  unknown(className: string, nodeId: string): UnknownWorkerError {
    return new UnknownWorkerError(`No worker for job class "${className}" on node ${nodeId} (known: ${this.names().join(', ') || 'none'})`);
  }
}
