import { AsyncLocalStorage } from 'node:async_hooks';
import { VerkConfigError, VerkMiddlewareError, VerkValidationError } from '../errors';
import { checkPriority } from './priority';
import type { JobPayload } from './job';
import { assertJsonValue } from '../client/json-args';
import type { WorkerHandler } from './worker-registry';

/**
 * The job a server middleware wraps, and the one `currentJob()` returns inside a worker.
 * `context` is the job's own bag: what a middleware sets there, the worker (and every
 * middleware further in) reads. It lives in memory for this one run of the job only; it
 * is not stored in Redis.
 */
export interface JobContext {
  /** The job as fetched from Redis (do not change it: it is what a retry stores). */
  readonly payload: Readonly<JobPayload>;
  /** The queue it was fetched from. */
  readonly queue: string;
  /** The node running it. */
  readonly nodeId: string;
  readonly jid: string;
  readonly class: string;
  readonly args: readonly unknown[];
  /** Values for this run of the job, set by middleware and read by the worker. */
  readonly context: Map<string, unknown>;
  /**
   * True once the job was cancelled (or moved to another queue) while this run was going:
   * whatever this run does next is ignored, so a long job may stop early.
   */
  readonly canceled: boolean;
  /** The queue the job was moved to while this run was going, if it was. */
  readonly movedTo: string | undefined;
}

/** What happened to a running job meanwhile (see VerkService.cancel and move). */
export interface Interruption {
  kind: 'canceled' | 'moved';
  /** For `moved`: the new queue, where the job runs again. */
  queue?: string;
}

/**
 * One run of a job on this node. A cancel or move that reaches the node while the run goes
 * on is recorded on it, and goes away with it: a message that arrives after its run ended
 * finds no run to mark, so it can never mark a later run of the same jid.
 */
export interface JobRun {
  interruption?: Interruption;
}

/**
 * Wraps every run of a job: code before `await next()` runs before the worker, code after
 * it runs after (when the worker threw, `next()` rejects with its error). Throwing fails
 * the job (retry or dead, with that error); returning without calling `next()` skips the
 * worker and acknowledges the job as done (Sidekiq's server middleware semantics).
 */
export type ServerMiddleware = (job: JobContext, next: () => Promise<void>) => Promise<void>;

/**
 * Wraps every job written by enqueue, enqueueMany and schedule, before anything reaches
 * Redis: it may change the payload (add a field), or throw to refuse the enqueue, which
 * then writes nothing and rejects with that error. Returning without calling `next()`
 * also refuses it (VerkMiddlewareError).
 */
export type ClientMiddleware = (job: JobPayload, next: () => Promise<void>) => Promise<void>;

const storage = new AsyncLocalStorage<JobContext>();

/**
 * The job this code runs for, from the worker's perform method, the middleware, or any
 * code they call and await; undefined outside a job. Concurrent jobs each see their own.
 */
export function currentJob(): JobContext | undefined {
  return storage.getStore();
}

class RunningJob implements JobContext {
  private bag?: Map<string, unknown>;

  constructor(
    readonly payload: Readonly<JobPayload>,
    readonly queue: string,
    readonly nodeId: string,
    private readonly run: JobRun,
  ) {}

  get canceled(): boolean {
    return this.run.interruption !== undefined;
  }

  get movedTo(): string | undefined {
    const interruption = this.run.interruption;
    return interruption?.kind === 'moved' ? interruption.queue : undefined;
  }

  get jid(): string {
    return this.payload.jid;
  }

  get class(): string {
    return this.payload.class;
  }

  get args(): readonly unknown[] {
    return this.payload.args;
  }

  get context(): Map<string, unknown> {
    return (this.bag ??= new Map());
  }
}

type Middleware<T> = (job: T, next: () => Promise<void>) => Promise<void>;

function nameOf(middleware: Function, index: number): string {
  return middleware.name || `middleware #${index}`;
}

const RESOLVED = Promise.resolve();

