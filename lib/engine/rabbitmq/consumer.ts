import { failJob, type FailureOutcome, invalidJob, outcomeText } from '../core/failure';
import { type JobPayload, nowSeconds, parsePayload } from '../core/job';
import type { MiddlewareStack } from '../core/middleware';
import { backoffMs, Sleeper, withTimeout } from '../core/timing';
import type { WorkerHandler, WorkerRegistry } from '../core/worker-registry';
import { UnknownWorkerError } from '../errors';
import { type EventBus, JobFailed, JobFinished, JobStarted, QueuePaused, QueuePausing, QueueRunning } from '../events';
import { RateLimitedLog, type VerkLogger } from '../logger';
import type { JobTracing } from '../tracing/job-tracing';
import type { Channel, ConsumeMessage } from './amqp';
import { ChannelAcks } from './channel-acks';
import type { LiveConnection } from './connection';
import type { RabbitCounters } from './counters';
import type { MessagePublisher, OutgoingMessage } from './outgoing';
import { delayed } from './rabbit-client';
import { DEAD_QUEUE, type Topology, workQueueName } from './topology';

export interface RabbitConsumerOptions {
  queue: string;
  concurrency: number;
  nodeId: string;
  topology: Topology;
  publisher: MessagePublisher;
  workers: WorkerRegistry;
  middleware: MiddlewareStack;
  events: EventBus;
  logger: VerkLogger;
  maxRetryCount: number;
  maxRecoveries: number;
  paused: boolean;
  counters: RabbitCounters;
  /** The connection now (undefined while down): a channel that closed alone is reopened on it. */
  connection: () => LiveConnection | undefined;
  tracing?: JobTracing;
  clock?: () => number;
}

/** The channel a job was delivered on: its acknowledgement is only valid there. */
interface Delivery {
  channel: Channel;
  generation: number;
  acks: ChannelAcks;
  /** The consumer on it, while consuming. */
  tag?: string;
}

/**
 * Runs one queue on this node: a channel with prefetch = concurrency (the broker never
 * has more of this queue's jobs out to this node than that), manual acknowledgements once
 * the job's outcome is settled. A job that fails is published to retry (the ladder) or
 * dead and confirmed before its delivery is acknowledged, so a crash in between runs it
 * again rather than losing it (at-least-once). A job whose channel was lost meanwhile is
 * never acknowledged on another channel: the broker redelivers it.
 */
export class RabbitConsumer {
  readonly queue: string;
  readonly concurrency: number;
  private delivery?: Delivery;
  /** The connection generation a channel is being opened on. */
  private attaching?: number;
  private paused: boolean;
  private pausedAnnounced = false;
  private state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  private busyCount = 0;
  private idleWaiter?: () => void;
  private syncing: Promise<void> = Promise.resolve();
  private readonly sleeper = new Sleeper();
  private readonly warnings: RateLimitedLog;
  private readonly clock: () => number;

  constructor(private readonly options: RabbitConsumerOptions) {
    this.queue = options.queue;
    this.concurrency = options.concurrency;
    this.paused = options.paused;
    this.clock = options.clock ?? Date.now;
    this.warnings = new RateLimitedLog(options.logger, 2000);
  }

  /** Jobs running or settling their outcome on this node now. */
  get busy(): number {
    return this.busyCount;
  }

