import type Redis from 'ioredis';
import { publishIn } from '../redis/pubsub';
import { checkInteger, checkJid, checkOptions } from '../admin/admin-input';
import { VerkValidationError } from '../errors';
import type { ResolvedHistoryOptions } from './history-options';
import type { JobPayload } from '../core/job';
import type { Keys } from '../redis/keys';
import { VerkScripts } from '../redis/verk-scripts';
import { checkExec } from '../redis/multi';
import { RateLimitedLog, type VerkLogger } from '../logger';
import { checkTag, checkTags, payloadTags } from './tags';
import { withTimeout } from '../core/timing';
import { type JobEvent, type JobEventName, readHistory, type TaggedJobs } from './job-event';
import { HistoryRetention } from './retention';

export type { JobEvent, JobEventName, TaggedJobs, TrackedJobEvent } from './job-event';
export { parseEvents, readHistory } from './job-event';

export interface RecorderOptions {
  keys: Keys;
  nodeId: string;
  history: ResolvedHistoryOptions;
  logger: VerkLogger;
  /** The engine's connection: reads of the tracked set, retention sweeps (started engines only). */
  redis: Redis;
  /** The API's connection: track, tag, reads. */
  client: Redis;
  /**
   * The connection the next batch of events is written on: the engine's while it runs
   * (always connected), the client's otherwise (a process that only enqueues, or after
   * stop). Batches are written one after the other, so switching keeps their order.
   */
  writer: () => Redis;
}

/** Events that end a job: a tracked job stays tracked GRACE_MS after one, in case it is retried by hand. */
const ENDING = new Set<JobEventName>(['finished', 'dead', 'canceled']);
/** How long a tracked job stays tracked after it finished, died or was canceled. */
export const TRACK_GRACE_MS = 3_600_000;
/** Most events kept per job (the oldest are dropped). */
export const MAX_EVENTS_PER_JOB = 1000;
/** Events per script call. */
const MAX_BATCH = 500;
const DEFAULT_LIMIT = 25;
const MAX_LIMIT = 1000;

/**
 * Job history and tracking (qless): records what happens to jobs, right after each
 * transition has landed in Redis (not inside the transition's own script: a crash in
 * between loses that one event). Events of queues that keep a history go to
 * `verk:history:<jid>`; events of tracked jobs are published on `verk:track`. Buffered and
 * written one script call per batch; nothing is sent, or even built by the callers that
 * ask `wants()` first, when no queue keeps a history and no job is tracked.
 */
export class JobRecorder {
  readonly nodeId: string;
  private readonly keys: Keys;
  private readonly queues?: ReadonlySet<string>;
  /** Some job may be tracked: events of queues without history are still sent. */
  private tracking = false;
  /** Counts track announcements, so a tracked-set count read before one does not switch tracking off. */
  private trackSignals = 0;
  private buffer: JobEvent[] = [];
  private flushing?: Promise<void>;
  private sweepTimer?: NodeJS.Timeout;
  private readonly retention: HistoryRetention;
  private readonly warnings: RateLimitedLog;
  private closed = false;

  constructor(private readonly options: RecorderOptions) {
    this.nodeId = options.nodeId;
    this.keys = options.keys;
    this.warnings = new RateLimitedLog(options.logger);
    this.retention = new HistoryRetention({ keys: options.keys, redis: options.redis, history: options.history, warnings: this.warnings, refreshTracking: () => this.refreshTracking() });
    const { history } = options;
    if (history.enabled && history.queues) this.queues = new Set(history.queues);
  }

  /** True when this node keeps the history of jobs of `queue`. */
  historyFor(queue: string): boolean {
    return this.options.history.enabled && (this.queues === undefined || this.queues.has(queue));
  }

  /**
   * True when an event of a job of `queue` would be written or published; callers skip
   * building events otherwise. `undefined`: a queue not known to the caller.
   */
  wants(queue?: string): boolean {
    return this.tracking || (queue === undefined ? this.options.history.enabled : this.historyFor(queue));
  }

  /** Whether a job may be tracked right now (as far as this node knows). */
  get isTracking(): boolean {
    return this.tracking;
  }

  /**
   * Records events (the transitions must already have landed). Never throws and never
   * waits: the events are written on a later turn of the event loop, in order.
   */
  record(events: readonly JobEvent[]): void {
    if (this.closed) return;
    for (const event of events) if (this.wants(event.queue)) this.buffer.push(event);
    if (this.buffer.length > 0 && !this.flushing) this.flushing = this.flushLoop();
  }

