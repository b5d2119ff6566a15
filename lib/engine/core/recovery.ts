import type Redis from 'ioredis';
import { isFlowJob } from '../flow/flow';
import { failFlowJob } from '../flow/flow-completion';
import { VerkError, VerkRedisError } from '../errors';
import { type JobPayload, jobText, nowSeconds, parsePayload } from './job';
import type { Keys } from '../redis/keys';
import { VerkScripts } from '../redis/verk-scripts';
import type { VerkLogger } from '../logger';
import type { JobEvent, JobRecorder } from '../history/recorder';

export interface RecoveryOptions {
  keys: Keys;
  redis: Redis;
  logger: VerkLogger;
  maxRecoveries: number;
  maxDeadJobs: number;
  /** How long completed batches are remembered, seconds (a poison job may complete one). */
  flowRetentionSeconds: number;
  /** Called when a poison job completed its batch (the callback is in `schedule`, due now). */
  onScheduledNow: () => void;
  /** Job history and tracking: `recovered` and (poison jobs) `dead` events. */
  recorder?: JobRecorder;
}

/** Payload field counting how often a job was taken back from a node that died running it. */
export const RECOVERY_COUNT_FIELD = 'recovery_count';

/**
 * Puts back the jobs a node left in progress when it died (or when it restarts after a
 * crash). A job recovered more than `maxRecoveries` times is a poison job, one that takes
 * down every node that runs it (Goose): it goes to `dead` with an error saying so.
 */
export class Recovery {
  private readonly scripts: VerkScripts;

  constructor(private readonly options: RecoveryOptions) {
    this.scripts = new VerkScripts(options.redis, options.keys);
  }

  /**
   * Recovers one in-progress list. Returns how many jobs went back to the queue and to dead.
   * Moves nothing while the node's heartbeat key exists (it may have come back since it
   * was judged dead), unless `own`: a node taking back its own earlier run's jobs at start
   * (see lua/core/recoverJobs-15.lua for why that key is ignored then).
   */
  async recoverInProgress(nodeId: string, queue: string, own = false): Promise<{ requeued: number; dead: number }> {
    try {
      const moved = await this.recover(nodeId, queue, own);
      // The slots the node held in the queue's limits come back with its jobs (nothing
      // while its heartbeat key exists, checked by the script as recoverJobs does).
      await this.scripts.releaseNodeSlots({ queue, nodeId, own });
      return moved;
    } catch (error) {
      // Redis's own errors (WRONGTYPE...) name no key: say which list could not be recovered.
      if (error instanceof VerkError) throw error;
      const key = this.options.keys.inProgress(queue, nodeId);
      throw new VerkRedisError(`Could not recover the in-progress jobs of node ${nodeId} in queue ${queue} (key ${key}): ${(error as Error).message}`, { cause: error });
    }
  }

