import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newJid, VerkConfigError, VerkEngine, type VerkOptions, VerkValidationError, type WorkerHandler } from '../../lib/engine';
import { DurationSums } from '../../lib/engine/core/histogram';
import { Keys, statDay } from '../../lib/engine/redis/keys';
import { defineScripts } from '../../lib/engine/redis/scripts';
import { VerkScripts } from '../../lib/engine/redis/verk-scripts';
import { connect, MemoryLogger, startEngine, useRedis } from '../helpers/engine';
import { clearOfMidnightUtc, sleep, waitFor } from '../helpers/wait';

/**
 * Issue 13, item 3: run-time and wait-time histograms per queue and UTC day in Redis
 * (qless's `stats(queue, date)`), written by the acknowledgement scripts themselves and
 * read by queueStats(name, { date }).
 */

const ctx = useRedis();
const DAY = 86_400;

/** Run times (ms) and the bucket (upper bound, ms) each must land in; 1000 is a bound itself (inclusive). */
const RUNS: [ms: number, le: number][] = [
  [0, 1],
  [3, 5],
  [7, 10],
  [15, 20],
  [40, 50],
  [150, 200],
  [1000, 1000],
  [3000, 5000],
  [45_000, 60_000],
  [400_000, 600_000],
];
/** Wait times (ms) and their buckets; 5,400,000 is an hour and a half. */
const WAITS: [ms: number, le: number][] = [
  [0, 1],
  [1, 1],
  [4, 5],
  [9, 10],
  [30, 50],
  [90, 100],
  [450, 500],
  [2500, 5000],
  [75_000, 120_000],
  [5_400_000, 7_200_000],
];

/** The expected histogram of some durations, computed here from the tables above (not with the library's code). */
function expected(values: number[], table: [number, number][]) {
  const byLe = new Map<number, number>();
  for (const value of values) {
    const le = table.find(([ms]) => ms === value)?.[1];
    assert.notEqual(le, undefined, `${value} is in the table`);
    byLe.set(le as number, (byLe.get(le as number) ?? 0) + 1);
  }
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
  return { count: values.length, mean, min: Math.min(...values), max: Math.max(...values), std, byLe };
}

type Histogram = Awaited<ReturnType<VerkEngine['admin']['queueStats']>>['histograms']['run'];

/** Compares a returned histogram with the expected one: summary exactly (std to 1e-9 relative), every bucket. */
function assertHistogram(actual: Histogram, wanted: ReturnType<typeof expected>, what: string): void {
  assert.equal(actual.count, wanted.count, `${what}: count`);
  assert.equal(actual.min, wanted.min, `${what}: min`);
  assert.equal(actual.max, wanted.max, `${what}: max`);
  assert.ok(Math.abs(actual.mean - wanted.mean) <= 1e-9 * wanted.mean, `${what}: mean ${actual.mean}, expected ${wanted.mean}`);
  assert.ok(Math.abs(actual.std - wanted.std) <= 1e-6 * wanted.std, `${what}: std ${actual.std}, expected ${wanted.std}`);
  assert.equal(actual.buckets.length, 27, `${what}: the fixed layout`);
  assert.equal(actual.buckets[actual.buckets.length - 1].le, null, `${what}: the last bucket has no bound`);
  for (const bucket of actual.buckets) assert.equal(bucket.count, bucket.le === null ? 0 : (wanted.byLe.get(bucket.le) ?? 0), `${what}: bucket le ${bucket.le}`);
}

/**
 * A node whose clock only moves when a job says so: job `perform([ms])` advances it by ms,
 * so with one job at a time a job's run time is exactly its argument, whatever the machine.
 */
function clockedEngine(options: VerkOptions, start: number): { engine: VerkEngine; clock: { now: number }; ran: { count: number } } {
  const clock = { now: start };
  const ran = { count: 0 };
  const engine = new VerkEngine({ redis: ctx.server.url, histograms: true, ...options }, { logger: new MemoryLogger(), clock: () => clock.now });
  const advance = async (args: unknown[]) => {
    clock.now += args[0] as number;
    ran.count++;
    // A real pause too, so that two nodes on one queue both get jobs.
    if (options.nodeId !== 'solo') await sleep(1);
  };
  const workers: Record<string, WorkerHandler> = {
    Ok: { perform: advance },
    Fail: {
      async perform(args) {
        await advance(args);
        throw new Error('fails');
      },
      retryAt: (failedAt) => failedAt + 1_000_000,
    },
  };
  for (const [name, handler] of Object.entries(workers)) engine.workers.register(name, handler);
  return { engine, clock, ran };
}

