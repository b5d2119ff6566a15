import type Redis from 'ioredis';
import { VerkAdmin } from './admin/admin';
import { VerkBrowse } from './admin/browse';
import { VerkBulkActions } from './admin/bulk-actions';
import { VerkClient } from './client/client';
import { VerkConfigError, VerkValidationError } from './errors';
import { checkQueueName } from './admin/admin-input';
import { VerkFlowAdmin } from './flow/flow-admin';
import { Keys } from './redis/keys';
import { consoleLogger, silentLogger, type VerkLogger } from './logger';
import type { VerkEngineHooks, VerkHealthFacts } from './node-facts';
import { EventBus } from './events';
import { MiddlewareStack } from './core/middleware';
import { NodeLifecycle } from './core/lifecycle';
import { VerkJobControl } from './admin/job-control';
import { type ResolvedVerkOptions, resolveOptions, type VerkOptions } from './options';
import { NodeQueues } from './processing/node-queues';
import { ControlFollower } from './processing/control-follower';
import { checkQueueLimits, type QueueLimits, type QueueLimitsState, readQueueLimits, writeQueueLimits } from './limits/queue-limits';
import { type JobEvent, JobRecorder } from './history/recorder';
import { checkExec } from './redis/multi';
import { closeConnection, createConnection } from './redis/redis';
import { Durability } from './redis/durability';
import { publishIn } from './redis/pubsub';
import { checkPingTimeout, checkRedisVersion, HealthPing } from './redis/redis-health';
import { Heartbeat } from './core/heartbeat';
import { Recovery } from './core/recovery';
import { VerkRecurring } from './recurring/recurring';
import { RecurringScheduler } from './recurring/recurring-scheduler';
import { Scheduler } from './core/scheduler';
import { withTimeout } from './core/timing';
import { JobTracing } from './tracing/job-tracing';
import { type TrackedJobListener, TrackedJobSubscriptions } from './history/tracking';
import { WorkerRegistry } from './core/worker-registry';
import { EngineMetrics } from './metrics/engine-metrics';
import type { VerkMetricsRegistry } from './metrics/metrics-options';
import { ClassMetricsRecorder } from './class-metrics/class-metrics-recorder';

// Declared with the types both engines share; still importable from here (rabbit-engine, verk.health).
export type { VerkEngineHooks, VerkHealthFacts } from './node-facts';

/**
 * One node of the job system, in plain TypeScript: a manager per queue, the scheduler,
 * and the enqueue client. The Nest module is a thin shell around this class.
 */
export class VerkEngine {
  readonly options: ResolvedVerkOptions;
  readonly keys: Keys;
  readonly workers = new WorkerRegistry();
  /** Server middleware (around every job this node runs) and client middleware (around every enqueue). */
  readonly middleware = new MiddlewareStack();
  /** Moving jobs between queues and taking running jobs from their worker. */
  readonly control: VerkJobControl;
  readonly client: VerkClient;
  /** Job and queue events of this node; listeners run off the job's path. */
  readonly events: EventBus;
  /** Stats and job management (Sidekiq web's operations); uses the enqueue client's connection. */
  readonly admin: VerkAdmin;
  /** Bounded reads for large sets: filtered search, the Busy page, the Queues page. */
  readonly browse: VerkBrowse;
  /** Retry, delete and kill many jobs of `retry`, `schedule`, `dead` in batched scripts. */
  readonly bulk: VerkBulkActions;
  /** Job lookup with dependencies, batch status, dependency-aware cancel. */
  readonly flow: VerkFlowAdmin;
  /** Recurring jobs: definitions (also the ones declared in code, written at start). */
  readonly recurring: VerkRecurring;
  /** Job history, tags and tracking (see recorder.ts); other transitions record through it too. */
  readonly recorder: JobRecorder;
  private readonly trackedJobs: TrackedJobSubscriptions;
  /** Spans around enqueue and perform; undefined (and @opentelemetry/api never loaded) unless `tracing` is set. */
  private readonly tracing?: JobTracing;
  private readonly logger: VerkLogger;
  /** Receives pause/resume announcements (a subscribed connection can do nothing else). */
  private readonly subscriber: Redis;
  private readonly redis: Redis;
  private readonly clientRedis: Redis;
  /** PING only (health checks): fails fast while Redis is away; see ConnectionRole 'health'. */
  private readonly healthRedis: Redis;
  private readonly healthPing: HealthPing;
  /** This node's queues: a manager each, added at start or at runtime. */
  private readonly nodeQueues: NodeQueues;
  private readonly scheduler: Scheduler;
  private readonly recurringScheduler: RecurringScheduler;
  private readonly recovery: Recovery;
  private readonly heartbeat: Heartbeat;
  /** Pause/resume, limits, cancel/move and wake-ups announced on the control channel. */
  private readonly controlFollower: ControlFollower;
  /** Prometheus metrics (option `metrics`); undefined when off, and then prom-client is never loaded. */
  private readonly metrics?: EngineMetrics;
  private readonly lifecycle: NodeLifecycle;
  /** Option `durability`: enqueues and acknowledgements wait for WAIT; undefined when off. */
  private readonly durability?: Durability;
  /** With durability: the connection of acknowledgements and their WAIT; undefined when off. */
  private readonly ackRedis?: Redis;
  /** Option `histograms`: per job class and minute sums, flushed to Redis; undefined when off. */
  private readonly classMetrics?: ClassMetricsRecorder;

