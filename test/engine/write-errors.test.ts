import assert from 'node:assert/strict';
import { test } from 'node:test';
import type Redis from 'ioredis';
import { newJid } from '../../lib/engine';
import { Keys } from '../../lib/engine/redis/keys';
import { defineScripts } from '../../lib/engine/redis/scripts';
import { VerkScripts } from '../../lib/engine/redis/verk-scripts';
import { connect, MemoryLogger, startEngine, useRedis } from '../helpers/engine';
import { sleep, waitFor } from '../helpers/wait';

/**
 * Issue 11, defect 6: a job never vanishes on a Redis error mid-script. With a key of the
 * wrong type where a job goes, the job goes to `dead` with the error (RedisWriteError);
 * when `dead` itself is unusable, it stays where it was and the script reports the error.
 */

const ctx = useRedis();

/** A Ruby-shaped payload whose bytes JavaScript's JSON would change. */
function rubyJob(queue: string, extra = ''): { jid: string; text: string } {
  const jid = newJid();
  return { jid, text: `{"class":"Mailer","args":[9007199254740993,1.0,"\\u2028"],"jid":"${jid}","queue":"${queue}"${extra},"retry":true}` };
}

async function scripted(): Promise<Redis> {
  const redis = connect(ctx.server.url);
  defineScripts(redis);
  return redis;
}

test('the scheduler moving a due job into a queue key of the wrong type sends it to dead with the error, bytes kept', async () => {
  await ctx.redis.set('queue:broken', 'not a list');
  await ctx.redis.set('verk:queue:ranked:prioritized', 'not a zset');
  const plain = rubyJob('broken');
  const ranked = rubyJob('ranked', ',"priority":5');
  const now = Date.now() / 1000;
  await ctx.redis.zadd('schedule', now - 1, plain.text, now - 1, ranked.text);
  const engine = await startEngine({ redis: ctx.server.url, queues: {}, pollInterval: 50 });
  try {
    await waitFor(async () => (await ctx.redis.zcard('schedule')) === 0, 'schedule drained', 5000);
    const dead = await ctx.redis.zrange('dead', 0, '-1');
    assert.equal(dead.length, 2, 'both jobs in dead, none lost');
    for (const { jid, text } of [plain, ranked]) {
      const member = dead.find((m) => m.includes(jid));
      assert.ok(member, `${jid} in dead`);
      const job = JSON.parse(member) as Record<string, unknown>;
      assert.equal(job.error_class, 'RedisWriteError');
      assert.match(String(job.error_message), /WRONGTYPE/);
      // The original fields are there byte for byte (the error fields are spliced in).
      assert.ok(member.startsWith(text.slice(0, -1)), member);
    }
    assert.equal(await ctx.redis.get('queue:broken'), 'not a list');
  } finally {
    await engine.stop();
  }
});

test('when dead is unusable too, a due job stays in schedule and the scheduler logs the error; it moves once the key is fixed', async () => {
  await ctx.redis.set('queue:broken', 'not a list');
  await ctx.redis.set('dead', 'not a zset');
  const job = rubyJob('broken');
  await ctx.redis.zadd('schedule', Date.now() / 1000 - 1, job.text);
  const logger = new MemoryLogger();
  const engine = await startEngine({ redis: ctx.server.url, queues: {}, pollInterval: 50 }, {}, logger);
  try {
    await waitFor(() => logger.lines.some((line) => line.startsWith('warn Scheduler') && line.includes('WRONGTYPE')), 'the error logged', 5000);
    await sleep(300);
    assert.deepEqual(await ctx.redis.zrange('schedule', 0, '-1'), [job.text], 'still in schedule, untouched');
    assert.ok(logger.lines.filter((line) => line.startsWith('warn Scheduler')).length <= 2, 'rate-limited');
    await ctx.redis.del('queue:broken');
    await waitFor(async () => (await ctx.redis.llen('queue:broken')) === 1, 'moved once the queue key is usable', 10_000);
    assert.equal(await ctx.redis.zcard('schedule'), 0);
  } finally {
    await engine.stop();
  }
});

