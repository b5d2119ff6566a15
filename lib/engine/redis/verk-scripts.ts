import type { ChainableCommander, ClientContext, RedisCommander, Result } from 'ioredis';
import type { HistogramWrite } from '../core/histogram';
import type { JobPayload } from '../core/job';
import { type Keys, statDay } from './keys';
import { publishingCommands, shardedCommand } from './scripts';

/** The scripts that publish (they have a sharded pub/sub variant). */
const PUBLISHING = publishingCommands();

/**
 * The one place that calls the Lua scripts of lua/: one method per script, taking named
 * parameters and building the script's KEYS and ARGV in the order its header documents.
 * Callers never list keys by position, so a script's signature changes here alone.
 *
 * Over a connection a method returns a Promise of the script's reply; over a MULTI or a
 * pipeline (VerkScripts.inPipeline) it queues the call and the reply comes with exec().
 */

/** An ARGV value: ioredis sends a number as its decimal text. */
type Arg = string | number;

/** enqueueFlowJobs: each job's jid (or the unique job's holding its lock), or the first unknown dependency. */
export type EnqueueFlowReply = ['ok', ...jids: string[]] | ['unknown', jobNumber: number, jid: string];

/** The reply of each script (see its header in lua/), by the command name it is defined as. */
interface ScriptReplies {
  verkFetchJobs: string[] | null;
  verkConfirmBlockedFetch: number;
  verkFinishJobs: number;
  verkFailJob: number;
  verkRequeueInProgress: number;
  verkReconcileInProgress: number;
  verkRecoverJobs: [requeued: number, dead: number, alive: number];
  verkForgetNode: number;
  verkEnqueueJob: number;
  verkEnqueuePrioritized: number;
  verkEnqueueDue: number;
  verkCompleteFlowJob: number;
  verkFailFlowJob: number;
  verkEnqueueFlowJobs: EnqueueFlowReply;
  verkCancelBlockedJobs: string[];
  verkRemoveBlockedJob: string | null;
  verkReleaseLock: number;
  verkSettleLostJobs: number;
  verkListQueue: [total: number, ...jobs: string[]];
  verkRelocateJob: number;
  verkRemoveJobs: number;
  verkReprioritize: number;
  verkReprioritizeGrouped: number;
  verkRetryNow: number;
  verkScanJobs: [total: number, next: number, scanned: number, ...memberAndScore: string[]];
  verkRetryJobs: [error: string, ...moved: number[]];
  verkKillJobs: number[];
  verkRecordEvents: [stored: number, published: number];
  verkTrimHistory: number;
  verkTrimTags: number;
  verkPutRecurring: number;
  verkTickRecurring: number;
  verkFetchLimited: [wait: number, ...jobs: string[]] | null;
  verkReleaseSlots: number;
  verkReleaseNodeSlots: number;
  verkRateLimitedJob: number;
}

/**
 * The scripts as defineScripts registers them (lib/engine/redis/scripts.ts): without a
 * fixed key count, so every call passes numKeys, then the keys, then the arguments.
 */
type ScriptCommands<Context extends ClientContext> = {
  [Command in keyof ScriptReplies]: (numKeys: number, ...keysAndArgs: Arg[]) => Result<ScriptReplies[Command], Context>;
};

declare module 'ioredis' {
  // The commands defineCommand adds at run time, on connections and on pipelines alike.
  interface RedisCommander<Context> extends ScriptCommands<Context> {}
}

/** ioredis's context of a MULTI or pipeline (ChainableCommander). */
type PipelineContext = { type: 'pipeline'; mapping: 'resp2' };

/** Where a job runs: its queue and the node whose in-progress list holds it. */
export interface InProgressRef {
  queue: string;
  nodeId: string;
}

/** A failed job on its way to `retry` or `dead`. */
export interface FailedJobParams extends InProgressRef {
  target: 'retry' | 'dead';
  /** The job exactly as fetched. */
  raw: string;
  /** The job with its failure fields. */
  payload: string;
  /** When to retry it, or when it died (epoch seconds). */
  score: number;
  maxDeadJobs: number;
  /** Epoch seconds. */
  now: number;
  /** The run's and wait's times for the queue's histograms of the day; none: nothing added. */
  histograms?: HistogramWrite;
}

