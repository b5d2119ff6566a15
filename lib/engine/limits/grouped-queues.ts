import type Redis from 'ioredis';
import { VerkValidationError } from '../errors';
import type { JobPayload } from '../core/job';
import type { Keys } from '../redis/keys';
import { checkExec } from '../redis/multi';
import { publish } from '../redis/pubsub';

/** A job's `group`: 1 to 200 characters without a NUL (lua/includes/limits/groupOf.lua reads the same). */
export function checkGroup(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0 || Buffer.byteLength(value) > 200 || value.includes('\0')) {
    throw new VerkValidationError(field, `must be a string of 1 to 200 bytes without a NUL character, got ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * Grouped jobs are served round-robin by the limited fetch only (lua/limits/fetchLimited),
 * which nodes use for a queue whose limits hash exists. Before the first grouped job of a
 * queue is written, its hash gets the marker `grouped` and the nodes are told; once per
 * queue and process (the marker is never removed), so grouped enqueues cost nothing more.
 */
export class GroupedQueues {
  private readonly marked = new Set<string>();

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  async mark(payloads: JobPayload[]): Promise<JobPayload[]> {
    const queues = new Set(payloads.filter((payload) => payload.group !== undefined && !this.marked.has(payload.queue)).map((payload) => payload.queue));
    for (const queue of queues) {
      checkGroup(payloads.find((payload) => payload.queue === queue && payload.group !== undefined)?.group, 'group');
      const [created] = checkExec(await this.redis.multi().hsetnx(this.keys.limits(queue), 'grouped', 1).exec()) as number[];
      if (created === 1) await publish(this.redis, this.keys, this.keys.control, JSON.stringify({ type: 'limits', queue }));
      this.marked.add(queue);
    }
    return payloads;
  }
}