/** Calls `end` and returns its outcome as a promise (one shared promise for a sync return). */
function settle(end: () => unknown): Promise<void> {
  try {
    const result = end();
    return result === undefined ? RESOLVED : (Promise.resolve(result) as unknown as Promise<void>);
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * One run of a chain: `middleware` around `end`, outermost first. `stoppedAt` is the
 * index of the middleware that returned without calling next(), or -1. A middleware that
 * returns while the rest of the chain it started still runs (it called next() without
 * awaiting it) is waited for, so nothing outlives the job's outcome.
 */
class ChainRun<T> {
  stoppedAt = -1;

  constructor(
    private readonly middleware: readonly Middleware<T>[],
    private readonly job: T,
    private readonly end: () => unknown,
    private readonly kind: 'Server' | 'Client',
  ) {}

  dispatch(index: number): Promise<void> {
    return index === this.middleware.length ? settle(this.end) : this.level(index);
  }

  private async level(index: number): Promise<void> {
    const current = this.middleware[index];
    let downstream: Promise<void> | undefined;
    let settled = false;
    const next = (): Promise<void> => {
      if (downstream) return Promise.reject(new VerkMiddlewareError(nameOf(current, index), `${this.kind} middleware ${nameOf(current, index)} called next() more than once`));
      downstream = this.dispatch(index + 1);
      if (downstream === RESOLVED) settled = true;
      else {
        // Also handles a rejection the middleware ignores (it is awaited below or already settled).
        downstream.then(
          () => (settled = true),
          () => (settled = true),
        );
      }
      return downstream;
    };
    await current(this.job, next);
    if (!downstream) this.stoppedAt = index;
    else if (!settled) await downstream;
  }
}

/** Runs a server chain around the worker (a job whose middleware skipped the worker is done all the same). */
function runServerChain(middleware: readonly ServerMiddleware[], job: JobContext, perform: () => unknown): Promise<void> {
  return new ChainRun(middleware, job, perform, 'Server').dispatch(0);
}

function checkFunctions(list: unknown[], field: string, worker?: string): void {
  list.forEach((middleware, index) => {
    if (typeof middleware === 'function') return;
    const where = worker ? `option "${field}[${index}]" of worker "${worker}"` : `Verk option "${field}[${index}]"`;
    throw new VerkConfigError(`Invalid ${where}: a middleware must be a function (job, next) => Promise<void>, got ${middleware === null ? 'null' : typeof middleware}`, { field: `${field}[${index}]` });
  });
}

/** Validates per-worker middleware at registration. */
export function checkWorkerMiddleware(value: unknown, worker: string): void {
  if (value === undefined) return;
  if (!Array.isArray(value)) throw new VerkConfigError(`Invalid option "middleware" of worker "${worker}": must be an array of functions (job, next) => Promise<void>`, { field: 'middleware' });
  checkFunctions(value, 'middleware', worker);
}

/** What a client middleware must leave behind: a payload that is still a job and still JSON. */
function checkPrepared(payload: JobPayload, field: string): void {
  if (payload === null || typeof payload !== 'object') throw new VerkValidationError(field, 'a client middleware left a payload that is not an object');
  if (typeof payload.queue !== 'string' || payload.queue.length === 0 || /\s/.test(payload.queue)) {
    throw new VerkValidationError(`${field}.queue`, `must be a non-empty queue name without white space after client middleware, got ${JSON.stringify(payload.queue)}`);
  }
  if (typeof payload.class !== 'string' || payload.class.length === 0) throw new VerkValidationError(`${field}.class`, `must be a non-empty string after client middleware, got ${JSON.stringify(payload.class)}`);
  if (!Array.isArray(payload.args)) throw new VerkValidationError(`${field}.args`, `must be an array after client middleware, got ${typeof payload.args}`);
  if (typeof payload.jid !== 'string' || payload.jid.length === 0 || /\s/.test(payload.jid)) {
    throw new VerkValidationError(`${field}.jid`, `must be a non-empty string without white space after client middleware, got ${JSON.stringify(payload.jid)}`);
  }
  if (payload.priority !== undefined) {
    // A priority out of range would break the score formula of the prioritized set.
    if (checkPriority(payload.priority, `${field}.priority`) === 0) delete payload.priority;
  }
  assertJsonValue(payload, field);
}

/**
 * The middleware of one engine: server middleware around every job this node runs, and
 * client middleware around every job its client writes. Global server middleware run
 * outermost, in the order they were added, then the worker's own (WorkerHandler.middleware).
 */
export class MiddlewareStack {
  private serverList: readonly ServerMiddleware[] = [];
  private clientList: readonly ClientMiddleware[] = [];

  /** Adds server middleware, after (inside) those already added. */
  use(...middleware: ServerMiddleware[]): this {
    checkFunctions(middleware, 'middleware');
    // A new array: a job already running keeps the chain it started with.
    this.serverList = [...this.serverList, ...middleware];
    return this;
  }

  /** Adds client middleware, after (inside) those already added. */
  useClient(...middleware: ClientMiddleware[]): this {
    checkFunctions(middleware, 'clientMiddleware');
    this.clientList = [...this.clientList, ...middleware];
    return this;
  }

  get server(): readonly ServerMiddleware[] {
    return this.serverList;
  }

  get client(): readonly ClientMiddleware[] {
    return this.clientList;
  }

  /**
   * Runs one job: the worker's perform inside the global and the worker's middleware, with
   * `currentJob()` set. Without any middleware it calls perform directly (no context):
   * see the README's Middleware section for why. `run` is where the queue manager records
   * a cancel or move of this run (`currentJob().canceled`, `movedTo`).
   */
  perform(worker: WorkerHandler, job: JobPayload, queue: string, nodeId: string, run: JobRun = {}): unknown {
    const global = this.serverList;
    const own = worker.middleware;
    if (global.length === 0 && (own === undefined || own.length === 0) && worker.context !== true) return worker.perform(job.args, job);
    const chain = own === undefined || own.length === 0 ? global : global.length === 0 ? own : [...global, ...own];
    const context = new RunningJob(job, queue, nodeId, run);
    return storage.run(context, runServerChain, chain, context, () => worker.perform(job.args, job));
  }

  /**
   * Runs the client middleware over payloads about to be written, one after the other in
   * input order; any throw rejects the whole call (write nothing then). Checks that each
   * payload is still a job whose fields survive JSON. Returns the same payloads.
   */
  async prepare(payloads: JobPayload[], fieldOf: (index: number) => string = (index) => `jobs[${index}]`): Promise<JobPayload[]> {
    const chain = this.clientList;
    if (chain.length === 0) return payloads;
    for (let index = 0; index < payloads.length; index++) {
      const payload = payloads[index];
      const run = new ChainRun<JobPayload>(chain, payload, () => undefined, 'Client');
      await run.dispatch(0);
      if (run.stoppedAt >= 0) {
        const name = nameOf(chain[run.stoppedAt], run.stoppedAt);
        throw new VerkMiddlewareError(name, `${fieldOf(index)}: client middleware ${name} returned without calling next(); the job was not enqueued`);
      }
      checkPrepared(payload, fieldOf(index));
    }
    return payloads;
  }
}
