import type Redis from 'ioredis';
import type { FoundJob } from './admin';
import { checkInteger, checkJid, checkOptions, checkQueueName, checkSet, type JobSet } from './admin-input';
import { readJob } from '../core/job';
import { VerkValidationError } from '../errors';
import type { Keys } from '../redis/keys';
import { checkExec } from '../redis/multi';
import { VerkScripts } from '../redis/verk-scripts';
import { type JobEvent, parseEvents } from '../history/recorder';

/**
 * Where a page saw a job, so that looking it up again is one exact read instead of a
 * search: the set and score it was listed at (`ListedJob.at`), the queue and node it was
 * running on (Busy), or the queue and run-order position it waited at (a queue page).
 */
export type JobHint = { set: JobSet; at: number } | { queue: string; node: string } | { queue: string; offset: number };

export interface LocateOptions {
  /** Where the job was seen; read first. */
  hint?: JobHint;
  /** Where to continue: a previous step's `nextCursor`. Default: the start (hint and history first). */
  cursor?: string | null;
  /**
   * Members this call reads at most while searching, 1 to 500,000 (the bound on its
   * work). Default 50,000. A call also stops starting new reads once it has run
   * TIME_BUDGET_MS (a loaded Redis reads fewer members in that time), so a step stays
   * well under the dashboard's 300 ms.
   */
  scanLimit?: number;
}

/** One step of a job lookup. */
export interface LocateResult {
  /** The job, with where it is and its stored text; null when this step did not find it. */
  found: FoundJob | null;
  /** How it was found: the hint, the job's history (its last event says where it went), or the search. */
  via?: 'hint' | 'history' | 'search';
  /**
   * Not found yet: pass as `cursor` to search on. Null when the search is over: found, or
   * every set, queue and in-progress list was read (or the history says the job is gone).
   */
  nextCursor: string | null;
  /** Members this step read. */
  scanned: number;
  /** Found: where to look first next time (pass as `hint`), e.g. in the links and buttons of a page showing it. */
  hint?: JobHint;
  /** The job's history says it finished or was canceled (no search was done). */
  gone?: 'finished' | 'canceled';
}

/** Default members read by one step (a few tens of ms of Redis time: see the dashboard bench). */
export const LOCATE_SCAN = 50_000;
const MAX_LOCATE_SCAN = 500_000;
/** Members one script call reads: Redis serves other clients between calls (a few ms each). */
const SCRIPT_CHUNK = 5000;
/** A step starts no new read after this long (ms since it began); the last read ends a few ms later. */
export const TIME_BUDGET_MS = 120;
/** Members read around a listed position (a queue hint) or a score the history gives. */
const WINDOW = 200;
/** Nodes whose in-progress lists one round trip reads. */
const NODE_BATCH = 200;
/** History events read from the end to find the last one that moved the job. */
const HISTORY_TAIL = 20;

/** A place jobs are stored, in the order the search reads them. */
type Place = { kind: 's'; name: JobSet } | { kind: 'q'; name: string } | { kind: 'n'; name: string };
const SETS: readonly JobSet[] = ['schedule', 'retry', 'dead'];
const RANK = { s: 0, q: 1, n: 2 } as const;

/**
 * Finds a job by jid without an index (plain jobs pay no write for it): first where it is
 * O(1) or O(log N) to look, the `hint` a page gives and the job's history (when its queue
 * keeps one, the last event names the set and score, the node, or the queue it went to);
 * then the running jobs (every node's in-progress list, bounded by the nodes'
 * concurrency); then a search that reads a fixed number of members per call, server-side,
 * and returns a cursor to go on with. The search reads `schedule`, `retry`, `dead`, each
 * queue (in run order) and the nodes' in-progress lists again, in that order (the way jobs
 * flow from the sets to the queues to the nodes). A job that moves during a search may be
 * missed (search again); a job that stays put is found.
 */
