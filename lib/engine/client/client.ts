import type Redis from 'ioredis';
import { VerkValidationError } from '../errors';
import { applyFlowFields, isFlowJob, type UniqueOptions } from '../flow/flow';
import { FlowWriter } from '../flow/flow-writer';
import { type JobPayload, newJid, nowSeconds } from '../core/job';
import { assertJsonValue } from './json-args';
import type { Keys } from '../redis/keys';
import { VerkScripts } from '../redis/verk-scripts';
import { checkExec } from '../redis/multi';
import type { MiddlewareStack } from '../core/middleware';
import { checkPriority } from '../core/priority';
import type { JobRecorder } from '../history/recorder';
import { applyTagFields } from '../history/tags';
import { checkGroup, GroupedQueues } from '../limits/grouped-queues';
import type { JobTracing } from '../tracing/job-tracing';
import type { Durability } from '../redis/durability';

/** A class given instead of a class name; its name is resolved by `className`. */
export type WorkerClassRef = abstract new (...args: never[]) => unknown;

/** A job to enqueue. */
export interface EnqueueJob {
  /** Queue name, e.g. `default`. */
  queue: string;
  /** Worker class name (`'ExampleWorker'`, `'Mailer::Send'`) or the worker class itself. */
  class: string | WorkerClassRef;
  /** Arguments passed to the worker's perform method; must be JSON values. Default []. */
  args?: unknown[];
  /** Retries before the job goes to `dead`; overrides the module's maxRetryCount. */
  maxRetryCount?: number;
  /** Sidekiq's `retry`: false = no retries (straight to `dead` on failure), a number = limit. */
  retry?: boolean | number;
  /** Your own job id instead of a random one. */
  jid?: string;
  /**
   * jids of jobs that must finish successfully before this one is enqueued. Each must be
   * pending (enqueued with `dependable: true`, with `dependsOn`, or earlier in the same
   * enqueueMany/batch call) or recorded as finished (for `flowRetention`).
   */
  dependsOn?: string[];
  /** Let other jobs depend on this one (its completion is recorded). Default false. */
  dependable?: boolean;
  /** Run at most one such job at a time: see UniqueOptions. */
  unique?: UniqueOptions;
  /**
   * Runs before lower priorities of the same queue: an integer from -1000 to 1000, higher
   * first, FIFO within a priority. 0 (default) is a plain Sidekiq job; see README "Priorities".
   */
  priority?: number;
  /**
   * Tags (qless): stored in the payload as `tags` and indexed, so `jobsByTag` finds the
   * job. Non-empty strings without white space, at most 50.
   */
  tags?: string[];
  /** Track the job from the start: each of its events is published (see README "Tags and tracking"). */
  track?: boolean;
  /**
   * The group it belongs to (a tenant, an account: 1 to 200 characters, no NUL): grouped
   * jobs are served round-robin across groups, under the queue's per-group limits; see docs/limits.md.
   */
  group?: string;
}

/** Options of VerkClient.batch. */
export interface BatchOptions {
  /**
   * Enqueued once, when every job of the batch has finished (succeeded or died), with one
   * more argument: `{ bid, total, succeeded, dead }`. Its queue defaults to the first job's.
   */
  onComplete: Omit<EnqueueJob, 'queue' | 'dependsOn' | 'unique'> & { queue?: string };
}

export interface ClientOptions {
  keys: Keys;
  /** Turns a worker class into its job class name (the Nest layer reads @Worker metadata). */
  className?: (ref: WorkerClassRef) => string;
  /** Its client middleware run on every payload before it is written (see prepare). */
  middleware?: MiddlewareStack;
  /** Called after jobs were put in `schedule` to run now (the engine polls at once). */
  onScheduledNow?: () => void;
  /** Records `enqueued` / `scheduled` events and writes tags and tracking (history, recorder.ts). */
  recorder?: JobRecorder;
  /** OpenTelemetry: a producer span per write, its context in each payload; undefined when `tracing` is off. */
  tracing?: JobTracing;
  /** Option `durability`: each write waits for WAIT (and fails when the replicas do not confirm). */
  durability?: Durability;
}

