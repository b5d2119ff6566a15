import assert from 'node:assert/strict';
import { test } from 'node:test';
import Redis from 'ioredis';
import { newJid, VerkEngine, type VerkOptions, VerkValidationError, type WorkerHandler } from '../../lib/engine';
import { ClassMetricsRecorder } from '../../lib/engine/class-metrics/class-metrics-recorder';
import { Keys } from '../../lib/engine/redis/keys';
import { MemoryLogger, useRedis } from '../helpers/engine';
import { sleep, waitFor } from '../helpers/wait';

/**
 * Issue 12: per job class, per minute metrics (Sidekiq 7's Metrics page), written by each
 * node from memory with option `histograms` and read by admin.classMetrics.
 */

const ctx = useRedis();
const MINUTE = 60_000;
const TTL = 8 * 3600;

/** YYYYMMDDHHMM of a minute, computed here (not with the library's code). */
function stamp(ms: number): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}${two(d.getUTCMonth() + 1)}${two(d.getUTCDate())}${two(d.getUTCHours())}${two(d.getUTCMinutes())}`;
}

/** A node whose clock moves only when a job says so: perform([ms]) advances it by ms (one job at a time). */
function clockedNode(options: VerkOptions, start: number): { engine: VerkEngine; logger: MemoryLogger } {
  const clock = { now: start };
  const logger = new MemoryLogger();
  const engine = new VerkEngine({ redis: ctx.server.url, histograms: true, nodeId: 'solo', ...options }, { logger, clock: () => clock.now });
  const advance = async (args: unknown[]) => {
    clock.now += args[0] as number;
  };
  const workers: Record<string, WorkerHandler> = {
    A: { perform: advance },
    B: { perform: advance },
    C: {
      async perform(args) {
        await advance(args);
        throw new Error('fails');
      },
    },
  };
  for (const [name, handler] of Object.entries(workers)) engine.workers.register(name, handler);
  return { engine, logger };
}

async function allDone(total: number): Promise<boolean> {
  return Number(await ctx.redis.get('stat:processed')) + Number(await ctx.redis.get('stat:failed')) === total;
}

/** Numbers of a hash, as HGETALL returns them. */
async function hashOf(key: string): Promise<Record<string, number>> {
  return Object.fromEntries(Object.entries(await ctx.redis.hgetall(key)).map(([field, value]) => [field, Number(value)]));
}

test('a node with three worker classes of known run and wait times writes, on stop, exact per-minute sums and buckets per class; an unregistered class counts as "other"; each minute expires 8 h after it ends', async () => {
  const start = Math.floor(Date.now() / MINUTE) * MINUTE;
  const enqueuedAt = (start - 5000) / 1000;
  // Run in this order, one at a time: [class, ms]. Job k's wait is its start - start + 5 s.
  const jobs: [string, number][] = [
    ['A', 1000],
    ['A', 3000],
    ['B', 40],
    ['C', 15],
    ['Nope', 0],
    ['A', 60_000],
    ['B', 7],
  ];
  await ctx.redis.lpush('queue:m', ...jobs.map(([cls, ms]) => JSON.stringify({ class: cls, args: [ms], jid: newJid(), queue: 'm', retry: false, enqueued_at: enqueuedAt })));
  const { engine } = clockedNode({ queues: { m: 1 } }, start);
  await engine.start();
  try {
    await waitFor(() => allDone(jobs.length), 'the 7 jobs to run', 30_000);
  } finally {
    await engine.stop();
  }
  // Bucket indexes (HISTOGRAM_BOUNDS_MS): 0:≤1 3:≤10 4:≤20 5:≤50 9:≤1000 11:≤5000 12:≤10000 15:≤60000 16:≤120000.
  assert.deepEqual(await hashOf(`verk:metrics:${stamp(start)}`), {
    'A|p': 2, 'A|ms': 4000, 'A|r9': 1, 'A|r11': 1, 'A|wms': 5000 + 6000, 'A|w11': 1, 'A|w12': 1,
    'B|p': 1, 'B|ms': 40, 'B|r5': 1, 'B|wms': 9000, 'B|w12': 1,
    'C|p': 1, 'C|f': 1, 'C|ms': 15, 'C|r4': 1, 'C|wms': 9040, 'C|w12': 1,
    'other|p': 1, 'other|f': 1, 'other|r0': 1, 'other|wms': 9055, 'other|w12': 1,
  });
  assert.deepEqual(await hashOf(`verk:metrics:${stamp(start + MINUTE)}`), {
    'A|p': 1, 'A|ms': 60_000, 'A|r15': 1, 'A|wms': 9055, 'A|w12': 1,
    'B|p': 1, 'B|ms': 7, 'B|r3': 1, 'B|wms': 69_055, 'B|w16': 1,
  });
  assert.deepEqual((await ctx.redis.keys('verk:metrics:*')).sort(), [`verk:metrics:${stamp(start)}`, `verk:metrics:${stamp(start + MINUTE)}`]);
  // The node's clock read start + 64,062 ms at the flush: minute 0 ended 4.062 s before, minute 1 ends 55.938 s after.
  const ttl0 = await ctx.redis.ttl(`verk:metrics:${stamp(start)}`);
  const ttl1 = await ctx.redis.ttl(`verk:metrics:${stamp(start + MINUTE)}`);
  assert.ok(ttl0 >= TTL - 4 - 2 && ttl0 <= TTL - 4, `minute 0 expires 8 h after it ended (ttl ${ttl0})`);
  assert.ok(ttl1 >= TTL + 56 - 2 && ttl1 <= TTL + 56, `minute 1 expires 8 h after it ends (ttl ${ttl1})`);
});

/** A recorder on its own connection, writing at the real clock. */
function recorderOn(redis: Redis, logger = new MemoryLogger()): ClassMetricsRecorder {
  return new ClassMetricsRecorder({ keys: new Keys(), redis, logger, isRegistered: (name) => name === 'A', clock: Date.now });
}

test('a flush while Redis is away keeps its sums; the next flush after Redis is back writes them once, with those counted meanwhile (no loss, no double count)', async () => {
  // A connection that gives up quickly (like the client role): EXEC rejects while Redis is away.
  const redis = new Redis(ctx.server.url, { maxRetriesPerRequest: 1, retryStrategy: () => 100 });
  redis.on('error', () => undefined);
  const logger = new MemoryLogger();
  const recorder = recorderOn(redis, logger);
  try {
    const now = Date.now();
    recorder.record('A', now, 12, 3, false);
    recorder.record('A', now, 700, undefined, true);
    await ctx.server.stop();
    await recorder.flush();
    assert.ok(logger.lines.some((line) => line.includes('Could not write the job class metrics')), logger.lines.join('\n'));
    recorder.record('A', now, 12, 3, false);
    recorder.record('Z', now, 1, 1, false);
    await ctx.server.restart();
    await waitFor(async () => (await redis.ping().catch(() => '')) === 'PONG', 'Redis back', 10_000);
    await recorder.flush();
    // Nothing left: a further flush writes nothing more.
    await recorder.flush();
    const key = `verk:metrics:${stamp(now)}`;
    assert.deepEqual(await hashOf(key), { 'A|p': 3, 'A|f': 1, 'A|ms': 724, 'A|r4': 2, 'A|r9': 1, 'A|wms': 6, 'A|w2': 2, 'other|p': 1, 'other|ms': 1, 'other|r0': 1, 'other|wms': 1, 'other|w0': 1 });
  } finally {
    redis.disconnect();
  }
});

test('a flush on the engine connection (which waits for Redis) sent while Redis is away lands once Redis is back, once', async () => {
  const redis = new Redis(ctx.server.url, { maxRetriesPerRequest: null, retryStrategy: () => 100 });
  redis.on('error', () => undefined);
  const recorder = recorderOn(redis);
  try {
    const now = Date.now();
    await redis.ping();
    recorder.record('A', now, 30, 30, false);
    await ctx.server.stop();
    const flushing = recorder.flush();
    recorder.record('A', now, 30, 30, false);
    await ctx.server.restart();
    await flushing;
    await recorder.stop();
    assert.deepEqual(await hashOf(`verk:metrics:${stamp(now)}`), { 'A|p': 2, 'A|ms': 60, 'A|r5': 2, 'A|wms': 60, 'A|w5': 2 });
  } finally {
    redis.disconnect();
  }
});

test('histograms off (the default): no verk:metrics key is written and the recorder is never called', async () => {
  const calls = { count: 0 };
  const original = ClassMetricsRecorder.prototype.record;
  ClassMetricsRecorder.prototype.record = function (...args) {
    calls.count++;
    return original.apply(this, args);
  };
  try {
    for (const histograms of [false, true]) {
      await ctx.redis.flushall();
      calls.count = 0;
      const { engine } = clockedNode({ queues: { m: 2 }, histograms }, Date.now());
      await engine.start();
      try {
        await engine.client.enqueueMany([{ queue: 'm', class: 'A', args: [5] }, { queue: 'm', class: 'C', args: [5], retry: false }]);
        await waitFor(() => allDone(2), 'both jobs to run', 10_000);
      } finally {
        await engine.stop();
      }
      const keys = await ctx.redis.keys('verk:metrics:*');
      if (histograms) {
        assert.equal(calls.count, 2, 'on: both runs recorded');
        assert.equal(keys.length, 1, 'on: the minute was written');
      } else {
        assert.equal(calls.count, 0, 'off: the recorder was never called');
        assert.deepEqual(keys, [], 'off: no verk:metrics key');
      }
    }
  } finally {
    ClassMetricsRecorder.prototype.record = original;
  }
});

test('admin.classMetrics reads the last 60 / 480 minutes: totals per class sorted by run time, means, percentiles estimated from known buckets, a per-minute series, one class with its histograms; bounds are validated', async () => {
  // Clear of a minute's end: the window must not move between the writes and the reads.
  if (MINUTE - (Date.now() % MINUTE) < 3000) await sleep(MINUTE - (Date.now() % MINUTE) + 100);
  const current = Math.floor(Date.now() / MINUTE) * MINUTE;
  const at = (back: number) => `verk:metrics:${stamp(current - back * MINUTE)}`;
  // X: 100 runs in the ≤1000 ms bucket (r9), 40 waits in ≤5 ms (w2); Y: 3 runs in ≤300 s (r17), no waits.
  await ctx.redis.hset(at(0), { 'X|p': 100, 'X|f': 10, 'X|ms': 75_000, 'X|r9': 100, 'X|wms': 200, 'X|w2': 40, junk: 5, 'X|r99': 4, 'X|q': 1 });
  await ctx.redis.hset(at(5), { 'Y|p': 3, 'Y|ms': 300_000, 'Y|r17': 3 });
  await ctx.redis.hset(at(59), { 'X|p': 1, 'X|ms': 800, 'X|r9': 1 });
  await ctx.redis.hset(at(60), { 'X|p': 1000, 'X|ms': 1000, 'X|r9': 1000 });
  await ctx.redis.hset(at(479), { 'a|b|p': 7, 'a|b|r0': 7 });
  await ctx.redis.hset(at(480), { 'X|p': 99_999 });
  const engine = new VerkEngine({ redis: ctx.server.url, nodeId: 'reader' }, { logger: new MemoryLogger() });
  try {
    const hour = await engine.admin.classMetrics();
    assert.equal(hour.minutes, 60);
    assert.equal(hour.since, new Date(current - 59 * MINUTE).toISOString());
    assert.equal(hour.until, new Date(current + MINUTE).toISOString());
    assert.deepEqual(hour.classes.map((row) => [row.class, row.processed, row.failed, row.totalRunMs]), [
      ['Y', 3, 0, 300_000],
      ['X', 101, 10, 75_800],
    ]);
    const [y, x] = hour.classes;
    // Linear within the bucket: X's runs are all in (500, 1000], so pq = 500 + 500 q.
    assert.deepEqual(x.runMs, { count: 101, mean: 75_800 / 101, p50: 750, p95: 975, p99: 995 });
    // X's waits in (2, 5]: 2 + 3 q; mean from wms over the 40 waits.
    assert.equal(x.waitMs.count, 40);
    assert.equal(x.waitMs.mean, 5);
    assert.ok(Math.abs(x.waitMs.p50 - 3.5) < 1e-9 && Math.abs(x.waitMs.p95 - 4.85) < 1e-9 && Math.abs(x.waitMs.p99 - 4.97) < 1e-9, JSON.stringify(x.waitMs));
    // Y's in (120 s, 300 s]: 120000 + 180000 q.
    assert.deepEqual(y.runMs, { count: 3, mean: 100_000, p50: 210_000, p95: 291_000, p99: 298_200 });
    assert.deepEqual(y.waitMs, { count: 0, mean: 0, p50: 0, p95: 0, p99: 0 });
    assert.equal(hour.series.length, 60);
    assert.deepEqual(hour.series[59], { minute: new Date(current).toISOString(), processed: 100, failed: 10 });
    assert.deepEqual(hour.series[54], { minute: new Date(current - 5 * MINUTE).toISOString(), processed: 3, failed: 0 });
    assert.deepEqual(hour.series[0], { minute: new Date(current - 59 * MINUTE).toISOString(), processed: 1, failed: 0 });
    assert.equal(hour.series.reduce((sum, point) => sum + point.processed, 0), 104);
    assert.equal(hour.histogram, undefined);

    const eight = await engine.admin.classMetrics({ minutes: 480 });
    assert.equal(eight.series.length, 480);
    assert.deepEqual(eight.classes.map((row) => [row.class, row.processed]), [['Y', 3], ['X', 1101], ['a|b', 7]]);

    const one = await engine.admin.classMetrics({ minutes: 60, className: 'X' });
    assert.deepEqual(one.classes.map((row) => row.class), ['X']);
    assert.equal(one.series[54].processed, 0, "Y's minute counts nothing for X");
    assert.equal(one.series[59].processed, 100);
    assert.equal(one.histogram?.run.length, 27);
    assert.deepEqual(one.histogram?.run.filter((bucket) => bucket.count > 0), [{ le: 1000, count: 101 }]);
    assert.deepEqual(one.histogram?.wait.filter((bucket) => bucket.count > 0), [{ le: 5, count: 40 }]);
    const none = await engine.admin.classMetrics({ className: 'Nope' });
    assert.deepEqual(none.classes, []);
    assert.ok(none.histogram?.run.every((bucket) => bucket.count === 0));

    for (const minutes of [0, 481, 'x', 1.5, -1]) {
      await assert.rejects(engine.admin.classMetrics({ minutes: minutes as number }), (error: unknown) => error instanceof VerkValidationError && error.field === 'options.minutes', `minutes ${String(minutes)}`);
    }
    await assert.rejects(engine.admin.classMetrics({ className: '' }), (error: unknown) => error instanceof VerkValidationError && error.field === 'options.className');
    await assert.rejects(engine.admin.classMetrics('60' as never), (error: unknown) => error instanceof VerkValidationError && error.field === 'options');
  } finally {
    await engine.stop();
  }
});
