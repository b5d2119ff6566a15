import type { ClientContext, Result } from 'ioredis';
import type { HistogramWrite } from '../../core/histogram';
import { statDay } from '../keys';
import { type InProgressRef, type FailedJobParams, ScriptBase, QueueTargets, dayOf, histogramArgs } from './script-base';

/** enqueueDue's index of `dead` in KEYS, for a member that cannot be enqueued. */
const DEAD_INDEX = 3;

/** The façade's methods for lua/core: fetch, acknowledge, fail, put back and recover jobs, enqueue; VerkScripts takes them over (composeScripts). */
export abstract class CoreScripts<Context extends ClientContext> extends ScriptBase<Context> {
  /** Moves up to `count` jobs into the node's in-progress list; null when the queue is paused. */
  fetchJobs({ queue, nodeId, count }: InProgressRef & { count: number }): Result<string[] | null, Context> {
    const { keys } = this;
    return this.run('verkFetchJobs', [keys.queue(queue), keys.inProgress(queue, nodeId), keys.nodes, keys.nodeQueues(nodeId), keys.pausedQueues, keys.prioritized(queue)], [count, nodeId, queue]);
  }

  /** After a BLMOVE: 1 when the job is the node's to run, 0 when it went back (the queue was paused). */
  confirmBlockedFetch({ queue, nodeId, raw }: InProgressRef & { raw: string }): Result<number, Context> {
    const { keys } = this;
    return this.run('verkConfirmBlockedFetch', [keys.inProgress(queue, nodeId), keys.queue(queue), keys.pausedQueues, keys.nodes, keys.nodeQueues(nodeId)], [raw, queue, nodeId]);
  }

  /**
   * Acknowledges finished jobs (exactly as fetched), adding their run and wait times to the
   * queue's histograms of the day when `histograms` is given. Returns how many were removed.
   */
  finishJobs({ queue, nodeId, jobs, histograms }: InProgressRef & { jobs: readonly string[]; histograms?: HistogramWrite }): Result<number, Context> {
    const day = statDay();
    return this.run('verkFinishJobs', [this.keys.inProgress(queue, nodeId), ...this.stats('processed', queue, day), ...this.histogramKeys(queue, day)], [...histogramArgs(day, histograms), ...jobs]);
  }

  /** Moves a failed job to retry or dead: 1 moved, 2 sent to dead because `retry` refused it, 0 not in in-progress. */
  failJob({ queue, nodeId, target, raw, payload, score, maxDeadJobs, now, histograms }: FailedJobParams): Result<number, Context> {
    const { keys } = this;
    const day = dayOf(now);
    return this.run(
      'verkFailJob',
      [keys.inProgress(queue, nodeId), keys[target], keys.dead, ...this.stats('failed', queue, day), ...keys.flowLossKeys, ...this.histogramKeys(queue, day)],
      [raw, payload, score, maxDeadJobs, now, ...histogramArgs(day, histograms)],
    );
  }

  /** Puts every job of the in-progress list back at the consumer end of its queue. */
  requeueInProgress({ queue, nodeId }: InProgressRef): Result<number, Context> {
    return this.run('verkRequeueInProgress', this.putBackKeys(queue, nodeId), [queue]);
  }

  /** Puts back the jobs of the in-progress list other than `held` (the ones the node runs). */
  reconcileInProgress({ queue, nodeId, held }: InProgressRef & { held: readonly string[] }): Result<number, Context> {
    return this.run('verkReconcileInProgress', this.putBackKeys(queue, nodeId), [queue, ...held]);
  }

  /**
   * Recovers a gone node's in-progress list, each job to its queue or to dead with its new
   * payload; nothing moves while the node's heartbeat key exists, unless `own`.
   */
  recoverJobs(params: InProgressRef & { maxDeadJobs: number; now: number; own: boolean; jobs: readonly { raw: string; target: 'queue' | 'dead'; payload: string }[] }): Result<[number, number, number], Context> {
    const { queue, nodeId, now } = params;
    const { keys } = this;
    return this.run(
      'verkRecoverJobs',
      [keys.inProgress(queue, nodeId), keys.queue(queue), keys.dead, ...this.stats('failed', queue, dayOf(now)), keys.prioritized(queue), keys.wake, ...keys.flowLossKeys, keys.node(nodeId)],
      [params.maxDeadJobs, now, queue, params.own ? 1 : 0, ...params.jobs.flatMap((job) => [job.raw, job.target, job.payload])],
    );
  }

  /** Forgets a node whose heartbeat is gone and whose in-progress lists (of `queues`) are empty. */
  forgetNode({ nodeId, queues }: { nodeId: string; queues: readonly string[] }): Result<number, Context> {
    const { keys } = this;
    return this.run('verkForgetNode', [keys.nodes, keys.node(nodeId), keys.nodeQueues(nodeId), ...queues.map((queue) => keys.inProgress(queue, nodeId))], [nodeId]);
  }

  /** Adds a plain job to the end of its queue. */
  enqueueJob({ queue, payload }: { queue: string; payload: string }): Result<number, Context> {
    return this.run('verkEnqueueJob', [this.keys.queues, this.keys.queue(queue)], [queue, payload]);
  }

  /** Adds jobs with a nonzero priority to their queue's sorted set. Returns how many wait there now. */
  enqueuePrioritized({ queue, jobs }: { queue: string; jobs: readonly { priority: number; payload: string }[] }): Result<number, Context> {
    const { keys } = this;
    return this.run('verkEnqueuePrioritized', [keys.queues, keys.prioritized(queue), keys.prioritySeq(queue), keys.wake], [queue, ...jobs.flatMap((job) => [job.priority, job.payload])]);
  }

  /**
   * Moves due members of `schedule` or `retry` to their queues (`queue` null: to dead, with
   * `payload` saying why). Returns how many were moved.
   */
  enqueueDue(params: { from: 'schedule' | 'retry'; maxDeadJobs: number; now: number; jobs: readonly { member: string; queue: string | null; payload: string }[] }): Result<number, Context> {
    const { keys } = this;
    const fixed = [keys[params.from], keys.queues, keys.dead, keys.stat('failed'), keys.stat('failed', dayOf(params.now)), keys.wake];
    const targets = new QueueTargets(keys, fixed.length + 1);
    const triples = params.jobs.flatMap((job) => [job.member, job.queue === null ? DEAD_INDEX : targets.indexOf(job.queue), job.payload]);
    // The flow keys last: a trim of dead may lose dependable jobs (lua/includes/flow/trimDead).
    return this.run('verkEnqueueDue', [...fixed, ...targets.keys, ...keys.flowLossKeys], [params.maxDeadJobs, params.now, ...triples, ...targets.names]);
  }

  /** requeueInProgress and reconcileInProgress: in-progress, queue, prioritized, wake, dead. */
  protected putBackKeys(queue: string, nodeId: string): string[] {
    const { keys } = this;
    return [keys.inProgress(queue, nodeId), keys.queue(queue), keys.prioritized(queue), keys.wake, keys.dead];
  }
}
