import type Redis from 'ioredis';
import { invalidJob, outcomeText } from './failure';
import { settleLostJobs } from '../flow/flow-lost';
import { jobText, nowSeconds, parsePayload } from './job';
import { type Keys, statDay } from '../redis/keys';
import type { VerkLogger } from '../logger';
import type { JobEvent, JobRecorder } from '../history/recorder';
import { PollLoop } from './poll-loop';

/** Members looked at per round trip. */
const BATCH = 100;

export interface SchedulerOptions {
  keys: Keys;
  redis: Redis;
  logger: VerkLogger;
  pollInterval: number;
  maxDeadJobs: number;
  /** How long finished dependable jobs and completed batches are remembered, seconds (settling lost jobs). */
  flowRetentionSeconds: number;
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
  private readonly loop: PollLoop;

  constructor(private readonly options: SchedulerOptions) {
    this.loop = new PollLoop({ name: 'Scheduler', pollInterval: options.pollInterval, logger: options.logger, round: () => this.round() });
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
    // First, so a batch callback this schedules moves in the same round.
    await settleLostJobs(this.options.redis, this.options.keys, this.options.flowRetentionSeconds);
    for (const set of [this.options.keys.schedule, this.options.keys.retry]) await this.enqueueDue(set);
    return this.msUntilNextDue();
  }

  private async msUntilNextDue(): Promise<number> {
    const { redis, keys, pollInterval } = this.options;
    // ZRANGE's stop as a string: ioredis 6.0.0 types it string-only (fixed upstream, unreleased).
    const heads = await Promise.all([keys.schedule, keys.retry].map((set) => redis.zrange(set, 0, '0', 'WITHSCORES')));
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
          triples.push(member, 3, outcomeText(member, outcome));
          continue;
        }
        const job = parsed.payload;
        let index = queueNames.indexOf(job.queue);
        if (index < 0) {
          index = queueNames.push(job.queue) - 1;
          // The list and, for jobs with a priority, the sorted set and its counter.
          queueKeys.push(keys.queue(job.queue), keys.prioritized(job.queue), keys.prioritySeq(job.queue));
        }
        // Spliced, never re-encoded: the member may be another system's (a Ruby job's 1.0 stays 1.0).
        triples.push(member, 7 + 3 * index, jobText(member, job, { enqueued_at: nowSeconds(nowMs) }));
        if (recorder?.wants(job.queue)) events.push({ jid: job.jid, event: set === keys.retry ? 'retried' : 'enqueued', at: nowMs, node: recorder.nodeId, queue: job.queue });
      }
      // The flow keys last: a trim of dead may lose dependable jobs (lua/includes/trimDead).
      const keyList = [set, keys.queues, keys.dead, keys.stat('failed'), keys.stat('failed', statDay(new Date(nowMs))), keys.wake, ...queueKeys, ...keys.flowLossKeys];
      const moved = await redis.verkEnqueueDue(keyList.length, ...keyList, maxDeadJobs, nowSeconds(nowMs), ...triples, ...queueNames);
      total += moved;
      // The script says how many, not which: when another node moved some of them at the
      // same instant, which events are ours is unknown, and none are recorded (see README).
      if (events.length > 0 && moved === due.length) recorder?.record(events);
      if (due.length < BATCH) return total;
    }
  }
}