/**
 * Validates a job to enqueue and builds the payload it would be stored with (pure: no
 * Redis). Throws VerkValidationError naming the field (`job.queue`, `jobs[2].args[0]`).
 * VerkModule.forTesting and the RabbitMQ client build their payloads with it, so their
 * errors are the real ones.
 */
export function validateJob(job: unknown, field: string, className: (ref: WorkerClassRef) => string, now: number): JobPayload {
  if (job === null || typeof job !== 'object') throw new VerkValidationError(field, 'a job must be an object');
  const input = job as Partial<EnqueueJob> & Record<string, unknown>;
  const known = new Set(['queue', 'class', 'args', 'maxRetryCount', 'retry', 'jid', 'priority', 'dependsOn', 'dependable', 'unique', 'tags', 'track', 'group']);
  for (const key of Object.keys(input)) {
    if (!known.has(key)) throw new VerkValidationError(`${field}.${key}`, `unknown job field (known: ${[...known].join(', ')})`);
  }
  if (typeof input.queue !== 'string' || input.queue.length === 0 || /\s/.test(input.queue)) {
    throw new VerkValidationError(`${field}.queue`, `must be a non-empty queue name without white space, got ${JSON.stringify(input.queue)}`);
  }
  let cls: string;
  if (typeof input.class === 'string') cls = input.class;
  else if (typeof input.class === 'function') cls = className(input.class);
  else throw new VerkValidationError(`${field}.class`, `must be a worker class name or a worker class, got ${JSON.stringify(input.class)}`);
  if (cls.length === 0) throw new VerkValidationError(`${field}.class`, 'must not be empty');

  const args = input.args ?? [];
  if (!Array.isArray(args)) throw new VerkValidationError(`${field}.args`, `must be an array, got ${typeof args}`);
  assertJsonValue(args, `${field}.args`);

  const payload: JobPayload = {
    class: cls,
    args,
    jid: input.jid ?? newJid(),
    queue: input.queue,
    retry: input.retry ?? true,
    created_at: now,
    enqueued_at: now,
  };
  if (typeof payload.jid !== 'string' || payload.jid.length === 0 || /\s/.test(payload.jid)) {
    throw new VerkValidationError(`${field}.jid`, `must be a non-empty string without white space, got ${JSON.stringify(input.jid)}`);
  }
  if (input.retry !== undefined && typeof input.retry !== 'boolean' && !(Number.isInteger(input.retry) && input.retry >= 0)) {
    throw new VerkValidationError(`${field}.retry`, `must be a boolean or an integer >= 0, got ${JSON.stringify(input.retry)}`);
  }
  if (input.maxRetryCount !== undefined) {
    if (!Number.isInteger(input.maxRetryCount) || input.maxRetryCount < 0) {
      throw new VerkValidationError(`${field}.maxRetryCount`, `must be an integer >= 0, got ${JSON.stringify(input.maxRetryCount)}`);
    }
    payload.max_retry_count = input.maxRetryCount;
  }
  // 0 is a plain job, stored exactly as Sidekiq stores it: no field.
  const priority = checkPriority(input.priority, `${field}.priority`);
  if (priority !== 0) payload.priority = priority;
  applyFlowFields(input, field, payload);
  applyTagFields(input, field, payload);
  if (input.group !== undefined) payload.group = checkGroup(input.group, `${field}.group`);
  return payload;
}

/** Epoch milliseconds of a schedule time, or a VerkValidationError. */
export function scheduleTime(at: unknown): number {
  const ms = at instanceof Date ? at.getTime() : at;
  if (typeof ms !== 'number' || Number.isNaN(new Date(ms).getTime())) {
    throw new VerkValidationError('at', `must be a valid Date or epoch milliseconds, got ${at instanceof Date ? 'an invalid Date' : JSON.stringify(at)}`);
  }
  return ms;
}

