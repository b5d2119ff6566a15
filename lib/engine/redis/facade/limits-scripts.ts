import type { ClientContext, Result } from 'ioredis';
import { type InProgressRef, ScriptBase, flag } from './script-base';

/** The façade's methods for lua/limits (docs/limits.md): fetching within limits and groups, giving slots back, rate-limited jobs; VerkScripts takes them over (composeScripts). */
export abstract class LimitsScripts<Context extends ClientContext> extends ScriptBase<Context> {
  /** fetchJobs within the queue's limits and groups: null when paused, else [wait ms, ...jobs] (see the script). */
  fetchLimited({ queue, nodeId, count }: InProgressRef & { count: number }): Result<[number, ...string[]] | null, Context> {
    const { keys } = this;
    return this.run(
      'verkFetchLimited',
      [
        keys.queue(queue),
        keys.inProgress(queue, nodeId),
        keys.nodes,
        keys.nodeQueues(nodeId),
        keys.pausedQueues,
        keys.prioritized(queue),
        keys.limits(queue),
        keys.limitStarts(queue),
        keys.heldSlots(queue, nodeId),
        keys.grouped(queue),
        keys.groupRing(queue),
        keys.groupState(queue),
        keys.groupTouched(queue),
      ],
      [count, nodeId, queue],
    );
  }

  /** Gives back the slots of jobs (exactly as fetched) whose outcome has been written. Returns how many. */
  releaseSlots({ queue, nodeId, jobs }: InProgressRef & { jobs: readonly string[] }): Result<number, Context> {
    const { keys } = this;
    return this.run('verkReleaseSlots', [keys.limits(queue), keys.heldSlots(queue, nodeId), keys.groupState(queue), keys.wake], [queue, ...jobs]);
  }

  /**
   * Gives back every slot a node holds in a queue (but those of `keep`); nothing while its
   * heartbeat key exists unless `own`. Returns how many.
   */
  releaseNodeSlots({ queue, nodeId, own, keep = [] }: InProgressRef & { own: boolean; keep?: readonly string[] }): Result<number, Context> {
    const { keys } = this;
    return this.run('verkReleaseNodeSlots', [keys.limits(queue), keys.heldSlots(queue, nodeId), keys.groupState(queue), keys.wake, keys.node(nodeId)], [queue, flag(own), ...keep]);
  }

  /** A VerkRateLimitError: the job back at the head, the queue or `group` paused for `ms`. 1 when moved. */
  rateLimitedJob({ queue, nodeId, raw, ms, group }: InProgressRef & { raw: string; ms: number; group?: string }): Result<number, Context> {
    const { keys } = this;
    return this.run(
      'verkRateLimitedJob',
      [
        keys.inProgress(queue, nodeId),
        keys.queue(queue),
        keys.prioritized(queue),
        keys.limits(queue),
        keys.heldSlots(queue, nodeId),
        keys.groupState(queue),
        keys.grouped(queue),
        keys.groupRing(queue),
        keys.groupTouched(queue),
        keys.wake,
        keys.control,
      ],
      [raw, Math.ceil(ms), group ?? '', queue],
    );
  }

  /** Gives a grouped job waiting in its group (its `member` there) a new payload and priority, at the end of that priority in its group. 1 when moved. */
  reprioritizeGrouped({ queue, member, group, payload }: { queue: string; member: string; group: string; payload: string }): Result<number, Context> {
    return this.run('verkReprioritizeGrouped', [this.keys.grouped(queue), this.keys.limits(queue)], [member, group, payload]);
  }
}