async function allDone(total: number): Promise<boolean> {
  return Number(await ctx.redis.get('stat:processed')) + Number(await ctx.redis.get('stat:failed')) === total;
}

test('1,000 jobs with known run and wait times (finished, failed to retry and dead, flow-control) land in the right buckets with the right count, min, max, mean and std; the day keys expire 30 days after the day', async () => {
  await clearOfMidnightUtc(180_000);
  const day = statDay();
  const start = Date.now();
  const runs: number[] = [];
  const waits: number[] = [];
  const payloads: string[] = [];
  // Job k starts when the jobs before it have run (one at a time, in queue order), so its
  // enqueued_at is chosen to make its wait exactly WAITS[...].
  let startsAt = start;
  for (let k = 0; k < 1000; k++) {
    const run = RUNS[k % RUNS.length][0];
    const wait = WAITS[(k * 3 + Math.floor(k / 10)) % WAITS.length][0];
    const kind = k % 100;
    const fields: Record<string, unknown> = { class: 'Ok', args: [run], jid: newJid(), queue: 'h', retry: true, enqueued_at: (startsAt - wait) / 1000 };
    if (kind === 7 || kind === 57) Object.assign(fields, { class: 'Fail', retry: false }); // failJob to dead
    if (kind === 13 || kind === 63) fields.class = 'Fail'; // failJob to retry
    if (kind === 3 || kind === 28 || kind === 53 || kind === 78) fields.dependable = true; // completeFlowJob
    if (kind === 21) Object.assign(fields, { class: 'Fail', retry: false, dependable: true }); // failFlowJob
    payloads.push(JSON.stringify(fields));
    runs.push(run);
    waits.push(wait);
    startsAt += run;
  }
  // LPUSH with many members puts the last one at the head: the first runs first.
  await ctx.redis.lpush('queue:h', ...payloads);
  const { engine, clock } = clockedEngine({ nodeId: 'solo', queues: { h: 1 } }, start);
  await engine.start();
  try {
    await waitFor(() => allDone(1000), 'all 1,000 jobs to run', 60_000);
    assert.equal(clock.now, startsAt, 'every job advanced the clock once');
    assert.equal(await ctx.redis.zcard('retry'), 20);
    assert.equal(await ctx.redis.zcard('dead'), 30);
    const stats = await engine.admin.queueStats('h');
    assert.equal(stats.histograms.date, day);
    assertHistogram(stats.histograms.run, expected(runs, RUNS), 'run');
    assertHistogram(stats.histograms.wait, expected(waits, WAITS), 'wait');
    // The existing fields are still there.
    assert.deepEqual([stats.name, stats.processed, stats.failed], ['h', 950, 50]);
    // queueHistograms (the metrics page: several queues, no sizes) reads the same, and zeros for a queue without any.
    assert.deepEqual(await engine.admin.queueHistograms(['h', 'none']), [
      { name: 'h', histograms: stats.histograms },
      { name: 'none', histograms: (await engine.admin.queueStats('none')).histograms },
    ]);

    // Kept 30 days after the day ends (default histogramRetention), set once at creation.
    const endOfDay = Date.parse(`${day}T00:00:00Z`) / 1000 + DAY;
    const keys = new Keys();
    for (const kind of ['run', 'wait'] as const) {
      const key = keys.histogram(kind, 'h', day);
      assert.equal(await ctx.redis.expiretime(key), endOfDay + 30 * DAY, `${key} expires 30 days after its day`);
    }
    // Another day reads nothing.
    const other = await engine.admin.queueStats('h', { date: new Date(Date.now() - DAY * 1000) });
    assert.equal(other.histograms.date, statDay(new Date(Date.now() - DAY * 1000)));
    assert.deepEqual([other.histograms.run.count, other.histograms.run.mean, other.histograms.run.std, other.histograms.wait.count], [0, 0, 0, 0]);
    assert.ok(other.histograms.run.buckets.every((bucket) => bucket.count === 0));
  } finally {
    await engine.stop();
  }
});

