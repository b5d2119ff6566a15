import type Redis from 'ioredis';
import { VerkValidationError } from '../errors';
import type { JobPayload } from '../core/job';
import type { Keys } from '../redis/keys';

/** A batch created together with its jobs. */
export interface NewBatch {
  bid: string;
  /** The callback's payload, with `placeholder` (a JSON string) where the counts go. */
  callback: string;
  placeholder: string;
  createdAt: number;
}

/**
 * Writes flow-control jobs with enqueueFlowJobs, in one atomic call: unique locks taken,
 * dependencies registered, ready jobs into `schedule` at their score.
 */
export class FlowWriter {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {}

  /**
   * Writes `payloads` (to run at `scores`, epoch seconds). `fields` names each payload in
   * errors (`job`, `jobs[3]`). Returns each job's jid, or the jid of the unique job that
   * already holds its lock.
   */
  async write(payloads: JobPayload[], scores: number[], fields: string[], batch?: NewBatch): Promise<string[]> {
    const { keys } = this;
    const keyList = [keys.schedule, keys.flowPending, keys.flowDone, keys.flowDependents, keys.flowBlocked, keys.flowWaitingOn];
    const keyIndex = new Map<string, number>();
    const indexOf = (key: string): number => {
      let index = keyIndex.get(key);
      if (index === undefined) {
        index = keyList.push(key);
        keyIndex.set(key, index);
      }
      return index;
    };
    const args: (string | number)[] = [payloads.length];
    if (batch) args.push(indexOf(keys.batch(batch.bid)), batch.callback, batch.placeholder, batch.createdAt, batch.bid);
    else args.push(0, '', '', 0, '');
    payloads.forEach((payload, index) => {
      const deps = payload.depends_on ?? [];
      const lock = typeof payload.unique_key === 'string' ? indexOf(keys.unique(payload.unique_key)) : 0;
      args.push(payload.jid, JSON.stringify(payload), scores[index], lock, payload.unique_ttl ?? 0, payload.dependable === true ? 1 : 0, deps.length, ...deps);
    });
    const reply = await this.redis.verkEnqueueFlowJobs(keyList.length, ...keyList, ...args);
    if (reply[0] === 'unknown') {
      const index = Number(reply[1]) - 1;
      const payload = payloads[index];
      const at = (payload.depends_on ?? []).indexOf(String(reply[2]));
      throw new VerkValidationError(
        `${fields[index]}.dependsOn[${at}]`,
        `job ${String(reply[2])} is neither pending nor recorded as finished. A job can be depended on when it was enqueued with dependable: true ` +
          `(or with dependsOn, or earlier in the same enqueueMany call) and, once finished, for flowRetention; nothing was written`,
      );
    }
    return reply.slice(1).map(String);
  }
}
