import type Redis from 'ioredis';
import { readJob } from '../core/job';
import { nowSeconds } from '../core/job';
import type { Keys } from '../redis/keys';
import { VerkScripts } from '../redis/verk-scripts';
import { checkExec } from '../redis/multi';

/** Entries of verk:flow:lost settled per call. */
const CHUNK = 100;
/** Calls per settleLostJobs. */
const MAX_CHUNKS = 50;

/**
 * Settles jobs that left without finishing (deleted, cleared, or sent to dead because a
 * dependency was lost): each counts as dead in its batch, whose callback is then
 * scheduled, and frees its unique lock. The scripts that remove such jobs cannot name the
 * batch's and lock's keys (every key reaches a script through KEYS), so they queue the
 * payload in verk:flow:lost; this reads it, names the keys and settles it with
 * settleLostJobs. Every node's scheduler runs it each round, and the admin right after a
 * delete or clear. It also trims finished dependable jobs older than the retention, so
 * verk:flow:done shrinks even while no dependable job finishes. Returns how many batch
 * callbacks it scheduled.
 */
export async function settleLostJobs(redis: Redis, keys: Keys, retentionSeconds: number): Promise<number> {
  let scheduled = 0;
  // Bounded per call; what remains is settled by the next call (the next scheduler round).
  for (let round = 0; round < MAX_CHUNKS; round++) {
    const now = nowSeconds();
    const multi = redis.multi().lrange(keys.flowLost, 0, CHUNK - 1);
    if (round === 0) multi.zremrangebyscore(keys.flowDone, '-inf', now - retentionSeconds);
    const [entries] = checkExec(await multi.exec());
    if (!Array.isArray(entries) || entries.length === 0) break;
    scheduled += await settle(redis, keys, entries as string[], now, retentionSeconds);
    if (entries.length < CHUNK) break;
  }
  return scheduled;
}

function settle(redis: Redis, keys: Keys, entries: string[], now: number, retentionSeconds: number): Promise<number> {
  // Read only, to name its keys: the entry itself is removed as it is.
  const parsed = entries.map((entry) => ({ entry, job: readJob(entry).job }));
  return new VerkScripts(redis, keys).settleLostJobs({ now, retentionSeconds, entries: parsed });
}
