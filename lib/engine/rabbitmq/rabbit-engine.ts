import { NodeLifecycle } from '../core/lifecycle';
import { MiddlewareStack } from '../core/middleware';
import { withTimeout } from '../core/timing';
import { WorkerRegistry } from '../core/worker-registry';
import { VerkConfigError, VerkStateError, VerkValidationError } from '../errors';
import { EventBus } from '../events';
import { consoleLogger, type VerkLogger } from '../logger';
import { type ResolvedVerkOptions, resolveOptions, type VerkOptions } from '../options';
import { checkConcurrency } from '../admin/admin-input';
import { checkPingTimeout } from '../redis/redis-health';
import { JobTracing } from '../tracing/job-tracing';
import type { VerkEngineHooks, VerkHealthFacts } from '../verk-engine';
import { type Channel, loadAmqp } from './amqp';
import { type LiveConnection, RabbitConnection } from './connection';
import { RabbitConsumer } from './consumer';
import type { RabbitCounters } from './counters';
import { RabbitControl } from './control';
import { DeadQueue } from './dead-queue';
import { Publisher } from './publisher';
import { RabbitClient } from './rabbit-client';
import type { ResolvedRabbitOptions } from './rabbit-options';
import { checkRabbitQueueName, DEAD_QUEUE, Topology } from './topology';

/**
 * One node of the job system on RabbitMQ (option `broker: { rabbitmq: url }`): the same
 * workers, middleware, events, payloads and retry backoff as VerkEngine, with jobs kept in
 * durable (quorum by default) RabbitMQ queues instead of Redis. Enqueues wait for
 * publisher confirms, deliveries are acknowledged once their outcome is settled, delays
 * (schedule, retry backoff) go down a ladder of TTL queues. Delivery is at-least-once.
 * Features that keep state in Redis are refused at boot. See docs/rabbitmq.md.
 */
export class VerkRabbitEngine {
  readonly options: ResolvedVerkOptions;
  readonly workers = new WorkerRegistry();
  /** Server middleware (around every job this node runs) and client middleware (around every enqueue). */
  readonly middleware = new MiddlewareStack();
  /** Job and queue events of this node; listeners run off the job's path. */
  readonly events: EventBus;
  /** enqueue, enqueueMany, schedule (batch: Redis only). */
  readonly client: RabbitClient;
  private readonly broker: ResolvedRabbitOptions;
  private readonly logger: VerkLogger;
  private readonly connection: RabbitConnection;
  private readonly topology: Topology;
  private readonly publisher: Publisher;
  private readonly control: RabbitControl;
  private readonly dead: DeadQueue;
  private readonly tracing?: JobTracing;
  private readonly consumers = new Map<string, RabbitConsumer>();
  private readonly counts: RabbitCounters = { processed: 0, failed: 0, retried: 0, dead: 0, recovered: 0, poisoned: 0 };
  private readonly lifecycle: NodeLifecycle;
  private deadBoundWarned = false;

  constructor(
    options: VerkOptions,
    private readonly hooks: VerkEngineHooks = {},
  ) {
    this.options = resolveOptions(options);
    this.lifecycle = new NodeLifecycle(this.options.nodeId);
    if (!this.options.broker) throw new VerkConfigError('Invalid Verk option "broker": VerkRabbitEngine needs broker: { rabbitmq: "amqp://..." } (VerkEngine is the Redis engine)', { field: 'broker' });
    this.broker = this.options.broker;
    for (const queue of Object.keys(this.options.queues)) asConfig(() => checkRabbitQueueName(queue, 'queues'));
    // Loaded here, so an application on Redis never needs amqplib.
    const amqp = loadAmqp();
    if (this.options.tracing.enabled) this.tracing = new JobTracing(this.options.tracing);
    this.logger = hooks.logger ?? consoleLogger;
    this.events = new EventBus(this.logger);
    const heartbeatSeconds = Math.max(1, Math.round(this.options.heartbeat / 1000));
    // confirmTimeout bounds each connection attempt too: a broker that accepts and never answers fails it.
    this.connection = new RabbitConnection(amqp, this.broker.url, `verk:${this.options.nodeId}`, this.logger, { heartbeatSeconds, connectTimeout: this.broker.confirmTimeout });
    this.topology = new Topology(this.broker.queueType, this.options.maxDeadJobs);
    this.publisher = new Publisher(this.connection, this.topology, this.broker.confirmTimeout, this.logger);
    this.control = new RabbitControl(this.connection, this.publisher, this.topology, this.logger, {
      pause: (queue) => this.consumers.get(queue)?.pause(),
      resume: (queue) => this.consumers.get(queue)?.resume(),
      missed: () => this.syncPauses(),
    });
    this.dead = new DeadQueue(this.connection, this.publisher, this.broker.confirmTimeout);
    this.client = new RabbitClient({ publisher: this.publisher, className: hooks.className, middleware: this.middleware, tracing: this.tracing });
    // Run on the first connection and again after every reconnect, in this order.
    this.connection.onConnect((live) => this.declareShared(live));
    this.connection.onConnect((live) => this.publisher.attach(live));
    this.connection.onConnect((live) => this.control.attach(live));
    this.connection.onConnect((live) => this.resumeConsumers(live));
    this.connection.onLost(() => this.consumers.forEach((consumer) => consumer.detach()));
  }

