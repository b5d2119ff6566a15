import type Redis from 'ioredis';
import { invalidJob, outcomeText } from './failure';
import { settleLostJobs } from '../flow/flow-lost';
import { jobText, nowSeconds, parsePayload } from './job';
import type { Keys } from '../redis/keys';
import { VerkScripts } from '../redis/verk-scripts';
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
  private readonly scripts: VerkScripts;

  constructor(private readonly options: SchedulerOptions) {
    this.scripts = new VerkScripts(options.redis, options.keys);
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
    for (const set of ['schedule', 'retry'] as const) await this.enqueueDue(set);
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
  async enqueueDue(from: 'schedule' | 'retry'): Promise<number> {
    const { redis, keys, maxDeadJobs, recorder } = this.options;
    const set = keys[from];
    let total = 0;
    for (;;) {
      const nowMs = Date.now();
      const due = await redis.zrangebyscore(set, '-inf', String(nowMs / 1000), 'LIMIT', 0, BATCH);
      if (due.length === 0) return total;
      const moves: { member: string; queue: string | null; payload: string }[] = [];
      const events: JobEvent[] = [];
      for (const member of due) {
        const parsed = parsePayload(member, '');
        if (!parsed.ok || parsed.payload.queue === '') {
          const reason = parsed.ok ? 'it names no queue' : parsed.reason;
          const outcome = invalidJob(member, 'unknown', reason, parsed.ok ? parsed.payload : parsed.partial, nowMs);
          this.options.logger.error(`Scheduler: a member of ${set} is not a runnable job (${reason}); moved to dead`);
          moves.push({ member, queue: null, payload: outcomeText(member, outcome) });
          continue;
        }
        const job = parsed.payload;
        // Spliced, never re-encoded: the member may be another system's (a Ruby job's 1.0 stays 1.0).
        moves.push({ member, queue: job.queue, payload: jobText(member, job, { enqueued_at: nowSeconds(nowMs) }) });
        if (recorder?.wants(job.queue)) events.push({ jid: job.jid, event: from === 'retry' ? 'retried' : 'enqueued', at: nowMs, node: recorder.nodeId, queue: job.queue });
      }
      const moved = await this.scripts.enqueueDue({ from, maxDeadJobs, now: nowSeconds(nowMs), jobs: moves });
      total += moved;
      // The script says how many, not which: when another node moved some of them at the
      // same instant, which events are ours is unknown, and none are recorded (see README).
      if (events.length > 0 && moved === due.length) recorder?.record(events);
      if (due.length < BATCH) return total;
    }
  }
}