  constructor(
    options: VerkOptions,
    private readonly hooks: VerkEngineHooks = {},
  ) {
    this.options = resolveOptions(options);
    this.lifecycle = new NodeLifecycle(this.options.nodeId);
    if (this.options.broker) throw new VerkConfigError('Invalid Verk option "broker": VerkEngine is the Redis engine; a RabbitMQ node is a VerkRabbitEngine (nestjs-verk/engine), which VerkModule picks by itself', { field: 'broker' });
    this.keys = new Keys(this.options.prefix, this.options.clusterMode);
    // Before any connection opens: a missing @opentelemetry/api leaves nothing to close.
    if (this.options.tracing.enabled) this.tracing = new JobTracing(this.options.tracing);
    this.logger = hooks.logger ?? consoleLogger;
    this.events = new EventBus(this.logger, hooks.instance);
    this.durability = this.options.durability && new Durability(this.options.durability, this.keys.queues);
    const node = this.options.nodeId;
    const flowRetentionSeconds = Math.ceil(this.options.flowRetention / 1000);
    this.subscriber = createConnection(this.options.redis, 'subscriber', `verk:${node}:control`, this.logger);
    this.redis = createConnection(this.options.redis, 'engine', `verk:${node}:engine`, this.logger);
    this.clientRedis = createConnection(this.options.redis, 'client', `verk:${node}:client`, this.logger);
    // With durability, acknowledgements and their WAIT get a connection of their own (see QueueManagerOptions.ackRedis).
    if (this.durability) this.ackRedis = createConnection(this.options.redis, 'engine', `verk:${node}:ack`, this.logger);
    // Not through this.logger: the other connections already report an outage.
    this.healthRedis = createConnection(this.options.redis, 'health', `verk:${node}:health`, silentLogger);
    this.healthPing = new HealthPing(this.healthRedis);
    if (this.options.metrics) {
      this.metrics = new EngineMetrics(this.options.metrics, { redis: this.clientRedis, keys: this.keys, pollInterval: this.options.pollInterval, workers: this.workers, logger: this.logger });
    }
    if (this.options.histograms) {
      this.classMetrics = new ClassMetricsRecorder({ keys: this.keys, redis: this.redis, logger: this.logger, isRegistered: (name) => this.workers.get(name) !== undefined, clock: hooks.clock ?? Date.now });
    }
    this.recorder = new JobRecorder({
      keys: this.keys,
      nodeId: node,
      history: this.options.history,
      logger: this.logger,
      redis: this.redis,
      client: this.clientRedis,
      writer: () => (this.lifecycle.state === 'new' || this.lifecycle.state === 'stopped' ? this.clientRedis : this.redis),
    });
    this.trackedJobs = new TrackedJobSubscriptions(this.options.redis, this.keys, `verk:${node}:track`, this.logger);
    this.client = new VerkClient(this.clientRedis, { keys: this.keys, className: hooks.className, onScheduledNow: this.pollNow, middleware: this.middleware, recorder: this.recorder, tracing: this.tracing, durability: this.durability });
    // What removing or killing a job needs (trimming dead, flow state), the same for both.
    const removal = { maxDeadJobs: this.options.maxDeadJobs, flowRetentionSeconds, onScheduledNow: this.pollNow };
    this.admin = new VerkAdmin(this.clientRedis, this.keys, this.recorder, removal);
    this.browse = new VerkBrowse(this.clientRedis, this.keys, this.options.heartbeat);
    this.bulk = new VerkBulkActions(this.clientRedis, this.keys, this.admin, removal, this.recorder);
    const recordEvent = (event: Pick<JobEvent, 'jid' | 'event' | 'queue' | 'from' | 'to'>): void => this.recorder.record([{ ...event, at: Date.now(), node: this.nodeId }]);
    this.control = new VerkJobControl(this.clientRedis, this.keys, this.admin, this.pollNow, recordEvent);
    this.flow = new VerkFlowAdmin(this.clientRedis, this.keys, this.admin, this.control, recordEvent);
    this.scheduler = new Scheduler({
      keys: this.keys,
      redis: this.redis,
      logger: this.logger,
      pollInterval: this.options.pollInterval,
      maxDeadJobs: this.options.maxDeadJobs,
      flowRetentionSeconds,
      recorder: this.recorder,
    });
    this.recurringScheduler = new RecurringScheduler({ keys: this.keys, redis: this.redis, logger: this.logger, pollInterval: this.options.pollInterval, middleware: this.middleware });
    this.recurring = new VerkRecurring(this.clientRedis, {
      keys: this.keys,
      logger: this.logger,
      className: hooks.className ?? ((ref) => ref.name),
      onChange: () => this.recurringScheduler.pollNow(),
    });
    this.recovery = new Recovery({
      keys: this.keys,
      redis: this.redis,
      logger: this.logger,
      maxRecoveries: this.options.maxRecoveries,
      maxDeadJobs: this.options.maxDeadJobs,
      flowRetentionSeconds,
      onScheduledNow: this.pollNow,
      recorder: this.recorder,
    });
    this.heartbeat = new Heartbeat({
      nodeId: node,
      keys: this.keys,
      redis: this.redis,
      logger: this.logger,
      recovery: this.recovery,
      heartbeat: this.options.heartbeat,
      queues: () => [...this.nodeQueues.managers.keys()],
      concurrency: () => this.queues(),
    });
    const parts = { keys: this.keys, redis: this.redis, workers: this.workers, middleware: this.middleware, logger: this.logger, events: this.events, onScheduledNow: this.pollNow, recorder: this.recorder, classMetrics: this.classMetrics, clock: hooks.clock, tracing: this.tracing, durability: this.durability, ackRedis: this.ackRedis };
    this.nodeQueues = new NodeQueues({ options: this.options, parts, metrics: this.metrics, state: () => this.lifecycle.state, beat: () => this.heartbeat.beat() });
    this.controlFollower = new ControlFollower({ nodeId: node, keys: this.keys, logger: this.logger, subscriber: this.subscriber, redis: this.redis, recorder: this.recorder, managers: this.nodeQueues.managers });
  }

