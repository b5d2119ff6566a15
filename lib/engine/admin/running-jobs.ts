import type Redis from 'ioredis';
import { checkInteger, checkOptions } from './admin-input';
import { type JobPayload, readJob } from '../core/job';
import type { Keys } from '../redis/keys';
import { checkExec } from '../redis/multi';

/** A job a node has taken from a queue and not finished (its in-progress list). */
export interface RunningJob {
  nodeId: string;
  queue: string;
  /** The member as stored. */
  raw: string;
  /** Parsed; null when the text is not a job. */
  job: JobPayload | null;
}

export interface RunningPage {
  /** Running jobs over every registered node. */
  total: number;
  offset: number;
  limit: number;
  jobs: RunningJob[];
}

/**
 * A page of the jobs in progress on every registered node (`verk_nodes`), ordered by node
 * id then queue. Three round trips: the node and queue names, the list lengths (one
 * MULTI), then only the list slices the page covers (one MULTI).
 */
export async function readRunningJobs(redis: Redis, keys: Keys, options?: { offset?: number; limit?: number }): Promise<RunningPage> {
  const input = checkOptions(options, 'options');
  const offset = checkInteger(input.offset, 'options.offset', 0, Number.MAX_SAFE_INTEGER, 0);
  const limit = checkInteger(input.limit, 'options.limit', 1, 1000, 25);
  const nodeIds = (await redis.smembers(keys.nodes)).sort();
  const names = nodeIds.length === 0 ? [] : (checkExec(await nodeIds.reduce((multi, id) => multi.smembers(keys.nodeQueues(id)), redis.multi()).exec()) as string[][]);
  const lists = nodeIds.flatMap((nodeId, i) => names[i].sort().map((queue) => ({ nodeId, queue, key: keys.inProgress(queue, nodeId) })));
  const lengths = lists.length === 0 ? [] : (checkExec(await lists.reduce((multi, list) => multi.llen(list.key), redis.multi()).exec()) as number[]);
  const total = lengths.reduce((sum, length) => sum + length, 0);
  const slices: { nodeId: string; queue: string; key: string; start: number; stop: number }[] = [];
  let skipped = 0;
  for (let i = 0; i < lists.length && skipped < offset + limit; i++) {
    const length = lengths[i];
    const start = Math.max(0, offset - skipped);
    const stop = Math.min(length, offset + limit - skipped) - 1;
    if (start <= stop) slices.push({ ...lists[i], start, stop });
    skipped += length;
  }
  const pages = slices.length === 0 ? [] : (checkExec(await slices.reduce((multi, slice) => multi.lrange(slice.key, slice.start, slice.stop), redis.multi()).exec()) as string[][]);
  const jobs: RunningJob[] = [];
  slices.forEach((slice, i) => {
    for (const raw of pages[i]) jobs.push({ nodeId: slice.nodeId, queue: slice.queue, raw, job: readJob(raw).job });
  });
  return { total, offset, limit, jobs };
}
