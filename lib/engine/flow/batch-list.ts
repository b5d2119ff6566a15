import type Redis from 'ioredis';
import type { Keys } from '../redis/keys';
import { connectionFor } from '../redis/cluster';

/** SCAN calls one listBatches call makes at most: a bounded amount of work per request. */
const MAX_SCANS = 20;
/** Keys SCAN looks at per call. */
const SCAN_COUNT = 1000;

export interface BatchIdPage {
  /** Batch ids found by this call: about `limit` (one SCAN reply may add a few more), fewer when the bound was reached first (see `cursor`). */
  bids: string[];
  /** Where the next call continues, or null when the keyspace was walked to its end. */
  cursor: string | null;
}

/**
 * Batch ids, found by a bounded SCAN over the batch hashes (there is no batch index): at
 * most MAX_SCANS SCAN calls per request, resumed from `cursor`. The order is SCAN's.
 */
export async function scanBatchIds(redis: Redis, keys: Keys, options: { cursor?: string; limit?: number } = {}): Promise<BatchIdPage> {
  const limit = Math.min(Math.max(options.limit ?? 25, 1), 1000);
  const prefix = keys.batch('');
  let cursor = options.cursor ?? '0';
  const bids: string[] = [];
  // On a Cluster SCAN walks one node: the master holding the instance's slot.
  const node = await connectionFor(redis, keys.batch(''));
  for (let scans = 0; scans < MAX_SCANS && bids.length < limit; scans++) {
    const [next, found] = await node.scan(cursor, 'MATCH', keys.batchPattern, 'COUNT', SCAN_COUNT);
    for (const key of found) if (key.startsWith(prefix)) bids.push(key.slice(prefix.length));
    cursor = next;
    if (cursor === '0') break;
  }
  return { bids, cursor: cursor === '0' ? null : cursor };
}