  /** Jobs were put in `schedule` to run now (flow control): move them to their queues at once. */
  private readonly pollNow = (): void => {
    this.scheduler.pollNow();
  };

  /** When this node's heartbeat last reached Redis (epoch ms), 0 before the first. */
  get lastHeartbeatAt(): number {
    return this.heartbeat.lastBeatAt;
  }

  get nodeId(): string {
    return this.options.nodeId;
  }

  /** The name of this instance (hook `instance`, VerkModule.forRoot({ name })); undefined for the default one. */
  get instance(): string | undefined {
    return this.hooks.instance;
  }

  /** The prom-client registry this node's metrics are in (option `metrics`), or undefined when metrics are off. */
  get metricsRegistry(): VerkMetricsRegistry | undefined {
    return this.metrics?.registry;
  }

  /** The facts a health check judges, read from memory (no Redis call). */
  health(): VerkHealthFacts {
    return { nodeId: this.nodeId, state: this.lifecycle.state, heartbeat: this.options.heartbeat, lastHeartbeatAt: this.lastHeartbeatAt, queues: this.nodeQueues.health() };
  }

  /**
   * Sends PING on a connection of its own and resolves with the round trip in ms, or
   * rejects with a VerkRedisError saying what went wrong (no answer within `timeoutMs`,
   * or the error Redis or the connection gave); never waits longer than `timeoutMs`.
   * After stop() it rejects at once (the connection is closed).
   */
  async ping(timeoutMs = 1000): Promise<number> {
    return this.healthPing.ping(checkPingTimeout(timeoutMs, 'timeoutMs'));
  }