test('two nodes acknowledging jobs of one queue on the same day add up in one histogram; histogramRetention sets the expiry', async () => {
  await clearOfMidnightUtc(180_000);
  const day = statDay();
  const runs = Array.from({ length: 300 }, (_, k) => RUNS[k % RUNS.length][0]);
  const a = clockedEngine({ nodeId: 'node-a', queues: { shared: 1 }, histogramRetention: 2 }, Date.now());
  const b = clockedEngine({ nodeId: 'node-b', queues: { shared: 1 }, histogramRetention: 2 }, Date.now());
  await a.engine.start();
  await b.engine.start();
  try {
    await a.engine.client.enqueueMany(runs.map((run, k) => ({ queue: 'shared', class: k % 10 === 4 ? 'Fail' : 'Ok', args: [run] })));
    await waitFor(() => allDone(runs.length), 'every job to run', 60_000);
    assert.ok(a.ran.count > 0 && b.ran.count > 0, `both nodes ran jobs (${a.ran.count} and ${b.ran.count})`);
    assert.equal(a.ran.count + b.ran.count, runs.length);
    const stats = await b.engine.admin.queueStats('shared', { date: day });
    assertHistogram(stats.histograms.run, expected(runs, RUNS), 'run, both nodes');
    // Waits depend on which node took which job: every job counted once.
    assert.equal(stats.histograms.wait.count, runs.length);
    assert.equal(
      stats.histograms.wait.buckets.reduce((sum, bucket) => sum + bucket.count, 0),
      runs.length,
    );
    const endOfDay = Date.parse(`${day}T00:00:00Z`) / 1000 + DAY;
    assert.equal(await ctx.redis.expiretime(new Keys().histogram('run', 'shared', day)), endOfDay + 2 * DAY);
  } finally {
    await Promise.all([a.engine.stop(), b.engine.stop()]);
  }
});

test('queues whose names hold ":" and a day get histograms of their own; real run times of a 30 ms job are at least 30 ms', async () => {
  await clearOfMidnightUtc(120_000);
  const day = statDay();
  const names = ['q', `q:${day}`, `run:${day}:q`];
  const engine = await startEngine({ redis: ctx.server.url, histograms: true, queues: Object.fromEntries(names.map((name) => [name, 3])) }, {
    Ok: { perform() {} },
    Slow: { perform: () => sleep(30) },
  });
  try {
    await engine.client.enqueueMany([
      ...Array.from({ length: 3 }, () => ({ queue: names[0], class: 'Slow' })),
      ...Array.from({ length: 5 }, () => ({ queue: names[1], class: 'Ok' })),
      ...Array.from({ length: 7 }, () => ({ queue: names[2], class: 'Ok' })),
    ]);
    await waitFor(() => allDone(15), 'every job to run');
    const [q, dated, prefixed] = await Promise.all(names.map((name) => engine.admin.queueStats(name)));
    assert.deepEqual(
      [q, dated, prefixed].map((stats) => [stats.histograms.run.count, stats.histograms.wait.count]),
      [
        [3, 3],
        [5, 5],
        [7, 7],
      ],
    );
    assert.equal((await ctx.redis.keys('verk:hist:*')).length, 6, 'two hashes per queue');
    // The default clock: a job that sleeps 30 ms ran at least that long (timers may fire a ms early by Date.now).
    assert.ok(q.histograms.run.min >= 29, `min ${q.histograms.run.min}`);
    assert.ok(q.histograms.run.buckets.filter((bucket) => bucket.le !== null && bucket.le <= 20).every((bucket) => bucket.count === 0));
  } finally {
    await engine.stop();
  }
});

test('histograms: false writes no histogram; queueStats then returns empty ones', async () => {
  const engine = await startEngine({ redis: ctx.server.url, queues: { off: 2 }, histograms: false }, { Ok: { perform() {} }, Fail: { perform: () => Promise.reject(new Error('no')) } });
  try {
    await engine.client.enqueueMany([{ queue: 'off', class: 'Ok' }, { queue: 'off', class: 'Ok', dependable: true }, { queue: 'off', class: 'Fail', maxRetryCount: 0 }]);
    await waitFor(() => allDone(3), 'every job to run');
    assert.deepEqual(await ctx.redis.keys('verk:hist:*'), []);
    const stats = await engine.admin.queueStats('off');
    assert.deepEqual([stats.processed, stats.failed, stats.histograms.run.count, stats.histograms.wait.count], [2, 1, 0, 0]);
  } finally {
    await engine.stop();
  }
});

