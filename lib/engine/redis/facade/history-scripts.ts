import type { ClientContext, Result } from 'ioredis';
import { ScriptBase, flag } from './script-base';

/** The façade's methods for lua/history: job history, tags and tracking; VerkScripts takes them over (composeScripts). */
export abstract class HistoryScripts<Context extends ClientContext> extends ScriptBase<Context> {
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
}