  private async recover(nodeId: string, queue: string, own: boolean): Promise<{ requeued: number; dead: number }> {
    const { redis, keys, maxDeadJobs, logger, recorder } = this.options;
    const inProgress = keys.inProgress(queue, nodeId);
    // Index 0 is the newest; the script pushes in this order so the oldest runs first.
    const jobs = await redis.lrange(inProgress, 0, -1);
    if (jobs.length === 0) return { requeued: 0, dead: 0 };
    const now = nowSeconds();
    const moves: { raw: string; target: 'queue' | 'dead'; payload: string }[] = [];
    const poisonFlowJobs: [string, JobPayload, Record<string, unknown>][] = [];
    const events: JobEvent[] = [];
    const eventOf = (target: 'queue' | 'dead', payload: JobPayload): JobEvent | undefined => {
      if (!recorder?.wants(queue)) return undefined;
      const base = { jid: payload.jid, at: Date.now(), node: recorder.nodeId, queue, fromNode: nodeId };
      if (target === 'queue') return { ...base, event: 'recovered' };
      return { ...base, event: 'dead', error: { class: String(payload.error_class), message: String(payload.error_message) }, retryCount: payload.retry_count };
    };
    for (const raw of jobs) {
      const parsed = parsePayload(raw, queue);
      // Not a job: put back untouched, the manager sends it to dead with the reason.
      if (!parsed.ok) {
        moves.push({ raw, target: 'queue', payload: raw });
        continue;
      }
      const [target, fields] = this.decide(parsed.payload, nodeId, now);
      const payload: JobPayload = { ...parsed.payload, ...fields };
      if (target === 'dead') logger.error(`Job ${payload.jid} (${payload.class}) was recovered from dead nodes ${this.options.maxRecoveries} times; moved to dead as a poison job`);
      if (target === 'dead' && isFlowJob(payload)) poisonFlowJobs.push([raw, payload, fields]);
      else {
        // Spliced into the stored text, never re-encoded (it may be another system's job).
        moves.push({ raw, target, payload: jobText(raw, payload, fields) });
        const event = eventOf(target, payload);
        if (event) events.push(event);
      }
    }
    let requeued = 0;
    let dead = 0;
    if (moves.length > 0) {
      const [movedBack, movedDead, alive] = await this.scripts.recoverJobs({ queue, nodeId, maxDeadJobs, now, own, jobs: moves });
      if (alive === 1) return { requeued: 0, dead: 0 };
      // Counts, not which: when another node recovered some of these at once, none are recorded.
      if (events.length > 0 && movedBack + movedDead === moves.length) recorder?.record(events);
      requeued = movedBack;
      dead = movedDead;
    }
    // A poison job with flow control dies like a failed one: its batch counts it, its lock is freed.
    // Its script (failFlowJob) does not see the heartbeat key, so the key is checked again
    // right before each: what remains is a window of one round trip, against the several
    // since recoverDeadNodes judged the node.
    let poisoned = 0;
    for (const [raw, payload, fields] of poisonFlowJobs) {
      if (!own && (await redis.exists(keys.node(nodeId))) === 1) break;
      const context = { scripts: this.scripts, queue, nodeId, retentionSeconds: this.options.flowRetentionSeconds };
      const moved = await failFlowJob(context, raw, { target: 'dead', score: now, payload, fields }, maxDeadJobs);
      if (moved >= 0) poisoned++;
      const event = moved >= 0 ? eventOf('dead', payload) : undefined;
      if (event) recorder?.record([event]);
      if (moved > 0) this.options.onScheduledNow();
    }
    return { requeued, dead: dead + poisoned };
  }

  /** Where a recovered job goes, and the fields that change in its payload. */
  private decide(job: JobPayload, nodeId: string, now: number): ['queue' | 'dead', Record<string, unknown>] {
    const previous = Number.isInteger(job[RECOVERY_COUNT_FIELD]) ? (job[RECOVERY_COUNT_FIELD] as number) : 0;
    const count = previous + 1;
    if (count <= this.options.maxRecoveries) return ['queue', { [RECOVERY_COUNT_FIELD]: count }];
    return [
      'dead',
      {
        [RECOVERY_COUNT_FIELD]: count,
        error_class: 'PoisonJobError',
        error_message: `Job was in progress on a node that died ${count} times (last: node ${nodeId}); it is presumed to crash its worker and was not run again (maxRecoveries ${this.options.maxRecoveries})`,
        // An earlier failure time stays as written (not in the changes: kept byte for byte).
        ...(typeof job.failed_at === 'number' ? {} : { failed_at: now }),
        retried_at: now,
      },
    ];
  }

  /**
   * Finds nodes whose heartbeat key expired, recovers every in-progress list they hold,
   * and forgets them once empty. Safe to run on many nodes at once.
   */
  async recoverDeadNodes(selfId: string): Promise<number> {
    const { redis, keys, logger } = this.options;
    let recovered = 0;
    for (const nodeId of await redis.smembers(keys.nodes)) {
      if (nodeId === selfId) continue;
      if ((await redis.exists(keys.node(nodeId))) === 1) continue;
      const queues = await redis.smembers(keys.nodeQueues(nodeId));
      let requeued = 0;
      let dead = 0;
      for (const queue of queues) {
        const result = await this.recoverInProgress(nodeId, queue);
        requeued += result.requeued;
        dead += result.dead;
      }
      if (requeued + dead > 0) logger.warn(`Node ${nodeId} stopped sending heartbeats: put back ${requeued} of its in-progress job(s), ${dead} sent to dead as poison`);
      recovered += requeued + dead;
      await this.forget(nodeId, queues);
    }
    return recovered;
  }

  /** Removes a node from verk_nodes if its heartbeat is gone and it holds no work. */
  async forget(nodeId: string, queues?: string[]): Promise<boolean> {
    const { redis, keys } = this.options;
    const names = queues ?? (await redis.smembers(keys.nodeQueues(nodeId)));
    return (await this.scripts.forgetNode({ nodeId, queues: names })) === 1;
  }
}