for (const flow of [false, true]) {
  test(`a failing ${flow ? 'dependable ' : ''}job whose retry set has the wrong type goes to dead with the error`, async () => {
    await ctx.redis.set('retry', 'not a zset');
    const engine = await startEngine({ redis: ctx.server.url, queues: { default: 1 }, pollInterval: 50 }, {
      Boom: {
        perform() {
          throw new Error('boom');
        },
      },
    });
    try {
      const jid = await engine.client.enqueue({ queue: 'default', class: 'Boom', ...(flow ? { dependable: true } : {}) });
      await waitFor(async () => (await ctx.redis.type('dead')) === 'zset' && (await ctx.redis.zcard('dead')) === 1, 'job in dead', 5000);
      const [member] = await ctx.redis.zrange('dead', 0, '-1');
      const job = JSON.parse(member) as Record<string, unknown>;
      assert.equal(job.jid, jid);
      assert.equal(job.error_class, 'RedisWriteError');
      assert.match(String(job.error_message), /WRONGTYPE/);
      assert.match(String(job.error_message), /boom/, 'the original failure is named');
      assert.equal(await ctx.redis.llen('inprogress:default:test-node'), 0);
      if (flow) assert.equal(await ctx.redis.hget('verk:flow:pending', jid), 'dead', 'recorded as dead for its dependents');
    } finally {
      await engine.stop();
    }
  });
}

test('a failing job with both retry and dead unusable stays in in-progress (error logged, rate-limited) and lands once they are fixed', async () => {
  await ctx.redis.set('retry', 'not a zset');
  await ctx.redis.set('dead', 'not a zset');
  const logger = new MemoryLogger();
  const engine = await startEngine({ redis: ctx.server.url, queues: { default: 1 }, pollInterval: 50 }, {
    Boom: {
      perform() {
        throw new Error('boom');
      },
    },
  }, logger);
  try {
    const jid = await engine.client.enqueue({ queue: 'default', class: 'Boom' });
    await waitFor(() => logger.lines.some((line) => line.includes(`could not record failure of job ${jid}`)), 'the error logged', 5000);
    await sleep(300);
    const held = await ctx.redis.lrange('inprogress:default:test-node', 0, -1);
    assert.equal(held.length, 1, 'still in in-progress');
    assert.ok(held[0].includes(jid));
    await ctx.redis.del('retry', 'dead');
    await waitFor(async () => (await ctx.redis.zcard('retry')) === 1, 'in retry once the keys are usable', 20_000);
    assert.equal(await ctx.redis.llen('inprogress:default:test-node'), 0);
  } finally {
    await engine.stop();
  }
});

test('fetch into an in-progress key of the wrong type takes nothing from the queue', async () => {
  const redis = await scripted();
  try {
    const plain = rubyJob('q');
    const ranked = rubyJob('q', ',"priority":5');
    await ctx.redis.lpush('queue:q', plain.text);
    await ctx.redis.zadd('verk:queue:q:prioritized', -5 * 2 ** 42 + 1, ranked.text);
    await ctx.redis.set('inprogress:q:n1', 'not a list');
    await assert.rejects(new VerkScripts(redis, new Keys()).fetchJobs({ queue: 'q', nodeId: 'n1', count: 10 }), /WRONGTYPE/);
    assert.deepEqual(await ctx.redis.lrange('queue:q', 0, -1), [plain.text]);
    assert.deepEqual(await ctx.redis.zrange('verk:queue:q:prioritized', 0, '-1'), [ranked.text]);
  } finally {
    redis.disconnect();
  }
});

test('putting in-progress jobs back into a queue key of the wrong type sends them to dead; with dead unusable they stay', async () => {
  const redis = await scripted();
  try {
    const jobs = [rubyJob('q'), rubyJob('q')];
    await ctx.redis.set('queue:q', 'not a list');
    await ctx.redis.set('dead', 'not a zset');
    await ctx.redis.rpush('inprogress:q:n1', ...jobs.map((job) => job.text));
    const scripts = new VerkScripts(redis, new Keys());
    await assert.rejects(scripts.requeueInProgress({ queue: 'q', nodeId: 'n1' }), /WRONGTYPE/);
    assert.deepEqual(await ctx.redis.lrange('inprogress:q:n1', 0, -1), jobs.map((job) => job.text), 'nothing removed');

    await ctx.redis.del('dead');
    assert.equal(await scripts.requeueInProgress({ queue: 'q', nodeId: 'n1' }), 0);
    assert.equal(await ctx.redis.llen('inprogress:q:n1'), 0);
    const dead = await ctx.redis.zrange('dead', 0, '-1');
    assert.equal(dead.length, 2);
    for (const member of dead) assert.equal((JSON.parse(member) as { error_class: string }).error_class, 'RedisWriteError');
  } finally {
    redis.disconnect();
  }
});

test('a node whose in-progress key has the wrong type refuses to start with an error naming that key', async () => {
  await ctx.redis.set('inprogress:g:W2', 'not a list');
  await assert.rejects(
    startEngine({ redis: ctx.server.url, nodeId: 'W2', queues: { g: 1 } }),
    (error: Error) => error.name === 'VerkRedisError' && /inprogress:g:W2/.test(error.message) && /WRONGTYPE/.test(error.message),
  );
  assert.equal(await ctx.redis.get('inprogress:g:W2'), 'not a list', 'the key is left for the operator to inspect');
});
