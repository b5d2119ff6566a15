import { type EnqueueJob, scheduleTime, validateJob, type WorkerClassRef } from '../client/client';
import { type JobPayload, nowSeconds } from '../core/job';
import type { MiddlewareStack } from '../core/middleware';
import { VerkConfigError, VerkValidationError } from '../errors';
import type { JobTracing } from '../tracing/job-tracing';
import { DELAY_ENTRY_EXCHANGE, delayRoute, delaySeconds, MAX_DELAY_SECONDS } from './delay-ladder';
import type { MessagePublisher, OutgoingMessage } from './outgoing';
import { checkRabbitQueueName, workQueueName } from './topology';

/** Job fields whose feature keeps state in Redis: the field, the feature, why. */
const REDIS_ONLY_FIELDS: readonly (readonly [field: keyof EnqueueJob, feature: string, reason: string])[] = [
  ['dependsOn', 'dependencies', 'a job waits in Redis until the jobs it depends on are recorded as finished there'],
  ['dependable', 'dependencies', 'finished dependable jobs are recorded in Redis'],
  ['unique', 'unique jobs', 'the lock is a Redis key taken atomically with the enqueue'],
  ['priority', 'priorities', 'RabbitMQ quorum queues have no priorities (use a queue per priority)'],
  ['tags', 'tags', 'they are indexed in Redis sorted sets'],
  ['track', 'tracking', 'events are published through Redis pub/sub'],
  ['group', 'groups', 'round-robin across groups and per-group limits are Redis structures read by the fetch script'],
];

/** What the client needs of its node. */
export interface RabbitClientOptions {
  publisher: MessagePublisher;
  className?: (ref: WorkerClassRef) => string;
  middleware: MiddlewareStack;
  tracing?: JobTracing;
}

/**
 * Enqueue and schedule on RabbitMQ: the same checks and the same Sidekiq JSON payload as
 * the Redis client (validateJob, client middleware, tracing), then a persistent message
 * whose publisher confirm is awaited. Scheduled jobs go down the delay ladder.
 */
export class RabbitClient {
  private readonly className: (ref: WorkerClassRef) => string;

  constructor(private readonly options: RabbitClientOptions) {
    this.className = options.className ?? ((ref) => ref.name);
  }

  /** The payload of a job, refusing fields of Redis-only features (nothing is published). */
  build(job: EnqueueJob, field = 'job', now = nowSeconds()): JobPayload {
    if (job !== null && typeof job === 'object') {
      for (const [name, feature, reason] of REDIS_ONLY_FIELDS) {
        const value = (job as unknown as Record<string, unknown>)[name];
        if (value === undefined || (name === 'priority' && value === 0) || (name === 'track' && value === false)) continue;
        throw new VerkValidationError(`${field}.${name}`, `${feature} need the Redis broker, and this node uses RabbitMQ: ${reason}`);
      }
    }
    const payload = validateJob(job, field, this.className, now);
    checkRabbitQueueName(payload.queue, `${field}.queue`);
    return payload;
  }

  /** Adds a job to the end of its queue once the broker confirmed it; returns its jid. */
  async enqueue(job: EnqueueJob): Promise<string> {
    const payload = this.build(job);
    const write = async (): Promise<string> => {
      await this.options.middleware.prepare([payload], () => 'job');
      await this.options.publisher.publish([toQueue(payload)]);
      return payload.jid;
    };
    return this.options.tracing ? this.options.tracing.send(payload, 'send', write) : write();
  }

  /** Adds many jobs, published together and confirmed together; returns their jids in order. */
  async enqueueMany(jobs: EnqueueJob[]): Promise<string[]> {
    if (!Array.isArray(jobs)) throw new VerkValidationError('jobs', 'must be an array of jobs');
    const now = nowSeconds();
    const payloads = jobs.map((job, index) => this.build(job, `jobs[${index}]`, now));
    if (payloads.length === 0) return [];
    const write = async (): Promise<string[]> => {
      await this.options.middleware.prepare(payloads);
      await this.options.publisher.publish(payloads.map(toQueue));
      return payloads.map((payload) => payload.jid);
    };
    return this.options.tracing ? this.options.tracing.sendMany(payloads, write) : write();
  }

  /**
   * Runs a job at `at` (a Date or epoch ms) through the delay ladder, to the second
   * (±1 s); a time less than half a second away enqueues it now. Returns its jid.
   */
  async schedule(job: EnqueueJob, at: Date | number): Promise<string> {
    const ms = scheduleTime(at);
    const delay = ms - Date.now();
    if (delaySeconds(delay) === 0) return this.enqueue(job);
    if (delaySeconds(delay) > MAX_DELAY_SECONDS) throw new VerkValidationError('at', `is ${delaySeconds(delay)} s away; the RabbitMQ delay ladder reaches ${MAX_DELAY_SECONDS} s (about 8.5 years)`);
    const payload = this.build(job);
    delete payload.enqueued_at;
    const write = async (): Promise<string> => {
      await this.options.middleware.prepare([payload], () => 'job');
      // Measured again: middleware may have taken time.
      await this.options.publisher.publish([delayed(payload.queue, JSON.stringify(payload), ms - Date.now())]);
      return payload.jid;
    };
    return this.options.tracing ? this.options.tracing.send(payload, 'schedule', write) : write();
  }

  /** Batches keep their counters in Redis. */
  batch(): never {
    throw new VerkConfigError('batches need the Redis broker, and this node uses RabbitMQ: a batch\'s counters and its one-time callback are kept in Redis and updated atomically by Lua scripts');
  }
}

/** A job to the end of its queue (the default exchange routes by queue name). */
function toQueue(payload: JobPayload): OutgoingMessage {
  return { exchange: '', routingKey: workQueueName(payload.queue), body: Buffer.from(JSON.stringify(payload)), queue: payload.queue };
}

/** A job text to `queue` after `ms` (down the ladder), or at once when that rounds to 0 s. */
export function delayed(queue: string, text: string, ms: number): OutgoingMessage {
  const body = Buffer.from(text);
  if (delaySeconds(ms) === 0) return { exchange: '', routingKey: workQueueName(queue), body, queue };
  const route = delayRoute(Math.min(ms, MAX_DELAY_SECONDS * 1000), queue);
  return { exchange: DELAY_ENTRY_EXCHANGE, routingKey: route.routingKey, body, queue };
}