  /** Names of the queues this node is running, with their concurrency. */
  queues(): Record<string, number> {
    return this.nodeQueues.concurrency();
  }

  /**
   * Calls `listener` with every event of every tracked job, from any node (see
   * `recorder.track` and `enqueue({ track: true })`); returns the function that stops it.
   * The subscription uses a connection of its own, opened now and closed on stop.
   */
  subscribe(listener: TrackedJobListener): () => void {
    return this.trackedJobs.subscribe(listener);
  }

  /** Resolves once `subscribe`'s connection listens (events published before are not received). */
  subscribed(): Promise<void> {
    return this.trackedJobs.ready();
  }

  /**
   * Checks Redis, puts this node's leftover in-progress jobs back (a restart after a
   * crash), then starts a manager per queue and the scheduler.
   */
  async start(): Promise<void> {
    // stop() during start() rejects this at once (NodeLifecycle): a command waiting for an
    // unreachable Redis may never settle (ioredis keeps it queued while reconnecting). A
    // failed start leaves nothing open, so the process can still exit.
    await this.lifecycle.start(
      () => this.startNode(),
      async () => {
        // What startNode had started (queue loops above all: they would keep retrying and
        // the process alive) stops as in stop(), bounded, before the connections close.
        await this.stopRunning(Date.now() + this.options.shutdownTimeout);
        await this.closeConnections();
        await this.closeClient();
        this.metrics?.close();
      },
    );
    this.logger.log(`Node ${this.nodeId} running queues ${Object.entries(this.options.queues).map(([q, c]) => `${q}(${c})`).join(', ') || '(none)'}`);
  }

  private async startNode(): Promise<void> {
    await checkRedisVersion(this.redis, this.options.clusterMode);
    this.lifecycle.checkStarting();
    // Schedules declared in code are stored before this node ticks any.
    await this.recurring.writeDeclared();
    this.lifecycle.checkStarting();
    // Before recovering: a tracked job put back now publishes `recovered`.
    await this.recorder.start();
    this.lifecycle.checkStarting();
    // A node that restarts with a fixed id first takes back what its earlier run left in
    // progress (Verk's behaviour); those jobs count as recovered, so a poison job that
    // crashes the node on every start ends in dead.
    const queues = new Set([...Object.keys(this.options.queues), ...(await this.redis.smembers(this.keys.nodeQueues(this.nodeId)))]);
    for (const queue of queues) {
      const { requeued, dead } = await this.recovery.recoverInProgress(this.nodeId, queue, true);
      this.lifecycle.checkStarting();
      if (requeued + dead > 0) this.logger.warn(`Node ${this.nodeId}: took back ${requeued + dead} job(s) an earlier run left in progress in queue ${queue} (${dead} sent to dead as poison)`);
    }
    await this.controlFollower.follow();
    this.lifecycle.checkStarting();
    // Again, now that track announcements are heard: one made in between is not missed.
    await this.recorder.refreshTracking();
    this.lifecycle.checkStarting();
    // Limits given in code are stored, so every node obeys the same ones (docs/limits.md).
    for (const [queue, limits] of Object.entries(this.options.queueLimits)) await writeQueueLimits(this.redis, this.keys, queue, limits);
    await this.nodeQueues.startConfigured(() => this.lifecycle.checkStarting());
    await this.heartbeat.start();
    this.lifecycle.checkStarting();
    this.scheduler.start();
    this.recurringScheduler.start();
    this.classMetrics?.start();
  }

  /** Starts processing a queue on this node at runtime. */
  addQueue(queue: string, concurrency: number): Promise<void> {
    return this.nodeQueues.add(queue, concurrency);
  }

  /** Stops processing a queue on this node: running jobs finish, waiting jobs stay in Redis. */
  removeQueue(queue: string): Promise<void> {
    return this.nodeQueues.remove(queue);
  }

  /**
   * Stops fetching from a queue on every node, until resumeQueue. Stored in Redis, so it
   * holds for nodes that start later and survives restarts; running jobs finish.
   */
  async pauseQueue(queue: string): Promise<void> {
    checkQueueName(queue, 'queue');
    checkExec(await publishIn(this.clientRedis.multi().sadd(this.keys.pausedQueues, queue), this.keys, this.keys.control, JSON.stringify({ type: 'pause', queue })).exec());
  }

