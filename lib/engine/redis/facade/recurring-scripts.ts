import type { ClientContext, Result } from 'ioredis';
import { ScriptBase, QueueTargets, optional } from './script-base';

/** The façade's methods for lua/recurring: recurring job definitions and their ticks; VerkScripts takes them over (composeScripts). */
export abstract class RecurringScripts<Context extends ClientContext> extends ScriptBase<Context> {
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
}
