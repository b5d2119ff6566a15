import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newJid } from '../../lib/engine';
import { Keys, statDay } from '../../lib/engine/redis/keys';
import { startEngine, useRedis } from '../helpers/engine';
import { clearOfMidnightUtc, waitFor } from '../helpers/wait';

const ctx = useRedis();

/** Sidekiq's STATS_TTL: daily counters are kept five years. */
const FIVE_YEARS = 5 * 365 * 24 * 60 * 60;

const workers = {
  Ok: { perform() {} },
  Fail: {
    perform() {
      throw new Error('fails');
    },
    retryAt: (failedAt: number) => failedAt + 1_000_000,
  },
};

/** Asserts that each key exists and expires in about five years (within a minute). */
async function assertFiveYearTtl(keys: string[], step: string): Promise<void> {
  for (const key of keys) {
    const ttl = await ctx.redis.ttl(key);
    assert.ok(Math.abs(ttl - FIVE_YEARS) <= 60, `${step}: ${key} has TTL ${ttl}, expected about ${FIVE_YEARS}`);
  }
}

test('every daily stats key, written by every script that counts, expires in 5 years like Sidekiq\'s; totals do not expire', async () => {
  await clearOfMidnightUtc(240_000);
  const keys = new Keys();
  const day = statDay();
  const processedDaily = [keys.stat('processed', day), keys.queueStat('processed', 'a', day)];
  const failedDaily = [keys.stat('failed', day), keys.queueStat('failed', 'a', day)];
  const job = (fields: Record<string, unknown> = {}) => JSON.stringify({ class: 'Ok', args: [], jid: newJid(), queue: 'a', retry: true, created_at: 1_700_000_000, ...fields });

  // recoverJobs: this node's own in-progress job, recovered at start with maxRecoveries 0, goes to dead.
  await ctx.redis.lpush('inprogress:a:stats-node', job());
  const engine = await startEngine({ redis: ctx.server.url, nodeId: 'stats-node', queues: { a: 2 }, pollInterval: 100, maxRecoveries: 0 }, workers);
  try {
    await waitFor(async () => (await ctx.redis.zcard('dead')) === 1, 'the recovered job to go to dead');
    await assertFiveYearTtl(failedDaily, 'recoverJobs');

    /** Runs one step on fresh daily keys, waits for `done`, then checks the TTL of what the step counted. */
    const step = async (name: string, daily: string[], run: () => Promise<unknown>, done: () => Promise<boolean>): Promise<void> => {
      await ctx.redis.del(...processedDaily, ...failedDaily);
      await run();
      await waitFor(done, name);
      await assertFiveYearTtl(daily, name);
    };
    const counted = (key: string, value: number) => async () => Number(await ctx.redis.get(key)) === value;

    await step('finishJobs', processedDaily, () => engine.client.enqueue({ queue: 'a', class: 'Ok' }), counted(processedDaily[1], 1));
    await step('failJob to retry', failedDaily, () => engine.client.enqueue({ queue: 'a', class: 'Fail' }), counted(failedDaily[1], 1));
    await step('failJob to dead', failedDaily, () => engine.client.enqueue({ queue: 'a', class: 'Fail', maxRetryCount: 0 }), counted(failedDaily[1], 1));
    await step('completeFlowJob', processedDaily, () => engine.client.enqueue({ queue: 'a', class: 'Ok', dependable: true }), counted(processedDaily[1], 1));
    await step('failFlowJob', failedDaily, () => engine.client.enqueue({ queue: 'a', class: 'Fail', dependable: true, maxRetryCount: 0 }), counted(failedDaily[1], 1));
    // enqueueDue: a due member of `schedule` that is not a job goes to dead (global counters only).
    await step('enqueueDue', [keys.stat('failed', day)], () => ctx.redis.zadd('schedule', 1, 'not a job'), counted(keys.stat('failed', day), 1));

    // Whatever else was written: every key holding a day expires, every total does not.
    const all = await ctx.redis.keys('*stat:*');
    for (const key of all) {
      const ttl = await ctx.redis.ttl(key);
      if (/\d{4}-\d{2}-\d{2}/.test(key)) assert.ok(Math.abs(ttl - FIVE_YEARS) <= 60, `${key} has TTL ${ttl}`);
      else assert.equal(ttl, -1, `${key} is a total and must not expire`);
    }
    for (const total of [keys.stat('processed'), keys.stat('failed'), keys.queueStat('processed', 'a'), keys.queueStat('failed', 'a')]) {
      assert.ok(all.includes(total), `${total} was written`);
    }
  } finally {
    await engine.stop();
  }
});

test('a queue named like another queue plus a day ("x:<today>") has counters of its own: per-queue stats are right for both', async () => {
  await clearOfMidnightUtc(120_000);
  const day = statDay();
  const other = `x:${day}`;
  const engine = await startEngine({ redis: ctx.server.url, nodeId: 'stats-node', queues: { x: 2, [other]: 2 } }, workers);
  try {
    await engine.client.enqueueMany([
      ...Array.from({ length: 2 }, () => ({ queue: 'x', class: 'Ok' })),
      ...Array.from({ length: 3 }, () => ({ queue: other, class: 'Ok' })),
      { queue: other, class: 'Fail' },
    ]);
    await waitFor(async () => Number(await ctx.redis.get('stat:processed')) === 5 && Number(await ctx.redis.get('stat:failed')) === 1, 'every job to run');
    const [x, y] = await Promise.all([engine.admin.queueStats('x'), engine.admin.queueStats(other)]);
    assert.deepEqual([x.processed, x.failed, x.today], [2, 0, { date: day, processed: 2, failed: 0 }]);
    assert.deepEqual([y.processed, y.failed, y.today], [3, 1, { date: day, processed: 3, failed: 1 }]);
  } finally {
    await engine.stop();
  }
});