test('finishJobs adds a batch once (a resent call adds nothing) and acknowledges even when a histogram key has the wrong type', async () => {
  const redis = connect(ctx.server.url);
  defineScripts(redis);
  const keys = new Keys();
  const scripts = new VerkScripts(redis, keys);
  const day = statDay();
  try {
    const jobs = ['{"class":"A","args":[1]}', '{"class":"A","args":[2]}', '{"class":"A","args":[3]}'];
    await redis.lpush('inprogress:b:n1', ...jobs);
    const run = new DurationSums();
    for (const ms of [1, 2, 700]) run.add(ms);
    const wait = new DurationSums();
    for (const ms of [10, 10]) wait.add(ms);
    const histograms = { run: run.encode(), wait: wait.encode(), retentionDays: 30 };
    assert.equal(await scripts.finishJobs({ queue: 'b', nodeId: 'n1', jobs, histograms }), 3);
    assert.equal(await scripts.finishJobs({ queue: 'b', nodeId: 'n1', jobs, histograms }), 0, 'the resent call removes nothing');
    const stored = await redis.hgetall(keys.histogram('run', 'b', day));
    assert.deepEqual(stored, { count: '3', sum: '703', sumsq: String(1 + 4 + 490_000), min: '1', max: '700', '1': '1', '2': '1', '1000': '1' });
    assert.deepEqual(await redis.hgetall(keys.histogram('wait', 'b', day)), { count: '2', sum: '20', sumsq: '200', min: '10', max: '10', '10': '2' });
    // A later batch lowers min and raises nothing else it should not.
    await redis.lpush('inprogress:b:n1', jobs[0]);
    const second = new DurationSums();
    second.add(0);
    await scripts.finishJobs({ queue: 'b', nodeId: 'n1', jobs: [jobs[0]], histograms: { run: second.encode(), wait: '', retentionDays: 30 } });
    assert.deepEqual(await redis.hmget(keys.histogram('run', 'b', day), 'count', 'min', 'max', '1'), ['4', '0', '700', '2']);
    assert.equal(await redis.hget(keys.histogram('wait', 'b', day), 'count'), '2', 'no wait time: the wait histogram is unchanged');

    // Someone wrote a string where the histogram goes: the acknowledgement still lands.
    await redis.set(keys.histogram('run', 'c', day), 'not a hash');
    await redis.lpush('inprogress:c:n1', jobs[1]);
    assert.equal(await scripts.finishJobs({ queue: 'c', nodeId: 'n1', jobs: [jobs[1]], histograms }), 1);
    assert.equal(await redis.get(keys.queueStat('processed', 'c', day)), '1');
    assert.equal(await redis.get(keys.histogram('run', 'c', day)), 'not a hash');
    assert.equal(await redis.hget(keys.histogram('wait', 'c', day), 'count'), '2', 'the other histogram is written');
  } finally {
    redis.disconnect();
  }
});

test('queueStats({ date }) reads the day asked for (a Date or YYYY-MM-DD) and refuses anything else naming options.date; the options are validated', async () => {
  const engine = new VerkEngine({ redis: ctx.server.url, nodeId: 'reader' }, { logger: new MemoryLogger() });
  try {
    const keys = new Keys();
    await ctx.redis.hset(keys.histogram('run', 'old', '2026-01-15'), { count: 2, sum: 30, sumsq: 500, min: 10, max: 20, '10': 1, '20': 1 });
    for (const date of ['2026-01-15', new Date('2026-01-15T23:59:59Z')]) {
      const { histograms } = await engine.admin.queueStats('old', { date });
      assert.equal(histograms.date, '2026-01-15');
      assert.deepEqual([histograms.run.count, histograms.run.mean, histograms.run.min, histograms.run.max, histograms.run.std], [2, 15, 10, 20, 5]);
      assert.deepEqual(
        histograms.run.buckets.filter((bucket) => bucket.count > 0),
        [
          { le: 10, count: 1 },
          { le: 20, count: 1 },
        ],
      );
    }
    for (const date of ['2026-02-30', '2026-1-15', 'yesterday', 20260115, new Date(Number.NaN), null]) {
      await assert.rejects(
        engine.admin.queueStats('old', { date: date as string }),
        (error: unknown) => error instanceof VerkValidationError && error.field === 'options.date',
        `date ${String(date)}`,
      );
    }
    for (const [options, field] of [
      [{ histograms: 'yes' }, 'histograms'],
      [{ histogramRetention: 0 }, 'histogramRetention'],
      [{ histogramRetention: 1.5 }, 'histogramRetention'],
      [{ histogramRetention: 3651 }, 'histogramRetention'],
    ] as const) {
      assert.throws(
        () => new VerkEngine({ nodeId: 'x', ...(options as object) }),
        (error: unknown) => error instanceof VerkConfigError && error.field === field,
        JSON.stringify(options),
      );
    }
  } finally {
    await engine.stop();
  }
});