  get nodeId(): string {
    return this.options.nodeId;
  }

  /** What this node counted since it started: processed, failed, retried, dead, recovered (redelivered), poisoned. */
  get counters(): Readonly<RabbitCounters> {
    return { ...this.counts };
  }

  /** Names of the queues this node is running, with their concurrency. */
  queues(): Record<string, number> {
    const result: Record<string, number> = {};
    for (const [name, consumer] of this.consumers) result[name] = consumer.concurrency;
    return result;
  }

  /**
   * The facts a health check judges, from memory. The "heartbeat" is the AMQP connection:
   * fresh while it is up (the broker and the client exchange heartbeats on it), else as
   * old as the outage.
   */
  health(): VerkHealthFacts {
    const queues: VerkHealthFacts['queues'] = {};
    for (const [name, consumer] of this.consumers) queues[name] = { concurrency: consumer.concurrency, running: consumer.running, busy: consumer.busy };
    const lastHeartbeatAt = this.connection.current ? Date.now() : this.connection.lostAt;
    return { nodeId: this.nodeId, state: this.lifecycle.state, heartbeat: this.options.heartbeat, lastHeartbeatAt, queues };
  }

  /** A round trip to the broker, ms; rejects with a VerkBrokerError when it is away or slower than `timeoutMs`. */
  async ping(timeoutMs = 1000): Promise<number> {
    return this.publisher.ping(checkPingTimeout(timeoutMs, 'timeoutMs'));
  }

  /** Connects (declaring the ladder, the dead queue and the control exchange), then consumes every queue. */
  async start(): Promise<void> {
    // stop() during start() rejects this at once and closes the connection (an attempt
    // still connecting is given up); a failed start closes it too, so the process can exit.
    await this.lifecycle.start(
      async () => {
        await this.connection.open();
        this.lifecycle.checkStarting();
        for (const [queue, concurrency] of Object.entries(this.options.queues)) await this.startConsumer(queue, concurrency, () => this.lifecycle.checkStarting());
      },
      async () => {
        // Consumers of the queues started before the failing step stop too (bounded), so
        // none is reported running or left to reattach.
        await this.stopConsumers(Date.now() + this.options.shutdownTimeout);
        await this.connection.close();
      },
    );
    this.logger.log(`Node ${this.nodeId} running queues ${Object.entries(this.options.queues).map(([q, c]) => `${q}(${c})`).join(', ') || '(none)'} on RabbitMQ (${this.broker.queueType} queues)`);
  }

  private async declareShared(live: LiveConnection): Promise<void> {
    const channels: Channel[] = [];
    const open = async (): Promise<Channel> => {
      const channel = await live.model.createChannel();
      channel.on('error', () => undefined);
      channels.push(channel);
      return channel;
    };
    try {
      await this.topology.declareShared(await open());
      if (!(await this.topology.declareDead(open)) && !this.deadBoundWarned) {
        this.deadBoundWarned = true;
        this.logger.warn(`${DEAD_QUEUE} was declared with another bound than maxDeadJobs ${this.options.maxDeadJobs} (by another node or an earlier deploy) and keeps it; to change it, delete the queue (its jobs go with it) or set a max-length policy`);
      }
    } finally {
      await Promise.all(channels.map((channel) => channel.close().catch(() => undefined)));
    }
  }

  /** After a reconnect: each queue's pause state again (announcements were missed), then its channel. */
  private async resumeConsumers(live: LiveConnection): Promise<void> {
    await this.syncPauses();
    for (const consumer of this.consumers.values()) await consumer.attach(live);
  }

  /** Each queue's pause state, read from `verk.paused.<q>`. */
  private async syncPauses(): Promise<void> {
    for (const [queue, consumer] of this.consumers) {
      if (await this.control.isPaused(queue)) consumer.pause();
      else consumer.resume();
    }
  }