/** The fields of a job that name its flow-control keys and flags. */
export type FlowJob = Pick<JobPayload, 'jid' | 'unique_key' | 'bid' | 'dependable'>;

/** Where relocateJob puts a job: in the same key with a new payload, into `schedule`, or nowhere. */
export type RelocateTarget =
  | { where: 'same'; payload: string; /** Its score (sorted set) or field (hash). */ scoreOrField: string | number }
  | { where: 'schedule'; payload: string; /** Epoch seconds. */ at: number }
  | { where: 'nowhere' };

export class VerkScripts<Context extends ClientContext = { type: 'default' }> {
  constructor(
    private readonly redis: RedisCommander<Context>,
    private readonly keys: Keys,
  ) {}

  /** The façade over a MULTI or pipeline: each method queues its call (replies come with exec()). */
  static inPipeline(pipeline: ChainableCommander, keys: Keys): VerkScripts<PipelineContext> {
    return new VerkScripts<PipelineContext>(pipeline, keys);
  }

  // ---- core: fetch, acknowledge, fail, put back, recover ----

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

  // ---- limits (lua/limits, docs/limits.md) ----

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

  /** Forgets a node whose heartbeat is gone and whose in-progress lists (of `queues`) are empty. */
  forgetNode({ nodeId, queues }: { nodeId: string; queues: readonly string[] }): Result<number, Context> {
    const { keys } = this;
    return this.run('verkForgetNode', [keys.nodes, keys.node(nodeId), keys.nodeQueues(nodeId), ...queues.map((queue) => keys.inProgress(queue, nodeId))], [nodeId]);
  }

