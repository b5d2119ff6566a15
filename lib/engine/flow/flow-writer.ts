import type Redis from 'ioredis';
import { VerkValidationError } from '../errors';
import type { JobPayload } from '../core/job';
import type { Keys } from '../redis/keys';
import { VerkScripts } from '../redis/verk-scripts';

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
  private readonly scripts: VerkScripts;

  constructor(redis: Redis, keys: Keys) {
    this.scripts = new VerkScripts(redis, keys);
  }

  /**
   * Writes `payloads` (to run at `scores`, epoch seconds). `fields` names each payload in
   * errors (`job`, `jobs[3]`). Returns each job's jid, or the jid of the unique job that
   * already holds its lock.
   */
  async write(payloads: JobPayload[], scores: number[], fields: string[], batch?: NewBatch): Promise<string[]> {
    const jobs = payloads.map((payload, index) => ({ job: payload, payload: JSON.stringify(payload), score: scores[index] }));
    const reply = await this.scripts.enqueueFlowJobs({ jobs, batch });
    if (reply[0] === 'unknown') {
      const index = Number(reply[1]) - 1;
      const payload = payloads[index];
      const at = (payload.depends_on ?? []).indexOf(String(reply[2]));
      throw new VerkValidationError(
        `${fields[index]}.dependsOn[${at}]`,
        `job ${String(reply[2])} is neither pending nor recorded as finished. A job can be depended on when it was enqueued with dependable: true ` +
          `(or with dependsOn, or earlier in the same enqueueMany call) and, once finished, for flowRetention, in the same Verk instance (a job of another instance, on another Redis, cannot be depended on); nothing was written`,
      );
    }
    return reply.slice(1).map(String);
  }
}