  get running(): boolean {
    return this.state === 'running';
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** Begins processing (QueueRunning, or QueuePaused when it starts paused); consumes once a channel is attached. */
  start(live?: LiveConnection): Promise<void> {
    this.state = 'running';
    this.options.events.emit(this.paused ? new QueuePaused(this.queue) : new QueueRunning(this.queue));
    this.pausedAnnounced = this.paused;
    return live ? this.attach(live) : Promise.resolve();
  }

  /** Opens this queue's channel on a (new) connection and consumes unless paused. */
  async attach(live: LiveConnection): Promise<void> {
    // One channel per connection: a second would hold deliveries nobody acknowledges.
    if (this.state !== 'running' || this.delivery?.generation === live.generation || this.attaching === live.generation) return;
    this.attaching = live.generation;
    try {
      await this.open(live);
    } finally {
      this.attaching = undefined;
    }
  }

  private async open(live: LiveConnection): Promise<void> {
    const channel = await live.model.createChannel();
    const delivery: Delivery = { channel, generation: live.generation, acks: new ChannelAcks(channel) };
    channel.on('error', (error: Error) => this.warnings.warn(`Queue ${this.queue}: RabbitMQ channel error: ${error.message}`));
    channel.on('close', () => {
      if (this.delivery !== delivery) return;
      this.delivery = undefined;
      // Closed alone (a channel error) on a live connection: open another. A lost connection reattaches on reconnect.
      void this.sleeper.sleep(1000).then(() => {
        const current = this.options.connection();
        if (current?.generation === live.generation && this.delivery === undefined) return this.attach(current);
        return undefined;
      }).catch((error: unknown) => this.warnings.warn(`Queue ${this.queue}: could not reopen its channel (${(error as Error).message})`));
    });
    await channel.prefetch(this.concurrency, false);
    await this.options.topology.declareWorkQueue(channel, this.queue);
    // stop() (removeQueue, a stop during start) came while the channel opened: it found no
    // channel to close, so this one would stay open for the connection's life.
    if (this.state !== 'running') {
      await channel.close().catch(() => undefined);
      return;
    }
    this.delivery = delivery;
    await this.sync();
  }

  /** The connection is gone with every channel: deliveries of the old one are never acknowledged. */
  detach(): void {
    this.delivery = undefined;
  }

  /** Stops taking jobs on this node (QueuePausing); the ones running finish, then QueuePaused. */
  pause(): void {
    if (this.paused || this.state !== 'running') return;
    this.paused = true;
    this.pausedAnnounced = false;
    this.options.events.emit(new QueuePausing(this.queue));
    void this.sync();
    this.announceIfPaused();
  }

  /** Takes jobs again (QueueRunning). */
  resume(): void {
    if (!this.paused || this.state !== 'running') return;
    this.paused = false;
    this.options.events.emit(new QueueRunning(this.queue));
    void this.sync();
  }

  /**
   * Stops consuming, lets running jobs finish until `deadline` (epoch ms), then closes the
   * channel: the broker puts back what is still unacknowledged (with quorum queues that
   * counts as one delivery towards maxRecoveries).
   */
  async stop(deadline: number): Promise<number> {
    if (this.state !== 'running') return 0;
    this.state = 'stopping';
    await withTimeout(this.sync(), deadline - Date.now(), undefined);
    if (this.busyCount > 0) await withTimeout(new Promise<void>((resolve) => (this.idleWaiter = resolve)), deadline - Date.now(), undefined);
    const unfinished = this.busyCount;
    this.state = 'stopped';
    this.sleeper.cancel();
    const delivery = this.delivery;
    this.delivery = undefined;
    delivery?.acks.flush();
    await withTimeout(delivery?.channel.close().catch(() => undefined) ?? Promise.resolve(), 2000, undefined);
    if (unfinished > 0) this.options.logger.warn(`Queue ${this.queue}: ${unfinished} job(s) did not finish within the shutdown timeout; RabbitMQ redelivers them`);
    return unfinished;
  }

  /** Brings the consumer in line with the state (consuming iff running and not paused), one change at a time. */
  private sync(): Promise<void> {
    this.syncing = this.syncing.then(() => this.syncOnce()).catch((error: unknown) => this.warnings.warn(`Queue ${this.queue}: could not ${this.paused ? 'stop' : 'start'} consuming (${(error as Error).message})`));
    return this.syncing;
  }

  private async syncOnce(): Promise<void> {
    const delivery = this.delivery;
    if (!delivery) return;
    const wanted = this.state === 'running' && !this.paused;
    if (wanted && delivery.tag === undefined) {
      const { consumerTag } = await delivery.channel.consume(workQueueName(this.queue), (message) => this.onMessage(delivery, message), { noAck: false });
      delivery.tag = consumerTag;
    } else if (!wanted && delivery.tag !== undefined) {
      const tag = delivery.tag;
      delivery.tag = undefined;
      await delivery.channel.cancel(tag);
    }
  }

  private onMessage(delivery: Delivery, message: ConsumeMessage | null): void {
    if (message === null) {
      // The broker cancelled the consumer (its queue was deleted): declare and consume again.
      this.options.logger.warn(`Queue ${this.queue}: RabbitMQ cancelled the consumer (queue deleted?); consuming again`);
      delivery.tag = undefined;
      void this.sleeper.sleep(1000).then(() => (this.delivery === delivery ? this.options.topology.declareWorkQueue(delivery.channel, this.queue).then(() => this.sync()) : undefined)).catch(() => undefined);
      return;
    }
    this.busyCount++;
    delivery.acks.delivered(message);
    void this.handle(delivery, message)
      .catch((error: unknown) => this.options.logger.error(`Queue ${this.queue}: internal error running a job: ${(error as Error).message}`, (error as Error).stack))
      .finally(() => {
        this.busyCount--;
        if (this.busyCount === 0) this.idleWaiter?.();
        this.announceIfPaused();
      });
  }

  private announceIfPaused(): void {
    if (this.paused && !this.pausedAnnounced && this.busyCount === 0) {
      this.pausedAnnounced = true;
      this.options.events.emit(new QueuePaused(this.queue));
    }
  }

  private async handle(delivery: Delivery, message: ConsumeMessage): Promise<void> {
    const raw = message.content.toString('utf8');
    const { counters, maxRecoveries } = this.options;
    if (message.fields.redelivered) counters.recovered++;
    const parsed = parsePayload(raw, this.queue);
    if (!parsed.ok) {
      const outcome = invalidJob(raw, this.queue, parsed.reason, parsed.partial);
      this.options.logger.error(`Queue ${this.queue}: ${outcome.payload.error_message}; moved to dead`);
      return this.settle(delivery, message, raw, outcome);
    }
    // Quorum queues count returns (a node that died or lost its connection with the job unacknowledged).
    const returns = Number(message.properties.headers?.['x-delivery-count'] ?? 0);
    if (returns > maxRecoveries) {
      counters.poisoned++;
      this.options.logger.error(`Queue ${this.queue}: job ${parsed.payload.jid} was delivered ${returns + 1} times without finishing; sent to dead as poison (maxRecoveries ${maxRecoveries})`);
      return this.settle(delivery, message, raw, poisonOutcome(parsed.payload, returns, maxRecoveries));
    }
    await this.run(delivery, message, raw, parsed.payload);
  }

  private async run(delivery: Delivery, message: ConsumeMessage, raw: string, job: JobPayload): Promise<void> {
    const { events, tracing, workers, nodeId } = this.options;
    const worker = workers.get(job.class);
    const started = this.clock();
    if (events.active) events.emit(new JobStarted(job, this.queue, new Date(started)));
    try {
      if (tracing === undefined) await this.perform(worker, job);
      else await tracing.process(job, this.queue, nodeId, () => this.perform(worker, job));
    } catch (error) {
      const durationMs = this.clock() - started;
      const outcome = failJob(job, error, {
        maxRetryCount: this.options.maxRetryCount,
        retryAt: worker?.retryAt,
        onBadRetryAt: (value) => this.options.logger.warn(`Worker ${job.class}: retryAt returned ${String(value)}, using the default backoff`),
      });
      this.options.counters.failed++;
      if (events.active) {
        const retryAt = outcome.target === 'retry' ? new Date(outcome.score * 1000) : undefined;
        events.emit(new JobFailed(outcome.payload, this.queue, error, outcome.payload.error_backtrace ?? '', new Date(), durationMs, retryAt));
      }
      return this.settle(delivery, message, raw, outcome);
    }
    const finished = this.clock();
    if (events.active) events.emit(new JobFinished(job, this.queue, new Date(started), new Date(finished), finished - started));
    if (this.acknowledge(delivery, message)) this.options.counters.processed++;
  }

  /** The worker's perform inside the middleware; an unknown class is a failure like any other. */
  private perform(worker: WorkerHandler | undefined, job: JobPayload): unknown {
    if (!worker) throw new UnknownWorkerError(`No worker for job class "${job.class}" on node ${this.options.nodeId} (known: ${this.options.workers.names().join(', ') || 'none'})`);
    return this.options.middleware.perform(worker, job, this.queue, this.options.nodeId);
  }

  /**
   * Publishes a failed job to retry (down the ladder) or to dead and, once confirmed,
   * acknowledges its delivery; repeated while the delivery's channel lives. Once that
   * channel is gone the broker redelivers the job, so nothing more is done here.
   */
  private async settle(delivery: Delivery, message: ConsumeMessage, raw: string, outcome: FailureOutcome): Promise<void> {
    const text = outcomeText(raw, outcome);
    const out: OutgoingMessage = outcome.target === 'retry' ? delayed(this.queue, text, outcome.score * 1000 - Date.now()) : { exchange: '', routingKey: DEAD_QUEUE, body: Buffer.from(text) };
    for (let attempt = 0; this.delivery === delivery; attempt++) {
      try {
        await this.options.publisher.publish([out]);
        if (this.acknowledge(delivery, message)) {
          if (outcome.target === 'retry') this.options.counters.retried++;
          else this.options.counters.dead++;
        }
        return;
      } catch (error) {
        this.warnings.warn(`Queue ${this.queue}: could not send job ${outcome.payload.jid} to ${outcome.target} (${(error as Error).message}); retrying`);
        await this.sleeper.sleep(backoffMs(attempt));
      }
    }
  }

  /** Acknowledges on the channel the job came on, if it still lives (else the broker redelivers it); batched, see ChannelAcks. */
  private acknowledge(delivery: Delivery, message: ConsumeMessage): boolean {
    if (this.delivery !== delivery) return false;
    delivery.acks.ack(message);
    return true;
  }
}

/** A job delivered more than maxRecoveries + 1 times: dead, with Redis's PoisonJobError fields. */
function poisonOutcome(job: JobPayload, returns: number, maxRecoveries: number): FailureOutcome {
  const now = nowSeconds();
  const fields: Record<string, unknown> = {
    error_class: 'PoisonJobError',
    error_message: `Job was delivered ${returns + 1} times without finishing (its node died or lost its connection running it); it is presumed to crash its worker and was not run again (maxRecoveries ${maxRecoveries})`,
    ...(typeof job.failed_at === 'number' ? {} : { failed_at: now }),
    retried_at: now,
  };
  return { target: 'dead', score: now, payload: { ...job, ...fields }, fields };
}