  // ---- core: enqueue ----

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
    // The flow keys last: a trim of dead may lose dependable jobs (lua/includes/trimDead).
    return this.run('verkEnqueueDue', [...fixed, ...targets.keys, ...keys.flowLossKeys], [params.maxDeadJobs, params.now, ...triples, ...targets.names]);
  }

  // ---- flow control ----

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

  // ---- admin ----

  /** A page of a queue's waiting jobs in processing order, then its grouped jobs: `[total, job...]`. */
  listQueue({ queue, offset, limit }: { queue: string; offset: number; limit: number }): Result<[number, ...string[]], Context> {
    return this.run('verkListQueue', [this.keys.queue(queue), this.keys.prioritized(queue), this.keys.grouped(queue)], [offset, limit]);
  }

  /**
   * Moves one stored job (`raw`) from the key it was found in (of type `kind`) to `to`,
   * in one step. Returns 1 when moved, 0 when it was no longer there.
   */
  relocateJob({ from, kind, raw, to }: { from: string; kind: 'list' | 'zset' | 'hash'; raw: string; to: RelocateTarget }): Result<number, Context> {
    if (to.where === 'nowhere') return this.run('verkRelocateJob', [from, from], [kind, raw, 'none', '', 0]);
    if (to.where === 'schedule') return this.run('verkRelocateJob', [from, this.keys.schedule], [kind, raw, 'zset', to.payload, to.at]);
    // The same sorted set or hash: the type it has.
    return this.run('verkRelocateJob', [from, from], [kind, raw, kind === 'hash' ? 'hash' : 'zset', to.payload, to.scoreOrField]);
  }

  /**
   * Removes jobs for good from a set or list (`members`, or the `oldest` n); a removed
   * dependable job loses its dependents unless `dependents` is 'keep'. `removedFrom`
   * completes their error message ("deleted from dead"). Returns how many were removed.
   */
  removeJobs(params: {
    from: string;
    /** 'grouped': `from` is a queue's grouped set, `ring` its round-robin ring. */
    kind: 'list' | 'zset' | 'grouped';
    ring?: string;
    what: { members: readonly string[] } | { oldest: number };
    removedFrom: string;
    dependents: 'lose' | 'keep';
    maxDeadJobs: number;
    now: number;
  }): Result<number, Context> {
    const { keys } = this;
    const { from, what } = params;
    return this.run(
      'verkRemoveJobs',
      // KEYS[8] is only read for 'grouped'; else `from` again (a key the script already has).
      [from, keys.dead, ...keys.flowLossKeys, params.ring ?? from],
      [
        params.kind,
        'members' in what ? 'members' : 'oldest',
        params.maxDeadJobs,
        params.now,
        params.removedFrom,
        flag(from === keys.dead),
        params.dependents,
        ...('members' in what ? what.members : [what.oldest]),
      ],
    );
  }

  /** Gives a waiting job (`raw`, found in the queue's `where`) a new priority and payload. 1 when moved. */
  reprioritize({ queue, raw, where, payload, priority }: { queue: string; raw: string; where: 'list' | 'zset'; payload: string; priority: number }): Result<number, Context> {
    const { keys } = this;
    return this.run('verkReprioritize', [keys.queue(queue), keys.prioritized(queue), keys.prioritySeq(queue), keys.wake], [raw, where, payload, priority, queue]);
  }

  /** Gives a grouped job waiting in its group (its `member` there) a new payload and priority, at the end of that priority in its group. 1 when moved. */
  reprioritizeGrouped({ queue, member, group, payload }: { queue: string; member: string; group: string; payload: string }): Result<number, Context> {
    return this.run('verkReprioritizeGrouped', [this.keys.grouped(queue), this.keys.limits(queue)], [member, group, payload]);
  }

  /** Moves a job of `retry`, `schedule` or `dead` to its queue now. 1 when this call moved it. */
  retryNow({ from, queue, raw, payload }: { from: 'retry' | 'schedule' | 'dead'; queue: string; raw: string; payload: string }): Result<number, Context> {
    const { keys } = this;
    return this.run('verkRetryNow', [keys[from], keys.queues, keys.queue(queue), keys.prioritized(queue), keys.prioritySeq(queue), keys.wake], [raw, payload, queue]);
  }

  /**
   * One bounded step of a filtered search of a sorted set or a queue's waiting jobs (run
   * order, then its grouped jobs): reads at most `bound` members from `start`, returns at
   * most `limit` matches (a grouped job's payload, then its member's prefix).
   */
  scanJobs(params: {
    from: { set: 'retry' | 'schedule' | 'dead' } | { queue: string };
    order: 'asc' | 'desc';
    start: number;
    bound: number;
    limit: number;
    /** `contains`: text a member must hold as is (case-sensitive), e.g. a jid. */
    filter: { class: string; queue: string; text: string; contains?: string };
  }): Result<[number, number, number, ...string[]], Context> {
    const { keys } = this;
    const { from, filter } = params;
    const keyList = 'set' in from ? [keys[from.set], keys[from.set], keys[from.set]] : [keys.queue(from.queue), keys.prioritized(from.queue), keys.grouped(from.queue)];
    return this.run('verkScanJobs', keyList, ['set' in from ? 'zset' : 'queue', params.order, params.start, params.bound, params.limit, filter.class, filter.queue, filter.text, filter.contains ?? '']);
  }

  /**
   * Moves jobs of `retry`, `schedule` or `dead` to their queues now (each `member` as
   * stored, `payload` with enqueued_at set). Replies [error or '', number of each moved job].
   */
  retryJobs({ from, jobs }: { from: 'retry' | 'schedule' | 'dead'; jobs: readonly { member: string; queue: string; payload: string }[] }): Result<[string, ...number[]], Context> {
    const { keys } = this;
    const fixed = [keys[from], keys.queues, keys.wake];
    const targets = new QueueTargets(keys, fixed.length + 1);
    const triples = jobs.flatMap((job) => [job.member, targets.indexOf(job.queue), job.payload]);
    return this.run('verkRetryJobs', [...fixed, ...targets.keys], [...triples, ...targets.names]);
  }

  /** Moves members of `retry` or `schedule` to dead now, as stored. Replies the number of each moved member. */
  killJobs({ from, members, maxDeadJobs, now }: { from: 'retry' | 'schedule'; members: readonly string[]; maxDeadJobs: number; now: number }): Result<number[], Context> {
    const { keys } = this;
    return this.run('verkKillJobs', [keys[from], keys.dead, ...keys.flowLossKeys], [maxDeadJobs, now, ...members]);
  }

  // ---- history and tracking ----

  /**
   * Records job events (`event`: its JSON; `mode` 0 not stored, 1 stored, 2 stored if the
   * job has a history; `ends`: it ends the job). Returns [stored, published].
   */
  recordEvents(params: {
    /** Epoch ms. */
    now: number;
    maxAge: number;
    grace: number;
    tracking: boolean;
    maxEventsPerJob: number;
    events: readonly { jid: string; event: string; mode: 0 | 1 | 2; ends: boolean }[];
  }): Result<[number, number], Context> {
    const { keys } = this;
    return this.run(
      'verkRecordEvents',
      [keys.historyIndex, keys.tracked, keys.trackChannel, ...params.events.map((event) => keys.history(event.jid))],
      [params.now, params.maxAge, params.grace, flag(params.tracking), params.maxEventsPerJob, ...params.events.flatMap((event) => [event.jid, event.event, event.mode, flag(event.ends)])],
    );
  }

  /** Deletes the histories of `jids` whose last event is not newer than `bound` (epoch ms). */
  trimHistory({ bound, jids }: { bound: number; jids: readonly string[] }): Result<number, Context> {
    const { keys } = this;
    return this.run('verkTrimHistory', [keys.historyIndex, ...jids.map((jid) => keys.history(jid))], [bound, ...jids]);
  }

  /** Drops tag index entries older than `cutoff` (epoch ms), and tags left empty. */
  trimTags({ cutoff, tags }: { cutoff: number; tags: readonly string[] }): Result<number, Context> {
    const { keys } = this;
    return this.run('verkTrimTags', [keys.tags, ...tags.map((tag) => keys.tag(tag))], [cutoff, ...tags]);
  }

  // ---- recurring jobs ----

  /**
   * Writes a recurring definition and its next tick if neither changed since read
   * (`expected`, `expectedTick`; null: there was none). `definition` '' deletes it; `nextTick`
   * null: the schedule has ended. 1 when written.
   */
  putRecurring(params: { name: string; expected: string | null; expectedTick: number | null; definition: string; nextTick: number | null }): Result<number, Context> {
    const { keys } = this;
    return this.run('verkPutRecurring', [keys.recurring, keys.recurringDue], [params.name, params.expected ?? '', optional(params.expectedTick), params.definition, optional(params.nextTick)]);
  }

  /**
   * Claims the due tick `due` (epoch ms) of a recurring job if its definition is still
   * `expected`, enqueues `jobs` and writes `definition` ('' = unchanged) and the `next`
   * tick (null: none). The number of jobs enqueued, -1 when the tick was no longer ours.
   */
  tickRecurring(params: { name: string; expected: string; due: number; definition: string; next: number | null; jobs: readonly { queue: string; priority: number; payload: string }[] }): Result<number, Context> {
    const { keys } = this;
    const fixed = [keys.recurring, keys.recurringDue, keys.queues, keys.wake];
    const targets = new QueueTargets(keys, fixed.length + 1);
    const triples = params.jobs.flatMap((job) => [targets.indexOf(job.queue), job.priority, job.payload]);
    return this.run('verkTickRecurring', [...fixed, ...targets.keys], [params.name, params.expected, String(params.due), params.definition, optional(params.next), ...triples, ...targets.names]);
  }

  // ---- building blocks ----

  /** The one call of a defined script: numKeys, the keys, the arguments. */
  private run<Command extends keyof ScriptReplies>(command: Command, keys: readonly string[], args: readonly Arg[]): Result<ScriptReplies[Command], Context> {
    const commands: ScriptCommands<Context> = this.redis;
    // In cluster mode a script that publishes runs as its SPUBLISH variant (scripts.ts).
    const name = this.keys.shardedPubSub && PUBLISHING.has(command) ? (shardedCommand(command) as Command) : command;
    const script: ScriptCommands<Context>[Command] = commands[name];
    return script.call(this.redis, keys.length, ...keys, ...args);
  }

  /** The four counters of a processed or failed job: total and daily, overall and of its queue. */
  private stats(kind: 'processed' | 'failed', queue: string, day: string): string[] {
    const { keys } = this;
    return [keys.stat(kind), keys.stat(kind, day), keys.queueStat(kind, queue), keys.queueStat(kind, queue, day)];
  }

  /** The run-time and wait-time histograms of a queue's day (passed even when nothing is added: scripts take a fixed number of keys). */
  private histogramKeys(queue: string, day: string): string[] {
    return [this.keys.histogram('run', queue, day), this.keys.histogram('wait', queue, day)];
  }

  /** requeueInProgress and reconcileInProgress: in-progress, queue, prioritized, wake, dead. */
  private putBackKeys(queue: string, nodeId: string): string[] {
    const { keys } = this;
    return [keys.inProgress(queue, nodeId), keys.queue(queue), keys.prioritized(queue), keys.wake, keys.dead];
  }

  /** The flow keys of the blocked-job scripts: pending, dependents, blocked, waiting_on. */
  private blockedKeys(): string[] {
    const { keys } = this;
    return [keys.flowPending, keys.flowDependents, keys.flowBlocked, keys.flowWaitingOn];
  }

  /** The job's unique lock; without one, a key the script ignores (its flag is off) for the fixed position. */
  private lockKey(job: FlowJob): string {
    return typeof job.unique_key === 'string' ? this.keys.unique(job.unique_key) : this.keys.flowPending;
  }

  private batchKey(job: FlowJob): string {
    return typeof job.bid === 'string' ? this.keys.batch(job.bid) : this.keys.flowPending;
  }
}

