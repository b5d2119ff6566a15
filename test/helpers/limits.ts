import { afterEach } from 'node:test';
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

