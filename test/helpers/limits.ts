import { afterEach } from 'node:test';
import type Redis from 'ioredis';
import type { EnqueueJob, JobPayload, VerkEngine, VerkOptions, WorkerHandler } from '../../lib/engine';
import { startEngine } from './engine';
import { sleep } from './wait';

/** What the test's jobs did, in this process (every node of a test runs here). */
export class Journal {
  readonly starts: { id: string; group?: string; at: number }[] = [];
  running = 0;
  maxRunning = 0;
  readonly runningByGroup = new Map<string, number>();
  readonly maxByGroup = new Map<string, number>();
  done = 0;

  begin(id: string, group?: string): void {
    this.starts.push({ id, group, at: Date.now() });
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    if (group !== undefined) {
      const now = (this.runningByGroup.get(group) ?? 0) + 1;
      this.runningByGroup.set(group, now);
      this.maxByGroup.set(group, Math.max(this.maxByGroup.get(group) ?? 0, now));
    }
  }

  end(group?: string): void {
    this.running--;
    this.done++;
    if (group !== undefined) this.runningByGroup.set(group, (this.runningByGroup.get(group) ?? 1) - 1);
  }
}

/** A worker that records its run in `journal`: args [id, ms], the job's group. */
export function recording(journal: Journal, onStart?: (id: string) => void): WorkerHandler {
  return {
    perform: async (args: unknown[], job: JobPayload) => {
      const [id, ms = 0] = args as [string, number?];
      const group = job.group;
      journal.begin(id, group);
      try {
        onStart?.(id);
        await sleep(ms);
      } finally {
        journal.end(group);
      }
    },
  };
}

/**
 * Nodes of a test file: `nodes(count, options, workers)` starts engines on the file's
 * redis-server; every one stops after its test, pass or fail, so none runs into the next.
 */
export function useNodes(url: () => string): { engines: VerkEngine[]; nodes: (count: number, options: VerkOptions, workers: Record<string, WorkerHandler>) => Promise<VerkEngine[]> } {
  const engines: VerkEngine[] = [];
  afterEach(async () => {
    await Promise.all(engines.splice(0).map((engine) => engine.stop()));
  });
  const nodes = async (count: number, options: VerkOptions, workers: Record<string, WorkerHandler>): Promise<VerkEngine[]> => {
    const started = await Promise.all(Array.from({ length: count }, (_, i) => startEngine({ redis: url(), nodeId: `limits-${i}-${Math.random().toString(16).slice(2, 8)}`, ...options }, workers)));
    engines.push(...started);
    return started;
  };
  return { engines, nodes };
}

/** How much later than its fetch (Redis's clock) a handler may start on a loaded machine, ms. */
export const START_LAG = 100;

/** The most start times within any window of `ms` (a sliding window over the sorted times). */
export function maxInWindow(times: number[], ms: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  let first = 0;
  for (let last = 0; last < sorted.length; last++) {
    while (sorted[last] - sorted[first] >= ms) first++;
    most = Math.max(most, last - first + 1);
  }
  return most;
}

export function jobs(count: number, make: (i: number) => Partial<EnqueueJob> & { args: unknown[] }): EnqueueJob[] {
  return Array.from({ length: count }, (_, i) => ({ queue: 'api', class: 'Rec', ...make(i) }));
}


/**
 * The starts as the limited fetch recorded them, on Redis's clock: the members of
 * `verk:limits:<q>:starts` (`<seq>:<count>`, scored by the fetch's time) and each group's
 * recent start times (`s:<g>` in `verk:limits:<q>:groups`), polled every 50 ms while
 * `stop()` is not called. Entries stay there at least one window, so a poll that is late by
 * less than that misses none. This is what the limits promise, independent of how late a
 * loaded machine starts a handler after its fetch.
 */
export class StartLog {
  /** Fetches that took jobs: seq -> { at (Redis ms), count }. */
  readonly fetches = new Map<string, { at: number; count: number }>();
  /** Per group: start time (Redis ms) -> the most starts at that ms seen in one poll. */
  readonly groupStarts = new Map<string, Map<number, number>>();
  private running = true;
  private readonly done: Promise<void>;

  constructor(
    private readonly redis: Redis,
    private readonly queue: string,
  ) {
    this.done = this.poll();
  }

  private async poll(): Promise<void> {
    while (this.running) {
      await this.read();
      await sleep(50);
    }
  }

  private async read(): Promise<void> {
    const [members, groups] = await Promise.all([this.redis.zrange(`verk:limits:${this.queue}:starts`, 0, '-1', 'WITHSCORES'), this.redis.hgetall(`verk:limits:${this.queue}:groups`)]);
    for (let i = 0; i < members.length; i += 2) {
      const [seq, count] = members[i].split(':');
      this.fetches.set(seq, { at: Number(members[i + 1]), count: Number(count) });
    }
    for (const [field, value] of Object.entries(groups)) {
      if (!field.startsWith('s:')) continue;
      const seen = this.groupStarts.get(field.slice(2)) ?? new Map<number, number>();
      const counts = new Map<number, number>();
      for (const at of value.split(',').map(Number)) counts.set(at, (counts.get(at) ?? 0) + 1);
      for (const [at, count] of counts) seen.set(at, Math.max(seen.get(at) ?? 0, count));
      this.groupStarts.set(field.slice(2), seen);
    }
  }

  /** Stops polling, after one last read (the last fetch may be newer than the last poll). */
  async stop(): Promise<void> {
    this.running = false;
    await this.done;
    await this.read();
  }

  /** Every recorded start of the queue (one time per job, Redis ms). */
  get times(): number[] {
    return [...this.fetches.values()].flatMap(({ at, count }) => new Array<number>(count).fill(at));
  }

  groupTimes(group: string): number[] {
    return [...(this.groupStarts.get(group) ?? new Map<number, number>())].flatMap(([at, count]) => new Array<number>(count).fill(at));
  }
}
