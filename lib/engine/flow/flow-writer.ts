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

/** The error of a dependsOn naming a job that is neither pending nor recorded as finished (nothing was written). */
export function unknownDependency(field: string, jid: string): VerkValidationError {
  return new VerkValidationError(
    field,
    `job ${jid} is neither pending nor recorded as finished. A job can be depended on when it was enqueued with dependable: true ` +
      `(or with dependsOn, or earlier in the same enqueueMany call) and, once finished, for flowRetention, in the same Verk instance (a job of another instance, on another Redis, cannot be depended on); nothing was written`,
  );
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
      throw unknownDependency(`${fields[index]}.dependsOn[${at}]`, String(reply[2]));
    }
    return reply.slice(1).map(String);
  }
}
