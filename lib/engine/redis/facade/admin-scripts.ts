import type { ClientContext, Result } from 'ioredis';
import { ScriptBase, QueueTargets, flag } from './script-base';

/** Where relocateJob puts a job: in the same key with a new payload, into `schedule`, or nowhere. */
export type RelocateTarget =
  | { where: 'same'; payload: string; /** Its score (sorted set) or field (hash). */ scoreOrField: string | number }
  | { where: 'schedule'; payload: string; /** Epoch seconds. */ at: number }
  | { where: 'nowhere' };

/** The façade's methods for lua/admin: listing, searching, moving and removing stored jobs; VerkScripts takes them over (composeScripts). */
export abstract class AdminScripts<Context extends ClientContext> extends ScriptBase<Context> {
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
}