export class VerkJobLocator {
  private readonly scripts: VerkScripts;

  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
  ) {
    this.scripts = new VerkScripts(redis, keys);
  }

  locate(jid: string, options?: LocateOptions): Promise<LocateResult> {
    return this.locateStep(jid, options, TIME_BUDGET_MS);
  }

  /** One step; `timeBudgetMs`: when it stops starting reads (findAnywhere: none, it goes on anyway). */
  private async locateStep(jid: string, options: LocateOptions | undefined, timeBudgetMs: number): Promise<LocateResult> {
    checkJid(jid);
    const deadline = Date.now() + timeBudgetMs;
    const input = checkOptions(options, 'options');
    const budget = checkInteger(input.scanLimit, 'options.scanLimit', 1, MAX_LOCATE_SCAN, LOCATE_SCAN);
    const cursor = input.cursor === undefined || input.cursor === null ? null : parseCursor(input.cursor);
    if (cursor === null) {
      const hint = input.hint === undefined ? undefined : checkHint(input.hint);
      const hinted = hint ? await this.readHint(jid, hint) : null;
      if (hinted) {
        const { position, ...found } = hinted;
        return { found: found as FoundJob, via: 'hint', nextCursor: null, scanned: 0, hint: hintOf(found as FoundJob, position) };
      }
      const history = await this.fromHistory(jid);
      if (history.found) return { found: history.found, via: 'history', nextCursor: null, scanned: 0, hint: hintOf(history.found) };
      if (history.gone) return { found: null, gone: history.gone, nextCursor: null, scanned: 0 };
    }
    return this.search(jid, cursor ?? { place: { kind: 's', name: 'schedule' }, position: 0 }, budget, deadline, cursor === null);
  }

  /** Searches to the end (in steps of `scanLimit` members): null when the job is nowhere. */
  async findAnywhere(jid: string): Promise<FoundJob | null> {
    const listed = queueNamesOf((await this.places()).places);
    let cursor: string | null = null;
    do {
      const step = await this.locateStep(jid, { cursor, scanLimit: MAX_LOCATE_SCAN }, Number.POSITIVE_INFINITY);
      if (step.found) return step.found;
      cursor = step.nextCursor;
    } while (cursor !== null);
    // The search went through the queues known when it began. A job moved meanwhile into a
    // queue that did not exist yet (the scheduler's move of a flow job is often the first
    // write of its queue's name) was in `schedule` when the places were listed and in that
    // queue when `schedule` was read: look in the queues that appeared since.
    for (const queue of queueNamesOf((await this.places()).places)) {
      if (listed.has(queue)) continue;
      const found = await this.findIn(jid, { queue });
      if (found) return found;
    }
    return null;
  }

  /** The job in one set or queue (its waiting jobs, in run order), searched to the end server-side; null when not there. */
  async findIn(jid: string, where: { set: JobSet } | { queue: string }): Promise<FoundJob | null> {
    const place: Place = 'set' in where ? { kind: 's', name: where.set } : { kind: 'q', name: where.queue };
    for (let position: number | null = 0; position !== null; ) {
      const step = await this.step(jid, place, position, SCRIPT_CHUNK);
      if (step.found) return step.found;
      position = step.next;
    }
    return null;
  }

  private async readHint(jid: string, hint: JobHint): Promise<(FoundJob & { position?: number }) | null> {
    if ('set' in hint) return this.inScores(hint.set, jid, hint.at);
    if ('node' in hint) return this.onNodes(jid, [hint.node], () => [hint.queue]).then((step) => step.found);
    const step = await this.step(jid, { kind: 'q', name: hint.queue }, Math.max(0, hint.offset - WINDOW / 2), WINDOW);
    return step.found ? { ...step.found, position: step.position } : null;
  }

  /** The job where its last recorded event sent it (histories are written a moment after the fact). */
  private async fromHistory(jid: string): Promise<{ found?: FoundJob | null; gone?: 'finished' | 'canceled' }> {
    const events = parseEvents(await this.redis.lrange(this.keys.history(jid), -HISTORY_TAIL, -1));
    const last = [...events].reverse().find((event) => event.event !== 'tagged' && event.event !== 'untagged');
    if (!last) return {};
    if (last.event === 'finished' || last.event === 'canceled') return { gone: last.event };
    const where = placeOf(last);
    if (!where) return {};
    if ('set' in where) return { found: await this.nearScore(where.set, jid, where.score) };
    if ('node' in where) return { found: (await this.onNodes(jid, [where.node], () => [where.queue])).found };
    return {};
  }

  /** The job among the members of a set scored exactly `at`: one read (a page listed it with that score). */
  private async inScores(set: JobSet, jid: string, at: number): Promise<FoundJob | null> {
    return this.pick(set, jid, await this.redis.zrangebyscore(this.keys[set], String(at), String(at), 'WITHSCORES', 'LIMIT', 0, WINDOW));
  }

  /**
   * The job among the members of a set nearest to a score the history gives (the node's
   * clock, not necessarily the stored score): WINDOW / 2 on each side, two reads.
   */
  private async nearScore(set: JobSet, jid: string, score: number): Promise<FoundJob | null> {
    const key = this.keys[set];
    const [after, before] = checkExec(
      await this.redis
        .pipeline()
        .zrangebyscore(key, String(score), '+inf', 'WITHSCORES', 'LIMIT', 0, WINDOW / 2)
        .zrevrangebyscore(key, String(score), '-inf', 'WITHSCORES', 'LIMIT', 0, WINDOW / 2)
        .exec(),
    ) as string[][];
    return this.pick(set, jid, after) ?? this.pick(set, jid, before);
  }

  private pick(set: JobSet, jid: string, reply: string[]): FoundJob | null {
    for (let i = 0; i + 1 < reply.length; i += 2) {
      if (!reply[i].includes(jid)) continue;
      const job = readJob(reply[i]).job;
      if (job?.jid === jid) return { where: set, at: Number(reply[i + 1]), job, raw: reply[i] };
    }
    return null;
  }

  private async search(jid: string, from: { place: Place; position: number }, budget: number, deadline: number, fresh: boolean): Promise<LocateResult> {
    const { places, nodeQueues } = await this.places();
    const queuesOf = (id: string): string[] => nodeQueues.get(id) ?? [];
    let scanned = 0;
    if (fresh) {
      // A first step reads the running jobs first: few (each node's list is bounded by its
      // concurrency), and a job there is often the one looked for. The search reads them
      // again at its end, for a job that started meanwhile (and this pass stops at the deadline).
      const nodes = places.filter((place) => place.kind === 'n').map((place) => place.name);
      for (let i = 0; i < nodes.length && Date.now() < deadline; i += NODE_BATCH) {
        const step = await this.onNodes(jid, nodes.slice(i, i + NODE_BATCH), queuesOf);
        scanned += step.scanned;
        if (step.found) return { found: step.found, via: 'search', nextCursor: null, scanned, hint: hintOf(step.found) };
      }
    }
    let index = places.findIndex((place) => compare(place, from.place) >= 0);
    let position = index >= 0 && compare(places[index], from.place) === 0 ? from.position : 0;
    while (index >= 0 && index < places.length) {
      const place = places[index];
      if (scanned >= budget || (scanned > 0 && Date.now() >= deadline)) return { found: null, nextCursor: cursorOf(place, position), scanned };
      if (place.kind === 'n') {
        // A run of nodes: their in-progress lists (each bounded by the node's concurrency) in one pipeline.
        const batch: string[] = [];
        while (index < places.length && places[index].kind === 'n' && batch.length < NODE_BATCH) batch.push(places[index++].name);
        const step = await this.onNodes(jid, batch, queuesOf);
        scanned += step.scanned;
        if (step.found) return { found: step.found, via: 'search', nextCursor: null, scanned, hint: hintOf(step.found) };
        position = 0;
        continue;
      }
      const step = await this.step(jid, place, position, Math.min(SCRIPT_CHUNK, budget - scanned));
      scanned += step.scanned;
      if (step.found) return { found: step.found, via: 'search', nextCursor: null, scanned, hint: hintOf(step.found, step.position) };
      if (step.next === null) {
        index++;
        position = 0;
      } else position = step.next;
    }
    return { found: null, nextCursor: null, scanned };
  }

  /** One script call over a set or a queue from `start`: the job if among the members read. */
  private async step(jid: string, place: Place, start: number, bound: number): Promise<{ found: FoundJob | null; next: number | null; scanned: number; position?: number }> {
    const from = place.kind === 's' ? { set: place.name } : { queue: place.name };
        // One match per call: the script stops right after it, so its position is known (the
    // member before `next`). A member that only names the jid (in its args) is passed over.
    const [total, next, scanned, raw, score] = await this.scripts.scanJobs({ from, order: 'asc', start, bound, limit: 1, filter: { class: '', queue: '', text: '', contains: jid } });
    const after = Number(next) < 0 ? Number(total) : Number(next);
    const job = raw === undefined ? null : readJob(raw).job;
    if (job?.jid === jid && raw !== undefined) {
      // In a queue, `score` is '' or, for a job waiting in its group, its grouped member's prefix.
      const found: FoundJob = place.kind === 's' ? { where: place.name as JobSet, at: Number(score), job, raw } : { where: 'queue', queue: place.name, job, raw, ...(score ? { grouped: score + raw } : {}) };
      return { found, next: null, scanned: Number(scanned), position: after - 1 };
    }
    return { found: null, next: Number(next) < 0 ? null : Number(next), scanned: Number(scanned) };
  }

  /** The in-progress lists of these nodes (every queue each holds work for, or `queuesOf`), two round trips. */
  private async onNodes(jid: string, nodeIds: string[], queuesOf?: (id: string) => string[]): Promise<{ found: FoundJob | null; scanned: number }> {
    const { keys, redis } = this;
    const queues = queuesOf ? nodeIds.map(queuesOf) : (checkExec(await nodeIds.reduce((multi, id) => multi.smembers(keys.nodeQueues(id)), redis.pipeline()).exec()) as string[][]);
    const pairs = nodeIds.flatMap((id, i) => queues[i].sort().map((queue) => ({ id, queue })));
    if (pairs.length === 0) return { found: null, scanned: 0 };
    const lists = checkExec(await pairs.reduce((pipeline, pair) => pipeline.lrange(keys.inProgress(pair.queue, pair.id), 0, -1), redis.pipeline()).exec()) as string[][];
    let scanned = 0;
    for (let i = 0; i < pairs.length; i++) {
      scanned += lists[i].length;
      for (const raw of lists[i]) {
        if (!raw.includes(jid)) continue;
        const job = readJob(raw).job;
        if (job?.jid === jid) return { found: { where: 'inprogress', queue: pairs[i].queue, nodeId: pairs[i].id, job, raw }, scanned };
      }
    }
    return { found: null, scanned };
  }

  /** Every place to search, in order: the sets, each queue by name, each node by id; and the queues each node holds work for. */
  private async places(): Promise<{ places: Place[]; nodeQueues: Map<string, string[]> }> {
    const { keys } = this;
    const [queueNames, nodeIds, paused] = checkExec(await this.redis.multi().smembers(keys.queues).smembers(keys.nodes).smembers(keys.pausedQueues).exec()) as string[][];
    const nodeQueues = nodeIds.length === 0 ? [] : (checkExec(await nodeIds.reduce((pipeline, id) => pipeline.smembers(keys.nodeQueues(id)), this.redis.pipeline()).exec()) as string[][]);
    const queues = [...new Set([...queueNames, ...paused, ...nodeQueues.flat()])].sort();
    const places = [...SETS.map((name): Place => ({ kind: 's', name })), ...queues.map((name): Place => ({ kind: 'q', name })), ...[...nodeIds].sort().map((name): Place => ({ kind: 'n', name }))];
    return { places, nodeQueues: new Map(nodeIds.map((id, i) => [id, nodeQueues[i]])) };
  }
}