  /** Lets every node fetch from a paused queue again. */
  async resumeQueue(queue: string): Promise<void> {
    checkQueueName(queue, 'queue');
    checkExec(await publishIn(this.clientRedis.multi().srem(this.keys.pausedQueues, queue), this.keys, this.keys.control, JSON.stringify({ type: 'resume', queue })).exec());
  }

  /**
   * Enqueues up to `count` of the oldest dead jobs again, each into its queue (the same
   * call on both brokers; on Redis any dead job can also be retried by jid). Returns how many.
   */
  retryDead(count: number): Promise<number> {
    return this.bulk.retryOldest('dead', count);
  }

  /** Removes every dead job; returns how many. */
  clearDead(): Promise<number> {
    return this.admin.clear('dead');
  }

  /**
   * Replaces a queue's limits across all nodes (docs/limits.md): stored in Redis and
   * announced, so every node fetches with them at once. Limits absent from `limits` are
   * lifted; `{}` lifts them all.
   */
  async setQueueLimits(queue: string, limits: QueueLimits): Promise<void> {
    checkQueueName(queue, 'queue');
    const checked = checkQueueLimits(limits, 'limits', (field, message) => {
      throw new VerkValidationError(field, message);
    });
    await writeQueueLimits(this.clientRedis, this.keys, queue, checked);
  }

  /** A queue's limits and their state (running jobs, pause, waiting groups). */
  async queueLimits(queue: string): Promise<QueueLimitsState> {
    return readQueueLimits(this.clientRedis, this.keys, checkQueueName(queue, 'queue'));
  }

  /** True when the queue is paused (for every node). */
  async isPaused(queue: string): Promise<boolean> {
    return (await this.clientRedis.sismember(this.keys.pausedQueues, queue)) === 1;
  }

  /**
   * Stops what a start sets running (each part a no-op when it had not started), bounded by
   * `deadline` for the queues' running jobs: the stop of a running node and the clean-up of
   * a failed start. The heartbeat keeps beating while the managers drain: until every
   * running job's outcome and the requeue of the unfinished have landed, this node's
   * in-progress lists are its own, and a peer that saw the heartbeat expire would recover
   * (and run again) jobs still running here.
   */
  private async stopRunning(deadline: number): Promise<void> {
    await Promise.all([this.scheduler.stop(), this.recurringScheduler.stop(), withTimeout(this.recorder.stop(), 1000, undefined), this.nodeQueues.stop(deadline)]);
    // Every run has ended: the last sums are written (bounded: Redis may be away).
    if (this.classMetrics) await withTimeout(this.classMetrics.stop(), 2000, undefined);
    await this.heartbeat.stop();
  }

  /**
   * Graceful stop: no new jobs, running ones get up to shutdownTimeout, the unfinished
   * go back to the head of their queues, then the node's connections close. With
   * `keepClient` the enqueue client stays usable until `closeClient()` (the Nest layer
   * keeps it for HTTP requests still being served while the application shuts down).
   */
  async stop(options: { keepClient?: boolean } = {}): Promise<void> {
    // A start() under way rejects now; what it had started is stopped below like a running node's.
    const stopping = this.lifecycle.beginStop();
    if (!stopping) {
      if (!options.keepClient) await this.closeClient();
      return;
    }
    if (stopping.wasStarted) {
      await this.stopRunning(Date.now() + this.options.shutdownTimeout);
      // Leave cleanly, unless Redis is away: then the heartbeat key expires by itself.
      await withTimeout(this.heartbeat.leave().catch(() => undefined), 1000, undefined);
      this.logger.log(`Node ${this.nodeId} stopped`);
    }
    await this.closeConnections();
    this.lifecycle.stopped();
    this.metrics?.close();
    if (!options.keepClient) await this.closeClient();
  }

  /** Closes the enqueue client's connection. */
  async closeClient(): Promise<void> {
    // Events still buffered are written first (bounded: Redis may be away).
    await this.recorder.close(2000);
    await this.trackedJobs.close();
    await closeConnection(this.clientRedis);
  }

  private async closeConnections(): Promise<void> {
    await Promise.all([
      this.nodeQueues.close(),
      closeConnection(this.redis),
      closeConnection(this.subscriber),
      closeConnection(this.healthRedis),
      ...(this.ackRedis ? [closeConnection(this.ackRedis)] : []),
    ]);
  }
}
