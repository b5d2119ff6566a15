import type Redis from 'ioredis';
import { type JobPayload, newJid, nowSeconds } from '../core/job';
import type { Keys } from '../redis/keys';
import { VerkScripts } from '../redis/verk-scripts';
import type { VerkLogger } from '../logger';
import type { MiddlewareStack } from '../core/middleware';
import { priorityOf } from '../core/priority';
import { parseStored, serializeStored, type StoredRecurring } from './recurring-definition';
import { planTicks } from './recurring-ticks';
import { PollLoop } from '../core/poll-loop';

/** Due names looked at per round trip. */
const BATCH = 100;

export interface RecurringSchedulerOptions {
  keys: Keys;
  redis: Redis;
  logger: VerkLogger;
  /** Longest sleep between looks (ms). A tick reached more than twice this late counts as missed (catch-up). */
  pollInterval: number;
  /** Client middleware run on every job a tick enqueues. */
  middleware: MiddlewareStack;
}

/**
 * Enqueues the jobs of recurring jobs when their ticks come. Every node runs one. It
 * sleeps until the earliest tick in `verk:recurring:due` (at most pollInterval); for each
 * due name it reads the definition, decides which ticks to enqueue (the catch-up policy
 * for ticks missed while no node ran), and hands that to tickRecurring, which enqueues
 * them only if the definition and its due tick are still what this node read: however
 * many nodes race, each tick is enqueued by exactly one.
 */
export class RecurringScheduler {
  private readonly loop: PollLoop;
  private readonly scripts: VerkScripts;

  constructor(private readonly options: RecurringSchedulerOptions) {
    this.scripts = new VerkScripts(options.redis, options.keys);
    this.loop = new PollLoop({ name: 'Recurring scheduler', pollInterval: options.pollInterval, logger: options.logger, round: () => this.round() });
  }

  private get running(): boolean {
    return this.loop.running;
  }

  start(): void {
    this.loop.start();
  }

  /** Looks now instead of at the next interval (jobs or definitions were just written on this node). */
  pollNow(): void {
    this.loop.pollNow();
  }

  /** Stops; waits at most `timeoutMs` for a round in flight (Redis may be away). */
  stop(timeoutMs = 1000): Promise<void> {
    return this.loop.stop(timeoutMs);
  }

  private async round(): Promise<number> {
    await this.tickDue();
    return this.msUntilNextTick();
  }

  private async msUntilNextTick(): Promise<number> {
    const { redis, keys, pollInterval } = this.options;
    // ZRANGE's stop as a string: ioredis 6.0.0 types it string-only (fixed upstream, unreleased).
    const head = await redis.zrange(keys.recurringDue, 0, '0', 'WITHSCORES');
    return head.length === 2 ? Math.max(0, Number(head[1]) - Date.now()) : pollInterval;
  }

  /** Handles every due tick. Returns how many jobs this node enqueued. */
  async tickDue(): Promise<number> {
    const { redis, keys } = this.options;
    let total = 0;
    for (;;) {
      const due = await redis.zrangebyscore(keys.recurringDue, '-inf', String(Date.now()), 'WITHSCORES', 'LIMIT', 0, BATCH);
      for (let i = 0; i < due.length && this.running; i += 2) total += Math.max(0, await this.tick(due[i], Number(due[i + 1])));
      if (due.length < 2 * BATCH || !this.running) return total;
    }
  }

  /** One due tick of one name: -1 when another node (or a change) got there first. */
  private async tick(name: string, due: number): Promise<number> {
    const { redis, keys, logger } = this.options;
    const json = await redis.hget(keys.recurring, name);
    if (json === null) return this.commit(name, '', due, '', null, []); // removed: drop the stray tick
    let stored: StoredRecurring;
    let plan: ReturnType<typeof planTicks>;
    const now = Date.now();
    try {
      stored = parseStored(json);
      // A running node reaches any tick within one pollInterval (even one written by a
      // process that does not tick); later than twice that, no node was running.
      plan = planTicks(stored, due, now, 2 * this.options.pollInterval);
    } catch (error) {
      logger.error(`Recurring job ${name}: the stored definition is not valid (${(error as Error).message}); it no longer ticks until it is replaced with recur()`);
      return this.commit(name, json, due, '', null, []);
    }
    let payloads = plan.ticks.map((tick) => this.payload(stored, tick, now));
    if (payloads.length > 0 && this.options.middleware.client.length > 0) {
      try {
        await this.options.middleware.prepare(payloads, () => `recurring job ${name}`);
      } catch (error) {
        logger.error(`Recurring job ${name}: client middleware refused the job of ${payloads.length === 1 ? 'tick' : 'ticks up to'} ${new Date(plan.ticks[plan.ticks.length - 1]).toISOString()} (${(error as Error).message}); nothing was enqueued for it`);
        payloads = [];
      }
    }
    const runs = stored.runs + payloads.length;
    const next = plan.following !== null && (stored.maxRuns === undefined || runs < stored.maxRuns) ? plan.following : null;
    const updated: StoredRecurring = { ...stored, runs };
    if (payloads.length > 0) updated.lastRunAt = plan.ticks[payloads.length - 1];
    const enqueued = await this.commit(name, json, due, payloads.length > 0 ? serializeStored(updated) : '', next, payloads);
    if (enqueued < 0) return enqueued; // another node had it: it logs
    if (plan.skipped) {
      const { from, to, capped } = plan.skipped;
      const range = `${new Date(from).toISOString()} to ${new Date(to).toISOString()}`;
      if (capped) logger.warn(`Recurring job ${name}: more than ${plan.ticks.length} ticks were missed; enqueued the latest ${plan.ticks.length}, skipped those from ${range}`);
      else logger.log(`Recurring job ${name}: skipped missed ticks from ${range} (catchUp '${stored.catchUp}')`);
    }
    if (next === null) logger.log(`Recurring job ${name}: its schedule has ended after ${runs} run(s)`);
    return enqueued;
  }

  /** A Sidekiq job for one tick, traced to its schedule by `recurring` and `recurring_at` (epoch s). */
  private payload(def: StoredRecurring, tick: number, now: number): JobPayload {
    const at = nowSeconds(now);
    const payload: JobPayload = { class: def.class, args: def.args, jid: newJid(), queue: def.queue, retry: def.retry ?? true, created_at: at, enqueued_at: at };
    if (def.maxRetryCount !== undefined) payload.max_retry_count = def.maxRetryCount;
    if (def.priority !== undefined) payload.priority = def.priority;
    payload.recurring = def.name;
    payload.recurring_at = nowSeconds(tick);
    return payload;
  }

  /** Runs tickRecurring: the compare-and-set, the jobs, the new definition and next tick. */
  private commit(name: string, expected: string, due: number, definition: string, next: number | null, payloads: JobPayload[]): Promise<number> {
    const jobs = payloads.map((payload) => ({ queue: payload.queue, priority: priorityOf(payload), payload: JSON.stringify(payload) }));
    return this.scripts.tickRecurring({ name, expected, due, definition, next, jobs });
  }
}
