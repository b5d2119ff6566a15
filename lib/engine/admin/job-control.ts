import type Redis from 'ioredis';
import { publish } from '../redis/pubsub';
import type { FoundJob, VerkAdmin } from './admin';
import { checkJid, checkQueueName } from './admin-input';
import { readJob } from '../core/job';
import { type JobPayload, nowSeconds } from '../core/job';
import type { Keys } from '../redis/keys';
import { VerkScripts } from '../redis/verk-scripts';
import { spliceFields } from '../core/payload-text';
import type { JobEvent } from '../history/recorder';

/** Times a move looks again when the job moved under it. */
const ATTEMPTS = 3;

/** Published on the control channel when a running job is cancelled or moved. */
export interface InterruptMessage {
  type: 'cancel' | 'move';
  jid: string;
  /** The node running it: only that one tells its worker. */
  node: string;
  /** The queue it was fetched from (the run that is interrupted). */
  from: string;
  /** For `move`: the new queue. */
  queue?: string;
}

/** Where a job was found, as the relocate script needs it. */
interface Place {
  key: string;
  kind: 'list' | 'zset' | 'hash';
  raw: string;
  /** The member it is stored as when that is not `raw`: a grouped job in its queue's grouped set. */
  member?: string;
  job: JobPayload;
  /** Sorted sets: the job's score; kept when it stays in its set. */
  score?: number;
  /** In progress: the node running it, and the queue it was fetched from. */
  running?: { nodeId: string; queue: string };
}

/**
 * Moving jobs between queues and taking running jobs away from their worker (qless's
 * cancel and move). A running job is taken out of its node's in-progress list, so the
 * outcome its worker writes later finds nothing and is ignored; the node is told over the
 * control channel so the worker can see `currentJob().canceled`.
 */
export class VerkJobControl {
  private readonly scripts: VerkScripts;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly admin: VerkAdmin,
    /** Called when jobs were put in `schedule` to run now. */
    private readonly onScheduledNow: () => void,
    /** Records a cancel or move in the job's history / tracking (the engine adds node and time). */
    private readonly recordEvent: (event: Pick<JobEvent, 'jid' | 'event' | 'queue' | 'from' | 'to'>) => void = () => undefined,
  ) {
    this.scripts = new VerkScripts(redis, keys);
  }

  /**
   * Moves a job to another queue: a waiting job to the end of the new queue; a scheduled,
   * retrying or dead job keeps its place in its set with the new queue; a job waiting for
   * dependencies will be enqueued into the new queue; a running job is taken from its
   * worker (told through `currentJob().canceled`/`movedTo`) and enqueued into the new
   * queue. False when the job is not found. Its priority and every other field are kept.
   * `options.locate`: how to find it (default `admin.findJob`, a search to the end), as
   * in flow.job; the dashboard passes where the page saw it.
   */
  async move(jid: string, queue: string, options: { locate?: (jid: string) => Promise<FoundJob | null> } = {}): Promise<boolean> {
    checkJid(jid);
    checkQueueName(queue, 'queue');
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const place = await this.locate(jid, options.locate ?? ((other) => this.admin.findJob(other)));
      if (!place) return false;
      const payload = spliceFields(place.raw, { queue });
      let moved: number;
      if (place.kind === 'hash') {
        moved = await this.scripts.relocateJob({ from: place.key, kind: 'hash', raw: place.raw, to: { where: 'same', payload, scoreOrField: jid } });
      } else if (place.score !== undefined) {
        // schedule, retry, dead: same set, same time.
        moved = await this.scripts.relocateJob({ from: place.key, kind: 'zset', raw: place.raw, to: { where: 'same', payload, scoreOrField: place.score } });
      } else {
        // A queue or in-progress: through `schedule`, due now; this node moves it at once.
        moved = await this.scripts.relocateJob({ from: place.key, kind: place.kind, raw: place.member ?? place.raw, to: { where: 'schedule', payload: spliceFields(place.raw, { queue, enqueued_at: undefined }), at: nowSeconds() } });
        if (moved === 1) this.onScheduledNow();
      }
      if (moved === 1) {
        this.recordEvent({ jid, event: 'moved', queue, from: place.job.queue, to: queue });
        if (place.running) await this.announce({ type: 'move', jid, node: place.running.nodeId, from: place.running.queue, queue });
        return true;
      }
    }
    return false;
  }

  /**
   * Takes a running job from its node: removes it from in-progress (so its outcome is
   * ignored and recovery never brings it back) and tells the node. False when it is no
   * longer there (it finished first).
   */
  async interruptRunning(found: Extract<FoundJob, { where: 'inprogress' }>): Promise<boolean> {
    const key = this.keys.inProgress(found.queue, found.nodeId);
    if ((await this.scripts.relocateJob({ from: key, kind: 'list', raw: found.raw, to: { where: 'nowhere' } })) === 0) return false;
    await this.announce({ type: 'cancel', jid: found.job.jid, node: found.nodeId, from: found.queue });
    return true;
  }

  private async announce(message: InterruptMessage): Promise<void> {
    await publish(this.redis, this.keys, this.keys.control, JSON.stringify(message));
  }

  private async locate(jid: string, find: (jid: string) => Promise<FoundJob | null>): Promise<Place | null> {
    const blocked = await this.redis.hget(this.keys.flowBlocked, jid);
    if (blocked !== null) {
      const job = readJob(blocked).job;
      return job ? { key: this.keys.flowBlocked, kind: 'hash', raw: blocked, job } : null;
    }
    const found = await find(jid);
    if (!found) return null;
    switch (found.where) {
      case 'queue': {
        // Waiting in its group: its group stays in the ring until the limited fetch finds it empty.
        if (found.grouped !== undefined) return { key: this.keys.grouped(found.queue), kind: 'zset', raw: found.raw, member: found.grouped, job: found.job };
        const prioritized = this.keys.prioritized(found.queue);
        const inSet = (await this.redis.zscore(prioritized, found.raw)) !== null;
        return { key: inSet ? prioritized : this.keys.queue(found.queue), kind: inSet ? 'zset' : 'list', raw: found.raw, job: found.job };
      }
      case 'inprogress':
        return { key: this.keys.inProgress(found.queue, found.nodeId), kind: 'list', raw: found.raw, job: found.job, running: { nodeId: found.nodeId, queue: found.queue } };
      default: {
        const key = found.where === 'retry' ? this.keys.retry : found.where === 'schedule' ? this.keys.schedule : this.keys.dead;
        return { key, kind: 'zset', raw: found.raw, job: found.job, score: found.at };
      }
    }
  }
}
