import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { type EnqueueJob, type JobPayload, type VerkEngine, type VerkOptions, VerkRateLimitError, type WorkerHandler } from '../lib/engine';
import { startEngine, useRedis } from './helpers/engine';
import { sleep, waitFor } from './helpers/wait';

const ctx = useRedis();
const engines: VerkEngine[] = [];
after(async () => {
  await Promise.all(engines.map((engine) => engine.stop()));
});

/** What the test's jobs did, in this process (every node of a test runs here). */
class Journal {
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
function recording(journal: Journal, onStart?: (id: string) => void): WorkerHandler {
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

async function nodes(count: number, options: VerkOptions, workers: Parameters<typeof startEngine>[1]): Promise<VerkEngine[]> {
  const started = await Promise.all(Array.from({ length: count }, (_, i) => startEngine({ redis: ctx.server.url, nodeId: `limits-${i}-${Math.random().toString(16).slice(2, 8)}`, ...options }, workers)));
  engines.push(...started);
  return started;
}

async function stopAll(list: VerkEngine[]): Promise<void> {
  await Promise.all(list.map((engine) => engine.stop()));
  for (const engine of list) engines.splice(engines.indexOf(engine), 1);
}

/** The most start times within any window of `ms` (a sliding window over the sorted times). */
function maxInWindow(times: number[], ms: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  let first = 0;
  for (let last = 0; last < sorted.length; last++) {
    while (sorted[last] - sorted[first] >= ms) first++;
    most = Math.max(most, last - first + 1);
  }
  return most;
}

function jobs(count: number, make: (i: number) => Partial<EnqueueJob> & { args: unknown[] }): EnqueueJob[] {
  return Array.from({ length: count }, (_, i) => ({ queue: 'api', class: 'Rec', ...make(i) }));
}

test('rateLimit { max: 10, duration: 1000 } on three nodes of concurrency 10: 50 jobs take >= 4 s, never more than 10 starts in any 1 s', async () => {
  const journal = new Journal();
  const list = await nodes(3, { queues: { api: { concurrency: 10, rateLimit: { max: 10, duration: 1000 } } } }, { Rec: recording(journal) });
  await list[0].client.enqueueMany(jobs(50, (i) => ({ args: [String(i)] })));
  await waitFor(() => journal.done === 50, '50 jobs done', 30_000);
  const times = journal.starts.map((start) => start.at);
  assert.ok(maxInWindow(times, 1000) <= 10, `${maxInWindow(times, 1000)} starts within 1 s`);
  assert.ok(Math.max(...times) - Math.min(...times) >= 4000 - 50, `50 jobs started within ${Math.max(...times) - Math.min(...times)} ms`);
  await stopAll(list);
});

test('globalConcurrency: 3 on three nodes of concurrency 10: never more than 3 running at once', async () => {
  const journal = new Journal();
  const list = await nodes(3, { queues: { api: { concurrency: 10, globalConcurrency: 3 } } }, { Rec: recording(journal) });
  await list[0].client.enqueueMany(jobs(30, (i) => ({ args: [String(i), 60] })));
  await waitFor(() => journal.done === 30, '30 jobs done', 30_000);
  assert.equal(journal.maxRunning, 3);
  await waitFor(async () => (await list[0].queueLimits('api')).running === 0, 'every slot given back');
  await stopAll(list);
});

test('VerkRateLimitError(500): the job runs again after >= 500 ms, counts no failure, and no other job of the queue starts in between', async () => {
  const journal = new Journal();
  let thrownAt = 0;
  const list = await nodes(2, { queues: { api: { concurrency: 2, globalConcurrency: 100 } } }, {
    Rec: recording(journal),
    Limited: {
      perform: async () => {
        journal.begin('limited');
        journal.end();
        if (thrownAt === 0) {
          thrownAt = Date.now();
          throw new VerkRateLimitError(500);
        }
      },
    },
  });
  await list[0].client.enqueueMany([{ queue: 'api', class: 'Limited' }, ...jobs(40, (i) => ({ args: [String(i), 20] }))]);
  await waitFor(() => journal.starts.filter((start) => start.id === 'limited').length === 2, 'the limited job ran again', 15_000);
  const [first, again] = journal.starts.filter((start) => start.id === 'limited');
  assert.ok(again.at - first.at >= 500, `ran again after ${again.at - first.at} ms`);
  // A job fetched in the instant before the pause landed may start just after the throw.
  const between = journal.starts.filter((start) => start.id !== 'limited' && start.at > thrownAt + 50 && start.at < again.at);
  assert.deepEqual(between, []);
  await waitFor(() => journal.done === 42, 'every job done');
  const stats = await list[0].admin.stats();
  assert.equal(stats.failed, 0);
  assert.equal(await ctx.redis.zcard('retry'), 0);
  await stopAll(list);
});