/** enqueueDue's index of `dead` in KEYS, for a member that cannot be enqueued. */
const DEAD_INDEX = 3;

/**
 * The target queues of enqueueDue, retryJobs and tickRecurring: three keys per queue (its list, its
 * prioritized set and that set's counter) after the fixed keys, each queue once, and the
 * queue names in the same order (the scripts' last arguments).
 */
class QueueTargets {
  readonly keys: string[] = [];
  readonly names: string[] = [];

  /** `first`: the KEYS index (1-based) of the first queue's list. */
  constructor(
    private readonly keyNames: Keys,
    private readonly first: number,
  ) {}

  /** The KEYS index of the queue's list. */
  indexOf(queue: string): number {
    let index = this.names.indexOf(queue);
    if (index < 0) {
      index = this.names.push(queue) - 1;
      this.keys.push(this.keyNames.queue(queue), this.keyNames.prioritized(queue), this.keyNames.prioritySeq(queue));
    }
    return this.first + 3 * index;
  }
}

/** The UTC day (statDay) of an epoch-seconds time. */
function dayOf(seconds: number): string {
  return statDay(new Date(seconds * 1000));
}

const DAY_SECONDS = 86_400;

/**
 * The histogram arguments of an acknowledgement script: when the day's hashes expire (the
 * end of `day`, UTC, plus the retention: the same for every node that writes them), the
 * run times and the wait times ('' adds nothing).
 */
function histogramArgs(day: string, histograms: HistogramWrite | undefined): Arg[] {
  if (!histograms) return [0, '', ''];
  const expireAt = Date.parse(`${day}T00:00:00Z`) / 1000 + DAY_SECONDS * (1 + histograms.retentionDays);
  return [expireAt, histograms.run, histograms.wait];
}

function flag(value: boolean): 0 | 1 {
  return value ? 1 : 0;
}

/** A number, or '' for none (the scripts' convention). */
function optional(value: number | null): string {
  return value === null ? '' : String(value);
}