/**
 * Writes jobs in Sidekiq's layout. Every input is validated before anything is sent, so
 * an error means nothing was written.
 */
export class VerkClient {
  private readonly keys: Keys;
  private readonly className: (ref: WorkerClassRef) => string;
  private readonly middleware?: MiddlewareStack;
  private readonly flow: FlowWriter;
  private readonly scripts: VerkScripts;
  /** Marks queues that receive grouped jobs, so every node fetches them round-robin. */
  private readonly groups: GroupedQueues;
  private readonly onScheduledNow: () => void;
  private readonly recorder?: JobRecorder;
  private readonly tracing?: JobTracing;
  /** Option `durability`: every write waits until the replicas have it. */
  private readonly durability?: Durability;

  constructor(
    private readonly redis: Redis,
    options: ClientOptions,
  ) {
    this.keys = options.keys;
    this.className = options.className ?? ((ref) => ref.name);
    this.middleware = options.middleware;
    this.flow = new FlowWriter(redis, options.keys);
    this.scripts = new VerkScripts(redis, options.keys);
    this.groups = new GroupedQueues(redis, options.keys);
    this.onScheduledNow = options.onScheduledNow ?? (() => undefined);
    this.recorder = options.recorder;
    this.tracing = options.tracing;
    this.durability = options.durability;
  }

  /**
   * Runs the client middleware over built payloads (in order; they may change them), and
   * checks what they leave. Every path that writes new jobs calls it after build() and
   * before writing: a rejection means nothing may be written.
   */
  prepare(payloads: JobPayload[], fieldOf?: (index: number) => string): Promise<JobPayload[]> {
    const prepared = this.middleware ? this.middleware.prepare(payloads, fieldOf) : Promise.resolve(payloads);
    return payloads.some((payload) => payload.group !== undefined) ? prepared.then((jobs) => this.groups.mark(jobs)) : prepared;
  }

  /** Builds the payload a job would be stored with, without writing it. */
  build(job: EnqueueJob, field = 'job'): JobPayload {
    return validateJob(job, field, this.className, nowSeconds());
  }

  /** Adds a job to the end of its queue. Returns its jid. */
  async enqueue(job: EnqueueJob): Promise<string> {
    const payload = this.build(job);
    return this.tracing ? this.tracing.send(payload, 'send', () => this.writeOne(job, payload)) : this.writeOne(job, payload);
  }

  /** enqueue, once the payload is built: client middleware, then the write. */
  private async writeOne(job: EnqueueJob, payload: JobPayload): Promise<string> {
    await this.prepare([payload], () => 'job');
    await this.recorder?.beforeWrite([payload], [job.track === true], () => 'job');
    if (isFlowJob(payload)) return (await this.writeFlow([payload], ['job']))[0];
    if (payload.priority) {
      await this.scripts.enqueuePrioritized({ queue: payload.queue, jobs: [{ priority: payload.priority, payload: JSON.stringify(payload) }] });
    } else {
      await this.scripts.enqueueJob({ queue: payload.queue, payload: JSON.stringify(payload) });
    }
    if (this.durability) await this.durability.confirm(this.redis, `Job ${payload.jid}`);
    this.recorder?.afterWrite([payload], 'enqueued');
    return payload.jid;
  }

  /** Adds many jobs in one atomic round trip. Returns their jids in input order. */
  async enqueueMany(jobs: EnqueueJob[]): Promise<string[]> {
    const payloads = validateJobs(jobs, this.className, nowSeconds());
    if (payloads.length === 0) return [];
    return this.tracing ? this.tracing.sendMany(payloads, () => this.writeMany(jobs, payloads)) : this.writeMany(jobs, payloads);
  }

