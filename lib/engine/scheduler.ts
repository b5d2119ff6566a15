import type Redis from 'ioredis';
import { invalidJob } from './failure';
import { nowSeconds, parsePayload } from './job';
import { type Keys, statDay } from './keys';
import type { VerkLogger } from './logger';
import type { JobEvent, JobRecorder } from './recorder';
import { Sleeper, withTimeout } from './timing';

/** Members looked at per round trip. */
const BATCH = 100;

export interface SchedulerOptions {
  keys: Keys;
  redis: Redis;
  logger: VerkLogger;
  pollInterval: number;
  maxDeadJobs: number;
  /** Job history and tracking: `enqueued` (from schedule) and `retried` (from retry) events. */
  recorder?: JobRecorder;
}

/**
 * Moves due jobs from `schedule` and `retry` to their queues. Every node runs one; the
 * move itself is a Lua script in which ZREM decides who moves each job, so a job is
 * enqueued once however many nodes poll. It sleeps until the earliest due job or
 * pollInterval, whichever comes first.
 */
export class Scheduler {
  private running = false;
  private loop?: Promise<void>;
  private readonly sleeper = new Sleeper();
  private lastErrorLog = 0;
  /** A poll was asked for while one was running: poll again instead of sleeping. */
  private pollAgain = false;

  constructor(private readonly options: SchedulerOptions) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /**
   * Polls now instead of at the next interval (jobs were put in `schedule` to run now).
   * A request during a poll makes the loop poll once more, so none is lost.
   */
  pollNow(): void {
    if (!this.running) return;
    this.pollAgain = true;
    this.sleeper.cancel();
  }

  /** Stops polling; waits at most `timeoutMs` for a poll in flight (Redis may be away). */
  async stop(timeoutMs = 1000): Promise<void> {
    this.running = false;
    this.sleeper.cancel();
    await withTimeout(this.loop ?? Promise.resolve(), timeoutMs, undefined);
  }

  private async run(): Promise<void> {
    const { keys, pollInterval } = this.options;
    while (this.running) {
      let wait = pollInterval;
      this.pollAgain = false;
      try {
        for (const set of [keys.schedule, keys.retry]) await this.enqueueDue(set);
        wait = Math.min(pollInterval, await this.msUntilNextDue());
      } catch (error) {
        const now = Date.now();
        if (now - this.lastErrorLog > 5000) {
          this.lastErrorLog = now;
          this.options.logger.warn(`Scheduler: ${(error as Error).message}; retrying in ${pollInterval} ms`);
        }
      }
      if (this.running && !this.pollAgain) await this.sleeper.sleep(Math.max(0, wait));
    }
  }

  /** Milliseconds until the earliest job in schedule or retry is due (pollInterval if none). */
  private async msUntilNextDue(): Promise<number> {
    const { redis, keys, pollInterval } = this.options;
    const heads = await Promise.all([keys.schedule, keys.retry].map((set) => redis.zrange(set, 0, 0, 'WITHSCORES')));
    let next = Infinity;
    for (const head of heads) if (head.length === 2) next = Math.min(next, Number(head[1]) * 1000);
    return next === Infinity ? pollInterval : Math.max(0, Math.ceil(next - Date.now()));
  }

  /** Moves every due job of one sorted set. Returns how many this node moved. */
  async enqueueDue(set: string): Promise<number> {
    const { redis, keys, maxDeadJobs, recorder } = this.options;
    let total = 0;
    for (;;) {
      const nowMs = Date.now();
      const due = await redis.zrangebyscore(set, '-inf', String(nowMs / 1000), 'LIMIT', 0, BATCH);
      if (due.length === 0) return total;
      const queueKeys: string[] = [];
      const queueNames: string[] = [];
      const triples: (string | number)[] = [];
      const events: JobEvent[] = [];
      for (const member of due) {
        const parsed = parsePayload(member, '');
        if (!parsed.ok || parsed.payload.queue === '') {
          const reason = parsed.ok ? 'it names no queue' : parsed.reason;
          const outcome = invalidJob(member, 'unknown', reason, parsed.ok ? parsed.payload : parsed.partial, nowMs);
          this.options.logger.error(`Scheduler: a member of ${set} is not a runnable job (${reason}); moved to dead`);
          triples.push(member, 3, JSON.stringify(outcome.payload));
          continue;
        }
        const job = parsed.payload;
        let index = queueNames.indexOf(job.queue);
        if (index < 0) {
          index = queueNames.push(job.queue) - 1;
          // The list and, for jobs with a priority, the sorted set and its counter.
          queueKeys.push(keys.queue(job.queue), keys.prioritized(job.queue), keys.prioritySeq(job.queue));
        }
        triples.push(member, 7 + 3 * index, JSON.stringify({ ...job, enqueued_at: nowSeconds(nowMs) }));
        if (recorder?.wants(job.queue)) events.push({ jid: job.jid, event: set === keys.retry ? 'retried' : 'enqueued', at: nowMs, node: recorder.nodeId, queue: job.queue });
      }
      const keyList = [set, keys.queues, keys.dead, keys.stat('failed'), keys.stat('failed', statDay(new Date(nowMs))), keys.wake, ...queueKeys];
      const moved = await redis.verkEnqueueDue(keyList.length, ...keyList, maxDeadJobs, nowSeconds(nowMs), ...triples, ...queueNames);
      total += moved;
      // The script says how many, not which: when another node moved some of them at the
      // same instant, which events are ours is unknown, and none are recorded (see README).
      if (events.length > 0 && moved === due.length) recorder?.record(events);
      if (due.length < BATCH) return total;
    }
  }
}
