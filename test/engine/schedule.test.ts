import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newJid } from '../../lib/engine';
import { connect, startEngine, useRedis } from '../helpers/engine';
import { waitFor } from '../helpers/wait';

const ctx = useRedis();

test('a scheduled job runs no earlier than its time and no later than pollInterval + 1 s after it', async () => {
  const pollInterval = 500;
  let ranAt = 0;
  const engine = await startEngine({ redis: ctx.server.url, queues: { default: 1 }, pollInterval }, { Later: { perform: () => void (ranAt = Date.now()) } });
  try {
    const at = new Date(Date.now() + 1500);
    const jid = await engine.client.schedule({ queue: 'default', class: 'Later', args: ['x'] }, at);
    const [member, score] = await ctx.redis.zrange('schedule', 0, '-1', 'WITHSCORES');
    assert.equal(JSON.parse(member).jid, jid);
    assert.equal(JSON.parse(member).enqueued_at, undefined, 'a scheduled job is not enqueued yet (as in Sidekiq)');
    assert.equal(Number(score), at.getTime() / 1000);
    await waitFor(() => ranAt > 0, 'scheduled job run', 5000);
    assert.ok(ranAt >= at.getTime(), `ran ${at.getTime() - ranAt} ms early`);
    assert.ok(ranAt <= at.getTime() + pollInterval + 1000, `ran ${ranAt - at.getTime()} ms late`);
    assert.equal(await ctx.redis.zcard('schedule'), 0);
  } finally {
    await engine.stop();
  }
});

test('schedule with an epoch-ms time in the past enqueues at once', async () => {
  const engine = await startEngine({ redis: ctx.server.url, queues: {} });
  try {
    const jid = await engine.client.schedule({ queue: 'default', class: 'Now' }, Date.now() - 1000);
    const [member] = await ctx.redis.lrange('queue:default', 0, -1);
    assert.equal(JSON.parse(member).jid, jid);
    assert.equal(await ctx.redis.zcard('schedule'), 0);
  } finally {
    await engine.stop();
  }
});

test('two nodes polling one schedule enqueue each due job exactly once', async () => {
  // 2,000 due jobs, two schedulers racing over them (no queue managers, so the queue shows
  // exactly what the schedulers pushed).
  const due = Date.now() / 1000 - 1;
  const jids = Array.from({ length: 2000 }, () => newJid());
  const pipeline = ctx.redis.pipeline();
  for (const jid of jids) pipeline.zadd(Math.random() < 0.5 ? 'schedule' : 'retry', String(due), JSON.stringify({ class: 'X', args: [], jid, queue: 'race', retry: true }));
  await pipeline.exec();

  const [a, b] = await Promise.all([
    startEngine({ redis: ctx.server.url, nodeId: 'node-a', queues: {}, pollInterval: 20 }),
    startEngine({ redis: ctx.server.url, nodeId: 'node-b', queues: {}, pollInterval: 20 }),
  ]);
  try {
    await waitFor(async () => (await ctx.redis.zcard('schedule')) + (await ctx.redis.zcard('retry')) === 0, 'sets drained', 10_000);
    const queued = (await ctx.redis.lrange('queue:race', 0, -1)).map((member) => JSON.parse(member) as { jid: string; enqueued_at: number });
    assert.equal(queued.length, 2000, 'no job enqueued twice, none lost');
    assert.equal(new Set(queued.map((job) => job.jid)).size, 2000);
    assert.ok(queued.every((job) => typeof job.enqueued_at === 'number'), 'enqueued_at is set when moved');
    assert.deepEqual(await ctx.redis.smembers('queues'), ['race']);
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});

test('a member of schedule that is not a job goes to dead instead of blocking the set', async () => {
  const past = String(Date.now() / 1000 - 5);
  await ctx.redis.zadd('schedule', past, 'garbage{', past, JSON.stringify({ class: 'Good', args: [], jid: 'a'.repeat(24), queue: 'default' }));
  let ran = 0;
  const engine = await startEngine({ redis: ctx.server.url, queues: { default: 1 }, pollInterval: 50 }, { Good: { perform: () => void ran++ } });
  try {
    await waitFor(() => ran === 1, 'good job runs');
    const dead = await ctx.redis.zrange('dead', 0, '-1');
    assert.equal(dead.length, 1);
    const job = JSON.parse(dead[0]) as Record<string, unknown>;
    assert.equal(job.raw_payload, 'garbage{', 'the original text is kept');
    assert.match(job.error_message as string, /not valid JSON/);
    assert.equal(Number(await ctx.redis.get('stat:failed')), 1, 'counted as a failure');
  } finally {
    await engine.stop();
  }
});