  /** enqueueMany, once the payloads are built: client middleware, then one round trip. */
  private async writeMany(jobs: EnqueueJob[], payloads: JobPayload[]): Promise<string[]> {
    await this.prepare(payloads);
    await this.recorder?.beforeWrite(payloads, jobs.map((job) => job.track === true), (index) => `jobs[${index}]`);
    if (payloads.some(isFlowJob)) return this.writeFlow(payloads, payloads.map((_, index) => `jobs[${index}]`));
    const byQueue = new Map<string, string[]>();
    const prioritized = new Map<string, { priority: number; payload: string }[]>();
    for (const payload of payloads) {
      if (payload.priority) {
        const ranked = prioritized.get(payload.queue) ?? [];
        ranked.push({ priority: payload.priority, payload: JSON.stringify(payload) });
        prioritized.set(payload.queue, ranked);
        continue;
      }
      const list = byQueue.get(payload.queue) ?? [];
      list.push(JSON.stringify(payload));
      byQueue.set(payload.queue, list);
    }
    const multi = this.redis.multi();
    if (byQueue.size > 0) multi.sadd(this.keys.queues, ...byQueue.keys());
    for (const [queue, list] of byQueue) multi.lpush(this.keys.queue(queue), ...list);
    const queued = VerkScripts.inPipeline(multi, this.keys);
    for (const [queue, jobs] of prioritized) queued.enqueuePrioritized({ queue, jobs });
    await multi.exec().then(checkExec);
    if (this.durability) await this.durability.confirm(this.redis, `The ${payloads.length} job(s) of enqueueMany`);
    this.recorder?.afterWrite(payloads, 'enqueued');
    return payloads.map((payload) => payload.jid);
  }

  /**
   * Runs a job at a time (a Date or epoch milliseconds). A time that has passed
   * enqueues it at once, as Sidekiq does. Returns its jid.
   */
  async schedule(job: EnqueueJob, at: Date | number): Promise<string> {
    const ms = scheduleTime(at);
    const payload = this.build(job);
    if (ms <= Date.now()) return this.enqueue(job.jid ? job : { ...job, jid: payload.jid });
    delete payload.enqueued_at;
    return this.tracing ? this.tracing.send(payload, 'schedule', () => this.writeScheduled(job, payload, ms)) : this.writeScheduled(job, payload, ms);
  }

  /** schedule of a job due later, once its payload is built: client middleware, then the write. */
  private async writeScheduled(job: EnqueueJob, payload: JobPayload, ms: number): Promise<string> {
    await this.prepare([payload], () => 'job');
    await this.recorder?.beforeWrite([payload], [job.track === true], () => 'job');
    if (isFlowJob(payload)) return (await this.writeFlow([payload], ['job'], ms / 1000))[0];
    await this.redis.zadd(this.keys.schedule, String(ms / 1000), JSON.stringify(payload));
    if (this.durability) await this.durability.confirm(this.redis, `Scheduled job ${payload.jid}`);
    this.recorder?.afterWrite([payload], 'scheduled', ms);
    return payload.jid;
  }

  /**
   * Enqueues jobs as one batch (Goose): `onComplete` is enqueued exactly once, when every
   * one of them has finished (succeeded, or died), with the counts. All or nothing.
   */
  async batch(jobs: EnqueueJob[], options: BatchOptions): Promise<BatchResult> {
    const now = nowSeconds();
    const { bid, payloads, callback, token } = validateBatch(jobs, options, this.className, now);
    const onComplete = options.onComplete;
    await this.prepare(payloads);
    await this.prepare([callback], () => 'options.onComplete');
    await this.recorder?.beforeWrite([...payloads, callback], [...jobs.map((job) => job.track === true), onComplete.track === true], (index) =>
      index < payloads.length ? `jobs[${index}]` : 'options.onComplete',
    );
    const callbackJson = JSON.stringify({ ...callback, args: [...callback.args, token], batch_callback_of: bid });
    const placeholder = JSON.stringify(token);
    await this.writeFlow(
      payloads,
      payloads.map((_, index) => `jobs[${index}]`),
      now,
      { bid, callback: callbackJson, placeholder, createdAt: now },
    );
    return { bid, jids: payloads.map((payload) => payload.jid), callbackJid: callback.jid };
  }