/** The queue names among the places of a search. */
function queueNamesOf(places: Place[]): Set<string> {
  return new Set(places.filter((place) => place.kind === 'q').map((place) => place.name));
}

/** The hint that finds this job again in one read (a waiting job: its run-order position, when known). */
function hintOf(found: FoundJob, position?: number): JobHint | undefined {
  if (found.where === 'inprogress') return { queue: found.queue, node: found.nodeId };
  if (found.where === 'queue') return position === undefined ? undefined : { queue: found.queue, offset: position };
  return { set: found.where, at: found.at };
}

/** Where an event left the job: a score window of a set, or a node's in-progress list. */
function placeOf(event: JobEvent): { set: JobSet; score: number } | { queue: string; node: string } | undefined {
  const around = (ms: number) => ({ score: ms / 1000 });
  switch (event.event) {
    case 'failed':
      return event.runAt !== undefined ? { set: 'retry', ...around(event.runAt) } : undefined;
    case 'scheduled':
      return event.runAt !== undefined ? { set: 'schedule', ...around(event.runAt) } : undefined;
    case 'dead':
      return { set: 'dead', ...around(event.at) };
    case 'started':
      return event.queue ? { queue: event.queue, node: event.node } : undefined;
    default:
      // Waiting in a queue (enqueued, retried, recovered, moved): its position is unknown, the search finds it.
      return undefined;
  }
}

