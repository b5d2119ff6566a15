import type Redis from 'ioredis';
import { type FailureOutcome, outcomeText } from '../core/failure';
import { type JobPayload, nowSeconds } from '../core/job';
import { type Keys, statDay } from '../redis/keys';

/** Most finished dependable jobs remembered (besides the age limit), like qless's 50,000. */
export const MAX_FLOW_DONE = 100_000;

/** Where a queue manager acknowledges jobs. */
export interface FlowAckContext {
  redis: Redis;
  keys: Keys;
  queue: string;
  inProgressKey: string;
  /** How long finished dependable jobs and completed batches are remembered, seconds. */
  retentionSeconds: number;
}

/** A key the script ignores (its flag is off), for the fixed key positions. */
function lockKey(keys: Keys, job: JobPayload): string {
  return typeof job.unique_key === 'string' ? keys.unique(job.unique_key) : keys.flowPending;
}

function batchKey(keys: Keys, job: JobPayload): string {
  return typeof job.bid === 'string' ? keys.batch(job.bid) : keys.flowPending;
}

/**
 * Acknowledges a finished flow-control job (completeFlowJob). Returns how many jobs it
 * put in `schedule` to run now (released dependents, a batch callback), -1 when the job
 * was no longer in in-progress.
 */
export function completeFlowJob(ctx: FlowAckContext, raw: string, job: JobPayload): Promise<number> {
  const { redis, keys, queue } = ctx;
  const day = statDay();
  return redis.verkCompleteFlowJob(
    ctx.inProgressKey,
    keys.stat('processed'),
    keys.stat('processed', day),
    keys.queueStat('processed', queue),
    keys.queueStat('processed', queue, day),
    keys.schedule,
    keys.flowPending,
    keys.flowDone,
    keys.flowDependents,
    keys.flowBlocked,
    keys.flowWaitingOn,
    lockKey(keys, job),
    batchKey(keys, job),
    raw,
    job.jid,
    nowSeconds(),
    ctx.retentionSeconds,
    MAX_FLOW_DONE,
    typeof job.unique_key === 'string' ? 1 : 0,
    typeof job.bid === 'string' ? 1 : 0,
    job.dependable === true ? 1 : 0,
  );
}

/** failJob for a flow-control job (failFlowJob). Returns 1 when it scheduled a batch callback. */
export function failFlowJob(ctx: FlowAckContext, raw: string, outcome: FailureOutcome, maxDeadJobs: number): Promise<number> {
  const { redis, keys, queue } = ctx;
  const day = statDay();
  const job = outcome.payload;
  return redis.verkFailFlowJob(
    ctx.inProgressKey,
    outcome.target === 'retry' ? keys.retry : keys.dead,
    keys.dead,
    keys.stat('failed'),
    keys.stat('failed', day),
    keys.queueStat('failed', queue),
    keys.queueStat('failed', queue, day),
    keys.schedule,
    keys.flowPending,
    lockKey(keys, job),
    batchKey(keys, job),
    keys.flowDependents,
    keys.flowBlocked,
    keys.flowWaitingOn,
    keys.flowLost,
    raw,
    outcomeText(raw, outcome),
    outcome.score,
    maxDeadJobs,
    job.jid,
    nowSeconds(),
    typeof job.unique_key === 'string' ? 1 : 0,
    typeof job.bid === 'string' ? 1 : 0,
    ctx.retentionSeconds,
    job.dependable === true ? 1 : 0,
  );
}