  /** `check` throws when the node is being stopped meanwhile: then no consumer is created. */
  private async startConsumer(queue: string, concurrency: number, check: () => void): Promise<void> {
    const paused = await this.control.isPaused(queue);
    check();
    const consumer = new RabbitConsumer({
      queue,
      concurrency,
      nodeId: this.nodeId,
      topology: this.topology,
      publisher: this.publisher,
      workers: this.workers,
      middleware: this.middleware,
      events: this.events,
      logger: this.logger,
      maxRetryCount: this.options.maxRetryCount,
      maxRecoveries: this.options.maxRecoveries,
      paused,
      counters: this.counts,
      connection: () => this.connection.current,
      tracing: this.tracing,
      clock: this.hooks.clock,
    });
    this.consumers.set(queue, consumer);
    try {
      await consumer.start(this.connection.current);
    } catch (error) {
      // Not running (its channel or declare failed): forgotten, so it is not reported as
      // running, a reconnect does not attach it, and addQueue can be tried again.
      if (this.consumers.get(queue) === consumer) this.consumers.delete(queue);
      await consumer.stop(Date.now()).catch(() => undefined);
      throw error;
    }
  }

  /** Starts processing a queue on this node at runtime. */
  async addQueue(queue: string, concurrency: number): Promise<void> {
    checkRabbitQueueName(queue, 'queue');
    checkConcurrency(concurrency, 'concurrency');
    // Checked before and again after startConsumer's read: a stop(), or another addQueue of
    // the queue, may have come meanwhile.
    const checkRunning = (): void => {
      if (this.consumers.has(queue)) throw new VerkStateError(`Queue "${queue}" is already running on node ${this.nodeId}`);
      if (this.lifecycle.state !== 'running') throw new VerkStateError(`Verk node ${this.nodeId} is not running (${this.lifecycle.state}): queues are added between start() and stop()`);
    };
    checkRunning();
    await this.startConsumer(queue, concurrency, checkRunning);
  }

  /** Stops processing a queue on this node: running jobs finish, waiting jobs stay in RabbitMQ. */
  async removeQueue(queue: string): Promise<void> {
    const consumer = this.consumers.get(queue);
    if (!consumer) throw new VerkStateError(`Queue "${queue}" is not running on node ${this.nodeId}`);
    this.consumers.delete(queue);
    await consumer.stop(Date.now() + this.options.shutdownTimeout);
  }

  /** Stops taking jobs of a queue on every node (kept in `verk.paused.<q>`: nodes that start later see it too); running jobs finish. */
  async pauseQueue(queue: string): Promise<void> {
    checkRabbitQueueName(queue, 'queue');
    await this.control.announce(queue, 'pause');
  }

  /** Lets every node take jobs of a paused queue again. */
  async resumeQueue(queue: string): Promise<void> {
    checkRabbitQueueName(queue, 'queue');
    await this.control.announce(queue, 'resume');
  }

  /** True when the queue is paused (for every node). */
  async isPaused(queue: string): Promise<boolean> {
    checkRabbitQueueName(queue, 'queue');
    return this.control.isPaused(queue);
  }

  /** Enqueues up to `count` of the oldest dead jobs again, each to its queue; returns how many. */
  async retryDead(count: number): Promise<number> {
    if (!Number.isInteger(count) || count < 1) throw new VerkValidationError('count', `must be an integer >= 1, got ${JSON.stringify(count)}`);
    return this.dead.retry(count);
  }

  /** Removes every dead job; returns how many. */
  clearDead(): Promise<number> {
    return this.dead.clear();
  }

  /** How many jobs are in `verk.dead`. */
  deadCount(): Promise<number> {
    return this.dead.size();
  }

  /**
   * Graceful stop: no new deliveries, running jobs get up to shutdownTimeout, then the
   * channels close and RabbitMQ redelivers what was not finished. With `keepClient` the
   * connection stays open for enqueues until `closeClient()`.
   */
  async stop(options: { keepClient?: boolean } = {}): Promise<void> {
    // A start() under way rejects now; consumers it had started are stopped below.
    const stopping = this.lifecycle.beginStop();
    if (!stopping) {
      if (!options.keepClient) await this.closeClient();
      return;
    }
    if (stopping.wasStarted) {
      await this.stopConsumers(Date.now() + this.options.shutdownTimeout);
      this.logger.log(`Node ${this.nodeId} stopped`);
    }
    this.lifecycle.stopped();
    if (!options.keepClient) await this.closeClient();
  }

  /** Stops every consumer (running jobs get until `deadline`) and forgets them: a stop, or the clean-up of a failed start. */
  private async stopConsumers(deadline: number): Promise<void> {
    await Promise.all([...this.consumers.values()].map((consumer) => consumer.stop(deadline)));
    this.consumers.clear();
  }

  /** Closes the connection (the enqueue client's too). */
  async closeClient(): Promise<void> {
    await withTimeout(this.connection.close(), 5000, undefined);
  }
}

/** A queue name check at construction is a setup error. */
function asConfig(check: () => unknown): void {
  try {
    check();
  } catch (error) {
    if (error instanceof VerkValidationError) throw new VerkConfigError(`Invalid Verk option "queues": ${error.message}`, { field: 'queues', cause: error });
    throw error;
  }
}