function compare(a: Place, b: Place): number {
  if (a.kind !== b.kind) return RANK[a.kind] - RANK[b.kind];
  if (a.kind === 's') return SETS.indexOf(a.name) - SETS.indexOf(b.name as JobSet);
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** `<kind><position>:<name>`: the place to go on with by name, so places added or removed meanwhile do not shift it. */
function cursorOf(place: Place, position: number): string {
  return `${place.kind}${position}:${place.name}`;
}

function parseCursor(value: unknown): { place: Place; position: number } {
  const match = typeof value === 'string' ? /^([sqn])([0-9]{1,15}):(.+)$/s.exec(value) : null;
  if (!match || (match[1] === 's' && !SETS.includes(match[3] as JobSet))) {
    throw new VerkValidationError('options.cursor', `must be a cursor returned as nextCursor, got ${JSON.stringify(value)}`);
  }
  return { place: { kind: match[1] as Place['kind'], name: match[3] } as Place, position: Number(match[2]) };
}

function checkHint(value: unknown): JobHint {
  const hint = checkOptions(value, 'options.hint') as Record<string, unknown>;
  if (hint.set !== undefined) {
    const at = hint.at;
    if (typeof at !== 'number' || !Number.isFinite(at)) throw new VerkValidationError('options.hint.at', `must be the job's score (ListedJob.at), got ${JSON.stringify(at)}`);
    return { set: checkSet(hint.set, 'options.hint.set'), at };
  }
  const queue = checkQueueName(hint.queue, 'options.hint.queue');
  if (typeof hint.node === 'string' && hint.node.length > 0) return { queue, node: hint.node };
  return { queue, offset: checkInteger(hint.offset, 'options.hint.offset', 0, Number.MAX_SAFE_INTEGER, 0) };
}
