import type Redis from 'ioredis';
import { checkJid } from './admin-input';
import { readJob } from '../core/job';
import { VerkValidationError } from '../errors';
import { checkExec } from '../redis/multi';

/**
 * A job of a sorted set as a page listed it: its jid and its score (`ListedJob.at`). With
 * `at` the job is found by that score (one exact read); a bare jid is looked for by a
 * scan of the whole set (slow on a large set, as findJob).
 */
export type JobRef = string | { jid: string; at?: number };

/** The most jobs one selection may name. */
const MAX_REFS = 10_000;
/** Members with one score read when looking for a job by its score. */
const SAME_SCORE = 100;

/**
 * The stored member of each job `{ jid, at }` of a sorted set, or null where no member
 * with that score has that jid: one pipelined round trip for all, an exact score read
 * each (ListedJob.at gives back the score Redis sent: a double prints and parses exactly).
 */
export async function membersAt(redis: Redis, key: string, refs: readonly { jid: string; at: number }[]): Promise<(string | null)[]> {
  if (refs.length === 0) return [];
  const pipeline = redis.pipeline();
  for (const ref of refs) pipeline.zrangebyscore(key, String(ref.at), String(ref.at), 'LIMIT', 0, SAME_SCORE);
  const replies = checkExec(await pipeline.exec()) as string[][];
  return refs.map((ref, index) => replies[index].find((text) => text.includes(ref.jid) && readJob(text).job?.jid === ref.jid) ?? null);
}

/** Checks a selection: jids or `{ jid, at }`, at most MAX_REFS. */
export function checkRefs(value: unknown): { jid: string; at?: number }[] {
  if (!Array.isArray(value)) throw new VerkValidationError('jobs', `must be an array of jids or { jid, at }, got ${JSON.stringify(value)}`);
  if (value.length > MAX_REFS) throw new VerkValidationError('jobs', `must name at most ${MAX_REFS} jobs, got ${value.length}`);
  return value.map((item: unknown, index) => {
    if (typeof item === 'string') return { jid: checkJid(item, `jobs[${index}]`) };
    if (typeof item !== 'object' || item === null) throw new VerkValidationError(`jobs[${index}]`, `must be a jid or { jid, at }, got ${JSON.stringify(item)}`);
    const { jid, at } = item as { jid?: unknown; at?: unknown };
    checkJid(jid, `jobs[${index}].jid`);
    if (at !== undefined && (typeof at !== 'number' || !Number.isFinite(at))) throw new VerkValidationError(`jobs[${index}].at`, `must be the job's score (a finite number, ListedJob.at), got ${JSON.stringify(at)}`);
    return at === undefined ? { jid: jid as string } : { jid: jid as string, at };
  });
}
