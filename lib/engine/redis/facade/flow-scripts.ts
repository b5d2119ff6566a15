import type { ClientContext, Result } from 'ioredis';
import type { HistogramWrite } from '../../core/histogram';
import type { JobPayload } from '../../core/job';
import { type Arg, type EnqueueFlowReply, type InProgressRef, type FailedJobParams, type FlowJob, ScriptBase, dayOf, histogramArgs, flag } from './script-base';

/** The façade's methods for lua/flow: flow control (dependencies, batches, unique locks); VerkScripts takes them over (composeScripts). */
export abstract class FlowScripts<Context extends ClientContext> extends ScriptBase<Context> {
  /**
   * Acknowledges a finished flow-control job. Returns how many jobs it put in `schedule`,
   * -1 when the job was no longer in in-progress.
   */
  completeFlowJob(params: InProgressRef & { raw: string; job: FlowJob; now: number; retentionSeconds: number; maxDone: number; histograms?: HistogramWrite }): Result<number, Context> {
    const { queue, nodeId, job, now } = params;
    const { keys } = this;
    const day = dayOf(now);
    return this.run(
      'verkCompleteFlowJob',
      [
        keys.inProgress(queue, nodeId),
        ...this.stats('processed', queue, day),
        keys.schedule,
        keys.flowPending,
        keys.flowDone,
        keys.flowDependents,
        keys.flowBlocked,
        keys.flowWaitingOn,
        this.lockKey(job),
        this.batchKey(job),
        ...this.histogramKeys(queue, day),
      ],
      [
        params.raw,
        job.jid,
        now,
        params.retentionSeconds,
        params.maxDone,
        flag(typeof job.unique_key === 'string'),
        flag(typeof job.bid === 'string'),
        flag(job.dependable === true),
        ...histogramArgs(day, params.histograms),
      ],
    );
  }

  /** failJob for a flow-control job. Returns how many jobs it put in `schedule`, -1 when it was not in in-progress. */
  failFlowJob(params: FailedJobParams & { job: FlowJob; retentionSeconds: number }): Result<number, Context> {
    const { queue, nodeId, job, now } = params;
    const { keys } = this;
    const day = dayOf(now);
    return this.run(
      'verkFailFlowJob',
      [
        keys.inProgress(queue, nodeId),
        keys[params.target],
        keys.dead,
        ...this.stats('failed', queue, day),
        keys.schedule,
        keys.flowPending,
        this.lockKey(job),
        this.batchKey(job),
        keys.flowDependents,
        keys.flowBlocked,
        keys.flowWaitingOn,
        keys.flowLost,
        ...this.histogramKeys(queue, day),
      ],
      [
        params.raw,
        params.payload,
        params.score,
        params.maxDeadJobs,
        job.jid,
        now,
        flag(typeof job.unique_key === 'string'),
        flag(typeof job.bid === 'string'),
        params.retentionSeconds,
        flag(job.dependable === true),
        ...histogramArgs(day, params.histograms),
      ],
    );
  }

  /**
   * Writes flow-control jobs all or nothing (each `payload` to run at `score`, epoch
   * seconds), with the batch they make up. Replies `['ok', jid...]` (a jid, or that of the
   * unique job holding its lock) or `['unknown', job number, jid]` for an unknown dependency.
   */
  enqueueFlowJobs(params: {
    jobs: readonly { job: FlowJob & Pick<JobPayload, 'unique_ttl' | 'depends_on'>; payload: string; score: number }[];
    batch?: { bid: string; /** With `placeholder` where the counts go. */ callback: string; placeholder: string; createdAt: number };
  }): Result<EnqueueFlowReply, Context> {
    const { keys } = this;
    const keyList = [keys.schedule, keys.flowPending, keys.flowDone, keys.flowDependents, keys.flowBlocked, keys.flowWaitingOn];
    // Locks and the batch hash follow, each once, referred to by its index in KEYS.
    const added = new Map<string, number>();
    const indexOf = (key: string): number => {
      let index = added.get(key);
      if (index === undefined) {
        index = keyList.push(key);
        added.set(key, index);
      }
      return index;
    };
    const { batch } = params;
    const args: Arg[] = [params.jobs.length];
    if (batch) args.push(indexOf(keys.batch(batch.bid)), batch.callback, batch.placeholder, batch.createdAt, batch.bid);
    else args.push(0, '', '', 0, '');
    for (const { job, payload, score } of params.jobs) {
      const deps = job.depends_on ?? [];
      const lock = typeof job.unique_key === 'string' ? indexOf(keys.unique(job.unique_key)) : 0;
      args.push(job.jid, payload, score, lock, job.unique_ttl ?? 0, flag(job.dependable === true), deps.length, ...deps);
    }
    return this.run('verkEnqueueFlowJobs', keyList, args);
  }

  /** Removes every job waiting for `jid`, transitively. Returns their payloads. */
  cancelBlockedJobs({ jid }: { jid: string }): Result<string[], Context> {
    return this.run('verkCancelBlockedJobs', this.blockedKeys(), [jid]);
  }

  /** Removes a job waiting for its dependencies: its payload, null when no longer waiting (error `dependents` when jobs wait for it). */
  removeBlockedJob({ jid }: { jid: string }): Result<string | null, Context> {
    return this.run('verkRemoveBlockedJob', this.blockedKeys(), [jid]);
  }

  /** Deletes a unique lock if `jid` still holds it. */
  releaseLock({ uniqueKey, jid }: { uniqueKey: string; jid: string }): Result<number, Context> {
    return this.run('verkReleaseLock', [this.keys.unique(uniqueKey)], [jid]);
  }

  /**
   * Settles entries of verk:flow:lost (each as read, with its job when it parses): counts
   * each as dead in its batch and frees its lock. Returns how many batch callbacks it scheduled.
   */
  settleLostJobs(params: { now: number; retentionSeconds: number; entries: readonly { entry: string; job: FlowJob | null }[] }): Result<number, Context> {
    const { keys } = this;
    const keyList = [keys.flowLost, keys.schedule];
    const args: Arg[] = [params.now, params.retentionSeconds];
    for (const { entry, job } of params.entries) {
      const batch = typeof job?.bid === 'string' ? keyList.push(keys.batch(job.bid)) : 0;
      const lock = typeof job?.unique_key === 'string' ? keyList.push(keys.unique(job.unique_key)) : 0;
      args.push(entry, job?.jid ?? '', batch, lock);
    }
    return this.run('verkSettleLostJobs', keyList, args);
  }

  /** The flow keys of the blocked-job scripts: pending, dependents, blocked, waiting_on. */
  protected blockedKeys(): string[] {
    const { keys } = this;
    return [keys.flowPending, keys.flowDependents, keys.flowBlocked, keys.flowWaitingOn];
  }

  /** The job's unique lock; without one, a key the script ignores (its flag is off) for the fixed position. */
  protected lockKey(job: FlowJob): string {
    return typeof job.unique_key === 'string' ? this.keys.unique(job.unique_key) : this.keys.flowPending;
  }

  protected batchKey(job: FlowJob): string {
    return typeof job.bid === 'string' ? this.keys.batch(job.bid) : this.keys.flowPending;
  }
}