  /** Resolves once every event recorded so far has been written (or given up on). */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  private async flushLoop(): Promise<void> {
    // Let the transitions landing in this tick join the batch.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.buffer.length > 0) {
      const batch = this.buffer.splice(0, MAX_BATCH);
      try {
        await this.write(batch);
      } catch (error) {
        this.warnings.warn(`Could not record ${batch.length} job event(s) (${(error as Error).message}); they are lost`);
      }
    }
    this.flushing = undefined;
  }

  private async write(batch: JobEvent[]): Promise<void> {
    const tracking = this.tracking;
    const events: { jid: string; event: string; mode: 0 | 1 | 2; ends: boolean }[] = [];
    for (const event of batch) {
      const mode = event.queue === undefined ? (this.options.history.enabled ? 2 : 0) : this.historyFor(event.queue) ? 1 : 0;
      if (mode === 0 && !tracking) continue;
      events.push({ jid: event.jid, event: JSON.stringify(event), mode, ends: ENDING.has(event.event) });
    }
    if (events.length === 0) return;
    const scripts = new VerkScripts(this.options.writer(), this.keys);
    await scripts.recordEvents({ now: Date.now(), maxAge: this.options.history.maxAge, grace: TRACK_GRACE_MS, tracking, maxEventsPerJob: MAX_EVENTS_PER_JOB, events });
  }

  // ---- client hooks: jobs being written ----

  /**
   * Before new jobs are written: their tags go into the tag indexes and the jobs to track
   * into the tracked set, in one round trip (none when no job has either). Before the
   * write, so a node that runs a job at once already sees it tracked; a write that then
   * fails leaves index entries that retention removes.
   */
  async beforeWrite(payloads: readonly JobPayload[], track: readonly boolean[], fieldOf: (index: number) => string): Promise<void> {
    const tagged: [string, string[]][] = [];
    payloads.forEach((payload, index) => {
      const tags = payloadTags(payload, fieldOf(index));
      if (tags.length > 0) tagged.push([payload.jid, tags]);
    });
    const trackJids = payloads.filter((_, index) => track[index]).map((payload) => payload.jid);
    if (tagged.length === 0 && trackJids.length === 0) return;
    const multi = this.options.client.multi();
    if (tagged.length > 0) this.addTagCommands(multi, tagged, Date.now());
    if (trackJids.length > 0) this.addTrackCommands(multi, trackJids);
    checkExec(await multi.exec());
  }

  /** After new jobs were written: their `enqueued` / `scheduled` events. `written` says which were (a unique duplicate is not). */
  afterWrite(payloads: readonly JobPayload[], event: 'enqueued' | 'scheduled', runAtMs?: number, written?: (payload: JobPayload, index: number) => boolean): void {
    if (!this.tracking && !this.options.history.enabled) return;
    const at = Date.now();
    const events: JobEvent[] = [];
    payloads.forEach((payload, index) => {
      if (!this.wants(payload.queue) || (written && !written(payload, index))) return;
      const entry: JobEvent = { jid: payload.jid, event, at, node: this.nodeId, queue: payload.queue };
      if (event === 'scheduled') entry.runAt = runAtMs ?? at;
      if (Array.isArray(payload.tags) && payload.tags.length > 0) entry.tags = payload.tags as string[];
      if (payload.depends_on && payload.depends_on.length > 0) entry.dependsOn = payload.depends_on;
      events.push(entry);
    });
    this.record(events);
  }

  /**
   * Jobs that beforeWrite indexed but that were not written (a unique duplicate: the call
   * returned the holder's jid): their tag index entries are removed again.
   */
  async notWritten(payloads: readonly JobPayload[]): Promise<void> {
    const tagged = payloads.filter((payload) => Array.isArray(payload.tags) && payload.tags.length > 0);
    if (tagged.length === 0) return;
    const multi = this.options.client.multi();
    for (const payload of tagged) for (const tag of payload.tags as string[]) multi.zrem(this.keys.tag(tag), payload.jid);
    checkExec(await multi.exec());
  }

  // ---- tracking ----

  /**
   * Tracks a job: every later event of it is published on `verk:track` (see
   * subscribeToTrackedJobs), until `untrack`, or until maxAge after its last event, or an
   * hour after it finished, died or was canceled.
   */
  async track(jid: string): Promise<void> {
    checkJid(jid);
    const multi = this.options.client.multi();
    this.addTrackCommands(multi, [jid]);
    checkExec(await multi.exec());
  }

  /** Stops publishing a job's events. Returns false when it was not tracked. */
  async untrack(jid: string): Promise<boolean> {
    checkJid(jid);
    const { keys } = this;
    const results = checkExec(await publishIn(this.options.client.multi().zrem(keys.tracked, jid), keys, keys.control, JSON.stringify({ type: 'untrack' })).exec());
    await this.refreshTracking(this.options.client);
    return results[0] === 1;
  }

  /** Whether a job is tracked. */
  async isTracked(jid: string): Promise<boolean> {
    checkJid(jid);
    const expires = await this.options.client.zscore(this.keys.tracked, jid);
    return expires !== null && Number(expires) > Date.now();
  }

  private addTrackCommands(multi: ReturnType<Redis['multi']>, jids: string[]): void {
    this.tracking = true;
    this.trackSignals++;
    const expires = Date.now() + this.options.history.maxAge;
    const pairs: (string | number)[] = [];
    for (const jid of jids) pairs.push(expires, jid);
    publishIn(multi.zadd(this.keys.tracked, 'GT', ...pairs), this.keys, this.keys.control, JSON.stringify({ type: 'track' }));
  }

  /** A control message (`track` / `untrack`) from another process. */
  onControl(type: unknown): void {
    if (type === 'track') {
      this.tracking = true;
      this.trackSignals++;
    } else if (type === 'untrack') {
      void this.refreshTracking(this.options.redis);
    }
  }

  /** Reads whether any job is tracked (at start, after a reconnect, after untrack, at each sweep). */
  async refreshTracking(redis: Redis = this.options.redis): Promise<void> {
    const signals = this.trackSignals;
    try {
      const count = await redis.zcard(this.keys.tracked);
      if (count > 0) this.tracking = true;
      else if (this.trackSignals === signals) this.tracking = false;
    } catch (error) {
      this.warnings.warn(`Could not read tracked jobs (${(error as Error).message})`);
    }
  }

  // ---- tags ----

  /** Adds tags to a job (the tag index only: the stored payload keeps the tags it was enqueued with). */
  async tag(jid: string, ...tags: string[]): Promise<void> {
    checkJid(jid);
    const list = checkTags(tags, 'tags');
    if (list.length === 0) throw new VerkValidationError('tags', 'give at least one tag');
    const multi = this.options.client.multi();
    this.addTagCommands(multi, [[jid, list]], Date.now());
    checkExec(await multi.exec());
    this.record([{ jid, event: 'tagged', at: Date.now(), node: this.nodeId, tags: list }]);
  }

  /** Removes tags from a job's index entries. Returns how many of them it had. */
  async untag(jid: string, ...tags: string[]): Promise<number> {
    checkJid(jid);
    const list = checkTags(tags, 'tags');
    if (list.length === 0) throw new VerkValidationError('tags', 'give at least one tag');
    const multi = this.options.client.multi();
    for (const tag of list) multi.zrem(this.keys.tag(tag), jid);
    const removed = checkExec(await multi.exec()).reduce<number>((sum, reply) => sum + Number(reply), 0);
    this.record([{ jid, event: 'untagged', at: Date.now(), node: this.nodeId, tags: list }]);
    return removed;
  }

  /** The jids carrying a tag, most recently tagged first, and how many there are. */
  async jobsByTag(tag: string, options?: { offset?: number; limit?: number }): Promise<TaggedJobs> {
    checkTag(tag, 'tag');
    const input = checkOptions(options, 'options');
    const offset = checkInteger(input.offset, 'options.offset', 0, Number.MAX_SAFE_INTEGER, 0);
    const limit = checkInteger(input.limit, 'options.limit', 1, MAX_LIMIT, DEFAULT_LIMIT);
    const key = this.keys.tag(tag);
    const [total, jids] = checkExec(await this.options.client.multi().zcard(key).zrevrange(key, offset, offset + limit - 1).exec()) as [number, string[]];
    return { tag, total, offset, limit, jids };
  }

  private addTagCommands(multi: ReturnType<Redis['multi']>, entries: [string, string[]][], now: number): void {
    const names = new Set<string>();
    for (const [jid, tags] of entries) {
      for (const tag of tags) {
        multi.zadd(this.keys.tag(tag), now, jid);
        names.add(tag);
      }
    }
    multi.sadd(this.keys.tags, ...names);
  }

  // ---- reading ----

  /** A job's recorded events, oldest first ([] when it has no history). */
  async history(jid: string): Promise<JobEvent[]> {
    checkJid(jid);
    return readHistory(this.options.client, this.keys, jid);
  }

  // ---- retention ----

  /** Between start() and stop(). */
  private sweeping = false;

  /** Reads the tracked flag and sweeps now and then (a started node). */
  async start(): Promise<void> {
    this.sweeping = true;
    await this.refreshTracking();
    // stop() came during the read: no timer after it.
    if (!this.sweeping) return;
    const every = Math.min(60_000, Math.max(50, Math.floor(this.options.history.maxAge / 2)));
    this.sweepTimer = setInterval(() => void this.sweep(), every);
    this.sweepTimer.unref();
  }

  /** Stops sweeping and waits for a sweep in flight (bounded by the caller). */
  async stop(): Promise<void> {
    this.sweeping = false;
    clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
    await this.retention.settled();
  }

  /**
   * Writes what is buffered (waiting at most `timeoutMs`: Redis may be away), before the
   * client connection closes; events recorded later are dropped.
   */
  async close(timeoutMs = 2000): Promise<void> {
    clearInterval(this.sweepTimer);
    await withTimeout(this.flush(), timeoutMs, undefined);
    this.closed = true;
    this.buffer = [];
  }

  /**
   * Applies retention now: tracking that expired, histories whose last event is older than
   * maxAge or beyond the newest maxJobs (nodes with a history only), tag index entries
   * older than maxAge. Runs every min(maxAge / 2, 60 s) on started nodes.
   */
  sweep(now = Date.now()): Promise<void> {
    return this.retention.sweep(now);
  }
}
