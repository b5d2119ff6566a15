import type { ClientContext, RedisCommander, Result } from 'ioredis';
import type { HistogramWrite } from '../../core/histogram';
import type { JobPayload } from '../../core/job';
import { type Keys, statDay } from '../keys';
import { publishingCommands, shardedCommand } from '../scripts';

/*
 * What every area of the script façade (VerkScripts, verk-scripts.ts) shares: the replies
 * of the scripts, the one call of a defined script, and the small key and argument helpers.
 */

/** The scripts that publish (they have a sharded pub/sub variant). */
const PUBLISHING = publishingCommands();

/** An ARGV value: ioredis sends a number as its decimal text. */
export type Arg = string | number;

/** enqueueFlowJobs: each job's jid (or the unique job's holding its lock), or the first unknown dependency. */
export type EnqueueFlowReply = ['ok', ...jids: string[]] | ['unknown', jobNumber: number, jid: string];

/** The reply of each script (see its header in lua/), by the command name it is defined as. */
export interface ScriptReplies {
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
export type ScriptCommands<Context extends ClientContext> = {
  [Command in keyof ScriptReplies]: (numKeys: number, ...keysAndArgs: Arg[]) => Result<ScriptReplies[Command], Context>;
};

declare module 'ioredis' {
  // The commands defineCommand adds at run time, on connections and on pipelines alike.
  interface RedisCommander<Context> extends ScriptCommands<Context> {}
}

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

/**
 * The base of every area class (core-scripts.ts, flow-scripts.ts, ...): the connection (or
 * MULTI/pipeline) and the key names, and the building blocks the areas' methods share.
 * The areas are abstract and never instantiated: VerkScripts copies their methods onto
 * its own prototype (see composeScripts).
 */
export abstract class ScriptBase<Context extends ClientContext> {
  constructor(
    protected readonly redis: RedisCommander<Context>,
    protected readonly keys: Keys,
  ) {}

  /** The one call of a defined script: numKeys, the keys, the arguments. */
  protected run<Command extends keyof ScriptReplies>(command: Command, keys: readonly string[], args: readonly Arg[]): Result<ScriptReplies[Command], Context> {
    const commands: ScriptCommands<Context> = this.redis;
    // In cluster mode a script that publishes runs as its SPUBLISH variant (scripts.ts).
    const name = this.keys.shardedPubSub && PUBLISHING.has(command) ? (shardedCommand(command) as Command) : command;
    const script: ScriptCommands<Context>[Command] = commands[name];
    return script.call(this.redis, keys.length, ...keys, ...args);
  }

  /** The four counters of a processed or failed job: total and daily, overall and of its queue. */
  protected stats(kind: 'processed' | 'failed', queue: string, day: string): string[] {
    const { keys } = this;
    return [keys.stat(kind), keys.stat(kind, day), keys.queueStat(kind, queue), keys.queueStat(kind, queue, day)];
  }

  /** The run-time and wait-time histograms of a queue's day (passed even when nothing is added: scripts take a fixed number of keys). */
  protected histogramKeys(queue: string, day: string): string[] {
    return [this.keys.histogram('run', queue, day), this.keys.histogram('wait', queue, day)];
  }
}

/**
 * The target queues of enqueueDue, retryJobs and tickRecurring: three keys per queue (its list, its
 * prioritized set and that set's counter) after the fixed keys, each queue once, and the
 * queue names in the same order (the scripts' last arguments).
 */
export class QueueTargets {
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
export function dayOf(seconds: number): string {
  return statDay(new Date(seconds * 1000));
}

const DAY_SECONDS = 86_400;

/**
 * The histogram arguments of an acknowledgement script: when the day's hashes expire (the
 * end of `day`, UTC, plus the retention: the same for every node that writes them), the
 * run times and the wait times ('' adds nothing).
 */
export function histogramArgs(day: string, histograms: HistogramWrite | undefined): Arg[] {
  if (!histograms) return [0, '', ''];
  const expireAt = Date.parse(`${day}T00:00:00Z`) / 1000 + DAY_SECONDS * (1 + histograms.retentionDays);
  return [expireAt, histograms.run, histograms.wait];
}

export function flag(value: boolean): 0 | 1 {
  return value ? 1 : 0;
}

/** A number, or '' for none (the scripts' convention). */
export function optional(value: number | null): string {
  return value === null ? '' : String(value);
}