  /**
   * Writes jobs through enqueueFlowJobs (to `schedule`, due at `score`, default now):
   * jobs named by a later job's dependsOn become dependable; a dependency on a later job
   * of the same call is refused (it could form a cycle).
   */
  private async writeFlow(payloads: JobPayload[], fields: string[], score = nowSeconds(), batch?: Parameters<FlowWriter['write']>[3]): Promise<string[]> {
    linkDependencies(payloads, fields);
    const jids = await this.flow.write(payloads, payloads.map(() => score), fields, batch);
    if (this.durability) await this.durability.confirm(this.redis, `The ${payloads.length} job(s) written`);
    // A unique duplicate was not written: its jid is the holder's.
    this.recorder?.afterWrite(payloads, 'scheduled', score * 1000, (payload, index) => jids[index] === payload.jid);
    await this.recorder?.notWritten(payloads.filter((payload, index) => jids[index] !== payload.jid));
    if (score <= nowSeconds()) this.onScheduledNow();
    return jids;
  }
}

/** Validates the jobs of enqueueMany and builds their payloads (see validateJob). */
export function validateJobs(jobs: unknown, className: (ref: WorkerClassRef) => string, now: number): JobPayload[] {
  if (!Array.isArray(jobs)) throw new VerkValidationError('jobs', 'must be an array of jobs');
  return jobs.map((job, index) => validateJob(job, `jobs[${index}]`, className, now));
}

/**
 * Validates a batch and builds its payloads (each with the new `bid`) and its callback's
 * (queue defaulting to the first job's). `token` is the string argument the counts
 * replace when the batch completes. Pure: nothing is written.
 */
export function validateBatch(
  jobs: unknown,
  options: unknown,
  className: (ref: WorkerClassRef) => string,
  now: number,
): { bid: string; payloads: JobPayload[]; callback: JobPayload; token: string } {
  if (!Array.isArray(jobs) || jobs.length === 0) throw new VerkValidationError('jobs', 'must be a non-empty array of jobs');
  const onComplete = (options as Partial<BatchOptions> | null)?.onComplete;
  if (options === null || typeof options !== 'object' || onComplete === null || typeof onComplete !== 'object') {
    throw new VerkValidationError('options.onComplete', 'is required: the job to enqueue when the batch is done, { class, args?, queue? }');
  }
  const bid = newJid();
  const payloads = jobs.map((job: unknown, index) => {
    if (job && typeof job === 'object' && 'unique' in job && job.unique !== undefined) {
      throw new VerkValidationError(`jobs[${index}].unique`, 'unique jobs cannot be part of a batch (a duplicate would never count as done)');
    }
    const payload = validateJob(job, `jobs[${index}]`, className, now);
    payload.bid = bid;
    return payload;
  });
  // The counts replace this string argument when the batch completes (in Lua, without
  // decoding the payload, so the callback's own args are kept exactly).
  const token = `__verk_batch_status_${bid}__`;
  const callback = validateJob({ ...onComplete, queue: onComplete.queue ?? payloads[0].queue }, 'options.onComplete', className, now);
  return { bid, payloads, callback, token };
}

/**
 * Dependencies inside one call: a job named by a later job's dependsOn becomes
 * dependable; a dependency on a later job of the same call is refused (it could form a
 * cycle). `fields` names each payload in errors.
 */
export function linkDependencies(payloads: JobPayload[], fields: readonly string[]): void {
  const position = new Map(payloads.map((payload, index) => [payload.jid, index]));
  payloads.forEach((payload, index) => {
    (payload.depends_on ?? []).forEach((dep, at) => {
      const other = position.get(dep);
      if (other === undefined) return;
      if (other > index) throw new VerkValidationError(`${fields[index]}.dependsOn[${at}]`, `depends on ${fields[other]}, which comes later in this call; list dependencies first`);
      payloads[other].dependable = true;
    });
  });
}

export interface BatchResult {
  /** The batch's id (the `bid` field of its jobs). */
  bid: string;
  /** The jobs' jids, in input order. */
  jids: string[];
  /** The jid the callback job will have. */
  callbackJid: string;
}
