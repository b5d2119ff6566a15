import type Redis from 'ioredis';
import type { Keys } from '../redis/keys';

/**
 * What happened to a job. Tracked jobs publish the same names; qless's names map to them:
 * put = enqueued (or scheduled), popped = started, completed = finished, failed, retried,
 * stalled = recovered, canceled, moved.
 */
export type JobEventName =
  /** Written to its queue (by enqueue, enqueueMany, or the scheduler when a scheduled job is due). */
  | 'enqueued'
  /** Written to `schedule` (a time in the future, or a flow-control job: see `dependsOn`). */
  | 'scheduled'
  /** Taken from its queue by a node (`node`). */
  | 'started'
  /** Its perform threw; it waits in `retry` until `runAt`. */
  | 'failed'
  /** Moved from `retry` (or, by retryNow, from `dead`) back to its queue. */
  | 'retried'
  /** Its perform returned and the job was acknowledged. */
  | 'finished'
  /** Moved to `dead`: out of retries (`error`), an invalid payload, or a poison job. */
  | 'dead'
  /** Put back in its queue from the in-progress list of a node that died (`fromNode`). */
  | 'recovered'
  | 'canceled'
  | 'moved'
  /** Tags added (`tags`) after it was enqueued. */
  | 'tagged'
  /** Tags removed (`tags`). */
  | 'untagged';

/** One event of a job's history, and the message published for a tracked job. */
export interface JobEvent {
  jid: string;
  event: JobEventName;
  /** When it happened, epoch ms (the clock of the node that recorded it). */
  at: number;
  /** The node that made the transition. */
  node: string;
  /** The job's queue (absent for events recorded without knowing it, such as `tagged`). */
  queue?: string;
  /** failed, dead: the error's class and message. */
  error?: { class: string; message: string };
  /** failed, dead: failures so far (retry_count). */
  retryCount?: number;
  /** failed: when it runs again; scheduled: when it is due (epoch ms). */
  runAt?: number;
  /** finished, failed: how long it ran, ms. */
  durationMs?: number;
  /** recovered: the node that died holding it. */
  fromNode?: string;
  /** retried / enqueued by retryNow: the set it came from (`retry`, `dead`, `schedule`); moved: where from. */
  from?: string;
  /** moved: where to. */
  to?: string;
  /** enqueued/scheduled with tags, tagged, untagged. */
  tags?: string[];
  /** scheduled: the jobs it waits for. */
  dependsOn?: string[];
}

/** A tracked job's event as published on `verk:track` (see subscribeToTrackedJobs). */
export type TrackedJobEvent = JobEvent;

/** Jobs carrying a tag, newest first. */
export interface TaggedJobs {
  tag: string;
  total: number;
  offset: number;
  limit: number;
  jids: string[];
}

/** Parses stored events; a member that is not one is skipped. */
export function parseEvents(raw: string[]): JobEvent[] {
  const events: JobEvent[] = [];
  for (const text of raw) {
    try {
      const value = JSON.parse(text) as JobEvent;
      if (value && typeof value === 'object' && typeof value.event === 'string') events.push(value);
    } catch {
      // not ours
    }
  }
  return events;
}

/** A job's recorded history, oldest first ([] when none). */
export async function readHistory(redis: Redis, keys: Keys, jid: string): Promise<JobEvent[]> {
  return parseEvents(await redis.lrange(keys.history(jid), 0, -1));
}
