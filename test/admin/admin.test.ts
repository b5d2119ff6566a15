import 'reflect-metadata';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Perform, VerkModule, VerkService, Worker } from 'nestjs-verk';
import { type JobPayload, type JobSet, newJid, VerkEngine, VerkValidationError } from '../../lib/engine';
import { statDay } from '../../lib/engine/redis/keys';
import { connect, MemoryLogger, startEngine, useRedis } from '../helpers/engine';
import { clearOfMidnightUtc, sleep, waitFor } from '../helpers/wait';

const ctx = useRedis();

/** An engine that is never started: only its enqueue client and admin are used (no scheduler, no workers). */
async function withAdmin(fn: (engine: VerkEngine) => Promise<void>): Promise<void> {
  const engine = new VerkEngine({ redis: ctx.server.url, nodeId: 'admin' }, { logger: new MemoryLogger() });
  try {
    await fn(engine);
  } finally {
    await engine.stop();
  }
}

function job(fields: Partial<JobPayload> = {}): JobPayload {
  return { class: 'Thing', args: [], jid: newJid(), queue: 'x', retry: true, created_at: 1_700_000_000, ...fields };
}

/** A promise released from outside, to hold a job in progress. */
function gate(): { wait: Promise<void>; release: () => void } {
  let release!: () => void;
  const wait = new Promise<void>((resolve) => (release = resolve));
  return { wait, release };
}

test('stats() and queueStats() match a known workload exactly: totals, days, queues, in-progress, sets, live nodes', async () => {
  await clearOfMidnightUtc(120_000);
  const today = statDay();
  const yesterday = statDay(new Date(Date.now() - 86_400_000));
  // History from "yesterday", and a node that died holding one job of queue a.
  await ctx.redis
    .multi()
    .set('stat:processed', 7)
    .set(`stat:processed:${yesterday}`, 7)
    .set('stat:failed', 1)
    .set(`stat:failed:${yesterday}`, 1)
    .set('verk:stat:processed:queue:a', 7)
    .set(`verk:stat:processed:daily:${yesterday}:a`, 7)
    .set('verk:stat:failed:queue:b', 1)
    .set(`verk:stat:failed:daily:${yesterday}:b`, 1)
    .sadd('verk_nodes', 'ghost')
    .sadd('verk:node:ghost:queues', 'a')
    .lpush('inprogress:a:ghost', JSON.stringify(job({ queue: 'a' })))
    .exec();

  const held = gate();
  let blockedStarted = false;
  const engine = await startEngine({ redis: ctx.server.url, nodeId: 'worker-1', queues: { a: 3, b: 2 }, histograms: true }, {
    Ok: { perform() {} },
    Fail: {
      perform() {
        throw new Error('fails');
      },
      retryAt: (failedAt) => failedAt + 1_000_000,
    },
    Die: {
      perform() {
        throw new Error('dies');
      },
    },
    Block: {
      async perform() {
        blockedStarted = true;
        await held.wait;
      },
    },
  });
  try {
    await withAdmin(async (admin) => {
      await engine.client.enqueueMany([
        ...Array.from({ length: 5 }, () => ({ queue: 'a', class: 'Ok' })),
        ...Array.from({ length: 3 }, () => ({ queue: 'a', class: 'Fail' })),
        ...Array.from({ length: 4 }, () => ({ queue: 'b', class: 'Ok' })),
        ...Array.from({ length: 2 }, () => ({ queue: 'b', class: 'Die', maxRetryCount: 0 })),
        ...Array.from({ length: 4 }, () => ({ queue: 'idle', class: 'Ok' })),
      ]);
      await engine.client.enqueue({ queue: 'a', class: 'Block' });
      for (let i = 0; i < 2; i++) await engine.client.schedule({ queue: 'a', class: 'Ok' }, Date.now() + 3_600_000);
      await waitFor(async () => blockedStarted && Number(await ctx.redis.get('stat:processed')) === 16 && Number(await ctx.redis.get('stat:failed')) === 6, 'workload done');

      const stats = await admin.admin.stats({ days: 2 });
      const day = (date: string, processed: number, failed: number) => ({ date, processed, failed });
      const queueA = {
        name: 'a',
        size: 0,
        inProgress: 2,
        inProgressByNode: { ghost: 1, 'worker-1': 1 },
        processed: 12,
        failed: 3,
        today: day(today, 5, 3),
        days: [day(today, 5, 3), day(yesterday, 7, 0)],
      };
      const queueB = { name: 'b', size: 0, inProgress: 0, inProgressByNode: {}, processed: 4, failed: 3, today: day(today, 4, 2), days: [day(today, 4, 2), day(yesterday, 0, 1)] };
      const idle = { name: 'idle', size: 4, inProgress: 0, inProgressByNode: {}, processed: 0, failed: 0, today: day(today, 0, 0), days: [day(today, 0, 0), day(yesterday, 0, 0)] };
      assert.deepEqual(stats, {
        processed: 16,
        failed: 6,
        today: day(today, 9, 5),
        days: [day(today, 9, 5), day(yesterday, 7, 1)],
        enqueued: 4,
        inProgress: 2,
        scheduled: 2,
        retries: 3,
        dead: 2,
        blocked: 0,
        queues: [queueA, queueB, idle],
        nodes: [{ id: 'worker-1', queues: ['a', 'b'], running: { a: 1, b: 0 }, busy: 1 }],
      });

      // Default: today only.
      const todayOnly = await admin.admin.stats();
      assert.deepEqual(todayOnly.days, [day(today, 9, 5)]);
      assert.deepEqual(todayOnly.queues.map((queue) => queue.days.length), [1, 1, 1]);
      // queueStats() adds the queue's histograms of the day: 5 finished and 3 failed runs of `a` (Block still runs).
      const { histograms: histogramsA, limits: limitsA, ...statsA } = await admin.admin.queueStats('a', { days: 2 });
      assert.deepEqual(statsA, queueA);
      // A queue without limits (docs/limits.md): none, nothing running under them.
      assert.deepEqual(limitsA, { limits: {}, running: 0, pausedUntil: 0, grouped: 0, groups: 0 });
      assert.deepEqual([histogramsA.date, histogramsA.run.count, histogramsA.wait.count], [today, 8, 8]);
      const { histograms: idleHistograms, limits: _idleLimits, ...idleStats } = await admin.admin.queueStats('idle');
      assert.deepEqual(idleStats, { ...idle, days: [day(today, 0, 0)] });
      assert.deepEqual([idleHistograms.run.count, idleHistograms.wait.count], [0, 0]);
      const { histograms: _none, limits: _noLimits, ...nothing } = await admin.admin.queueStats('nothing-here');
      assert.deepEqual(nothing, {
        name: 'nothing-here',
        size: 0,
        inProgress: 0,
        inProgressByNode: {},
        processed: 0,
        failed: 0,
        today: day(today, 0, 0),
        days: [day(today, 0, 0)],
      });

      held.release();
      await waitFor(async () => Number(await ctx.redis.get('stat:processed')) === 17, 'blocked job done');
      const after = await admin.admin.stats();
      assert.equal(after.inProgress, 1, 'only the dead node\'s job is left in progress');
      assert.deepEqual(after.nodes, [{ id: 'worker-1', queues: ['a', 'b'], running: { a: 0, b: 0 }, busy: 0 }]);

      await engine.stop();
      assert.deepEqual((await admin.admin.stats()).nodes, [], 'a node that stopped is not live');
    });
  } finally {
    held.release();
    await engine.stop();
  }
});

test('stats() also reports a queue that only a node\'s queue set names (not in `queues`)', async () => {
  await ctx.redis
    .multi()
    .sadd('verk_nodes', 'n1')
    .set('verk:node:n1', 'alive')
    .sadd('verk:node:n1:queues', 'hidden')
    .lpush('inprogress:hidden:n1', JSON.stringify(job({ queue: 'hidden' })))
    .exec();
  await withAdmin(async (admin) => {
    const stats = await admin.admin.stats();
    assert.deepEqual(stats.queues.map((queue) => [queue.name, queue.inProgress]), [['hidden', 1]]);
    assert.equal(stats.inProgress, 1);
    assert.deepEqual(stats.nodes, [{ id: 'n1', queues: ['hidden'], running: { hidden: 1 }, busy: 1 }]);
  });
});

test('listJobs pages through retry, schedule and dead by score and through a queue in processing order', async () => {
  const base = Date.now() / 1000 + 1_000_000;
  const inSet: Record<JobSet, JobPayload[]> = { retry: [], schedule: [], dead: [] };
  for (const [set, count] of [['retry', 7], ['schedule', 5], ['dead', 6]] as const) {
    inSet[set] = Array.from({ length: count }, (_, i) => job({ args: [set, i] }));
    // Written in reverse, so only the score gives the order.
    const multi = ctx.redis.multi();
    for (let i = count - 1; i >= 0; i--) multi.zadd(set, String(base + i), JSON.stringify(inSet[set][i]));
    await multi.exec();
  }
  await withAdmin(async (admin) => {
    for (const set of ['retry', 'schedule', 'dead'] as const) {
      const all = inSet[set];
      const first = await admin.admin.listJobs(set, { offset: 0, limit: 3 });
      assert.equal(first.total, all.length);
      assert.deepEqual([first.offset, first.limit], [0, 3]);
      assert.deepEqual(first.jobs.map((entry) => entry.job?.jid), all.slice(0, 3).map((j) => j.jid));
      assert.deepEqual(first.jobs.map((entry) => entry.at), [base, base + 1, base + 2]);
      assert.deepEqual(first.jobs[0].job, all[0], 'the payload is parsed unchanged');
      assert.equal(first.jobs[0].raw, JSON.stringify(all[0]));
      assert.equal(first.jobs[0].error, undefined);
      // Every page of 2 together is the whole set, in order.
      const seen: string[] = [];
      for (let offset = 0; offset < all.length; offset += 2) {
        const page = await admin.admin.listJobs(set, { offset, limit: 2 });
        assert.equal(page.total, all.length);
        assert.equal(page.jobs.length, Math.min(2, all.length - offset));
        seen.push(...page.jobs.map((entry) => entry.job?.jid ?? ''));
      }
      assert.deepEqual(seen, all.map((j) => j.jid));
      assert.deepEqual((await admin.admin.listJobs(set, { offset: all.length })).jobs, []);
      assert.equal((await admin.admin.listJobs(set)).jobs.length, all.length, 'default limit 25');
    }

    const jids = await admin.client.enqueueMany(Array.from({ length: 8 }, (_, i) => ({ queue: 'p', class: 'Thing', args: [i] })));
    const page = await admin.admin.listJobs({ queue: 'p' }, { offset: 2, limit: 3 });
    assert.equal(page.total, 8);
    assert.deepEqual(page.jobs.map((entry) => entry.job?.jid), jids.slice(2, 5), 'the job consumers take next comes first');
    assert.ok(page.jobs.every((entry) => entry.at === undefined));
    assert.deepEqual((await admin.admin.listJobs({ queue: 'p' }, { offset: 6, limit: 5 })).jobs.map((entry) => entry.job?.jid), jids.slice(6));
    assert.deepEqual((await admin.admin.listJobs({ queue: 'p' }, { offset: 8, limit: 5 })).jobs, []);
    assert.deepEqual((await admin.admin.listJobs({ queue: 'p' }, { offset: 100, limit: 5 })).jobs, []);
    assert.deepEqual((await admin.admin.listJobs({ queue: 'p' })).jobs.map((entry) => entry.job?.jid), jids);
    // The listed order is the order a worker runs them in.
    const [next] = await ctx.redis.lrange('queue:p', -1, -1);
    assert.equal(JSON.parse(next).jid, jids[0]);
    assert.deepEqual(await admin.admin.listJobs({ queue: 'none' }), { total: 0, offset: 0, limit: 25, jobs: [] });
  });
});

test('findJob finds a job in schedule, a queue, in progress on a node, retry and dead; null when nowhere', async () => {
  const held = gate();
  let started = false;
  const engine = await startEngine({ redis: ctx.server.url, nodeId: 'busy-node', queues: { w: 1 } }, {
    Block: {
      async perform() {
        started = true;
        await held.wait;
      },
    },
  });
  try {
    await withAdmin(async (admin) => {
      const running = await engine.client.enqueue({ queue: 'w', class: 'Block', args: ['running'] });
      await waitFor(() => started, 'job running');
      const waiting = await engine.client.enqueue({ queue: 'w', class: 'Block', args: ['waiting'] });
      const elsewhere = await engine.client.enqueue({ queue: 'other', class: 'Thing' });
      const scheduled = await engine.client.schedule({ queue: 'w', class: 'Thing' }, Date.now() + 3_600_000);
      const retrying = job({ retry_count: 1, error_message: 'x' });
      const dead = job({ error_message: 'gone' });
      await ctx.redis.zadd('retry', '2000000000.5', JSON.stringify(retrying));
      await ctx.redis.zadd('dead', '1700000000.25', JSON.stringify(dead));

      const inProgress = await admin.admin.findJob(running);
      assert.ok(inProgress && inProgress.where === 'inprogress');
      assert.equal(inProgress.queue, 'w');
      assert.equal(inProgress.nodeId, 'busy-node');
      assert.deepEqual(inProgress.job.args, ['running']);

      const queued = await admin.admin.findJob(waiting);
      assert.ok(queued && queued.where === 'queue');
      assert.equal(queued.queue, 'w');
      assert.equal(JSON.parse(queued.raw).jid, waiting);
      const other = await admin.admin.findJob(elsewhere);
      assert.ok(other && other.where === 'queue' && other.queue === 'other');

      const inSchedule = await admin.admin.findJob(scheduled);
      assert.ok(inSchedule && inSchedule.where === 'schedule');
      assert.ok(inSchedule.at > Date.now() / 1000);

      assert.deepEqual(await admin.admin.findJob(retrying.jid), { where: 'retry', at: 2000000000.5, job: retrying, raw: JSON.stringify(retrying) });
      assert.deepEqual(await admin.admin.findJob(dead.jid), { where: 'dead', at: 1700000000.25, job: dead, raw: JSON.stringify(dead) });
      assert.equal(await admin.admin.findJob(newJid()), null);
      // Glob characters in a jid are taken literally.
      assert.equal(await admin.admin.findJob('*'), null);
    });
  } finally {
    held.release();
    await engine.stop();
  }
});

test('findJob scans large sets and queues in chunks', async () => {
  const multi = ctx.redis.multi();
  const members: string[] = [];
  for (let i = 0; i < 2500; i++) {
    const j = job({ args: [i] });
    members.push(j.jid);
    multi.zadd('dead', String(i), JSON.stringify(j));
    multi.lpush('queue:big', JSON.stringify(job({ queue: 'big', args: [i] })));
  }
  multi.sadd('queues', 'big');
  await multi.exec();
  const last = job({ queue: 'big' });
  await ctx.redis.rpush('queue:big', JSON.stringify(last)); // the far end of a 2,501-long list
  await withAdmin(async (admin) => {
    assert.equal((await admin.admin.findJob(members[2499]))?.where, 'dead');
    assert.equal((await admin.admin.findJob(last.jid))?.where, 'queue');
  });
});

test('retryNow moves a job from retry, schedule or dead to the end of its queue with enqueued_at; false when not there', async () => {
  const inRetry = job({ retry_count: 2, error_message: 'boom', failed_at: 1_700_000_001, custom_field: { kept: true } });
  const inSchedule = job({ queue: 'y' });
  const inDead = job({ retry_count: 26, error_class: 'Error' });
  await ctx.redis.zadd('retry', '2000000000', JSON.stringify(inRetry));
  await ctx.redis.zadd('schedule', '2000000000', JSON.stringify(inSchedule));
  await ctx.redis.zadd('dead', '1700000000', JSON.stringify(inDead));
  await ctx.redis.lpush('queue:x', JSON.stringify(job()));
  await withAdmin(async (admin) => {
    const before = Date.now() / 1000;
    assert.equal(await admin.admin.retryNow(inRetry.jid, 'dead'), false, 'not in that set');
    assert.equal(await admin.admin.retryNow(inRetry.jid, 'retry'), true);
    assert.equal(await admin.admin.retryNow(inRetry.jid, 'retry'), false, 'moved once');
    assert.equal(await ctx.redis.zcard('retry'), 0);
    const [moved] = await ctx.redis.lrange('queue:x', 0, 0);
    const payload = JSON.parse(moved) as JobPayload;
    assert.ok((payload.enqueued_at as number) >= before);
    assert.deepEqual({ ...payload, enqueued_at: undefined }, { ...inRetry, enqueued_at: undefined }, 'every other field is kept');
    assert.equal(await ctx.redis.llen('queue:x'), 2, 'pushed at the producer end, behind the waiting job');

    assert.equal(await admin.admin.retryNow(inSchedule.jid, 'schedule'), true);
    assert.equal(JSON.parse((await ctx.redis.lrange('queue:y', 0, -1))[0]).jid, inSchedule.jid);
    assert.equal(await admin.admin.retryNow(inDead.jid, 'dead'), true);
    assert.equal(await ctx.redis.llen('queue:x'), 3);
    assert.deepEqual((await ctx.redis.smembers('queues')).sort(), ['x', 'y']);
    assert.deepEqual([await ctx.redis.zcard('schedule'), await ctx.redis.zcard('dead')], [0, 0]);
  });
});

test('retryNow from dead: the job runs on a worker', async () => {
  const ran: unknown[] = [];
  const engine = await startEngine({ redis: ctx.server.url, queues: { x: 1 } }, { Thing: { perform: (args) => void ran.push(args) } });
  try {
    const dead = job({ args: ['again'], retry_count: 26, error_message: 'was dead' });
    await ctx.redis.zadd('dead', '1700000000', JSON.stringify(dead));
    assert.equal(await engine.admin.retryNow(dead.jid, 'dead'), true);
    await waitFor(() => ran.length === 1, 'retried job runs');
    assert.deepEqual(ran, [['again']]);
    await waitFor(async () => Number(await ctx.redis.get('stat:processed')) === 1, 'counted as processed');
    assert.equal(await ctx.redis.zcard('dead'), 0);
  } finally {
    await engine.stop();
  }
});

test('deleteJob removes exactly one job from each set and from a queue; clear empties each and counts', async () => {
  const sets = ['retry', 'schedule', 'dead'] as const;
  const seeded: Record<string, JobPayload[]> = {};
  for (const set of sets) {
    seeded[set] = [job(), job(), job()];
    for (const [i, j] of seeded[set].entries()) await ctx.redis.zadd(set, String(2_000_000_000 + i), JSON.stringify(j));
  }
  const queued = [job(), job(), job(), job()];
  for (const j of queued) await ctx.redis.lpush('queue:x', JSON.stringify(j));
  await ctx.redis.sadd('queues', 'x');
  await withAdmin(async (admin) => {
    for (const set of sets) {
      const [, middle] = seeded[set];
      assert.equal(await admin.flow.cancel(middle.jid, { from: set }), true);
      assert.equal(await admin.flow.cancel(middle.jid, { from: set }), false, 'already gone');
      assert.deepEqual((await ctx.redis.zrange(set, 0, '-1')).map((m) => JSON.parse(m).jid), [seeded[set][0].jid, seeded[set][2].jid]);
    }
    assert.equal(await admin.flow.cancel(queued[1].jid, { from: 'retry' }), false, 'not in that set');
    assert.equal(await admin.flow.cancel(queued[1].jid, { from: { queue: 'x' } }), true);
    assert.equal(await admin.flow.cancel(queued[1].jid, { from: { queue: 'x' } }), false);
    assert.deepEqual((await admin.admin.listJobs({ queue: 'x' })).jobs.map((entry) => entry.job?.jid), [queued[0].jid, queued[2].jid, queued[3].jid]);

    for (const set of sets) {
      assert.equal(await admin.admin.clear(set), 2);
      assert.equal(await ctx.redis.exists(set), 0);
      assert.equal(await admin.admin.clear(set), 0);
    }
    assert.equal(await admin.admin.clear({ queue: 'x' }), 3);
    assert.equal(await ctx.redis.llen('queue:x'), 0);
    assert.equal(await admin.admin.clear({ queue: 'x' }), 0);
    assert.deepEqual(await ctx.redis.smembers('queues'), ['x'], 'the queue itself stays known');
  });
});

test('race: the scheduler and retryNow moving the same due retry jobs enqueue each exactly once', async (t) => {
  const [a, b] = await Promise.all([
    startEngine({ redis: ctx.server.url, nodeId: 'race-a', queues: {}, pollInterval: 10 }),
    startEngine({ redis: ctx.server.url, nodeId: 'race-b', queues: {}, pollInterval: 10 }),
  ]);
  try {
    await withAdmin(async (admin) => {
      const moved = { retryNow: 0, schedulers: 0 };
      for (let round = 0; round < 10; round++) {
        await ctx.redis.del('queue:race');
        const jobs = Array.from({ length: 200 }, () => job({ queue: 'race' }));
        const multi = ctx.redis.multi();
        for (const j of jobs) multi.zadd('retry', String(Date.now() / 1000 - 1), JSON.stringify(j));
        await multi.exec();
        // Spread over several scheduler polls, so both sides win some of the jobs.
        const results = await Promise.all(jobs.map(async (j) => {
          await sleep(Math.random() * 40);
          return admin.admin.retryNow(j.jid, 'retry');
        }));
        await waitFor(async () => (await ctx.redis.zcard('retry')) === 0, 'retry drained');
        const queued = (await ctx.redis.lrange('queue:race', 0, -1)).map((m) => JSON.parse(m) as JobPayload);
        assert.equal(queued.length, 200, `round ${round}: no job enqueued twice, none lost`);
        assert.deepEqual(new Set(queued.map((j) => j.jid)), new Set(jobs.map((j) => j.jid)));
        const byRetryNow = results.filter(Boolean).length;
        moved.retryNow += byRetryNow;
        moved.schedulers += 200 - byRetryNow;
        t.diagnostic(`round ${round}: retryNow moved ${byRetryNow}, the schedulers ${200 - byRetryNow}`);
      }
      assert.ok(moved.retryNow > 0 && moved.schedulers > 0, `both sides moved jobs (${JSON.stringify(moved)}), so they did race`);
    });
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});

test('garbage members do not break listing, findJob, retryNow or deleteJob', async () => {
  const good = job();
  const hidden = newJid();
  const garbage = ['garbage{', '[1,2]', 'null', JSON.stringify({ class: 'X', args: [] }), `not json but mentions ${hidden}`, JSON.stringify({ class: 'X', args: 'no', jid: hidden })];
  const multi = ctx.redis.multi();
  // Scores in the future: no scheduler may move these while the test looks at them.
  garbage.forEach((member, i) => multi.zadd('retry', String(2_000_000_000 + i), member));
  multi.zadd('retry', '2000000100', JSON.stringify(good));
  // Another jid (its first character changed; 'f' when it was 'f' would be the same jid).
  const other = (good.jid[0] === 'f' ? '0' : 'f') + good.jid.slice(1);
  multi.lpush('queue:g', 'oops', JSON.stringify(job({ queue: 'g', jid: other })), '{"half":');
  multi.sadd('queues', 'g');
  await multi.exec();
  await withAdmin(async (admin) => {
    const page = await admin.admin.listJobs('retry');
    assert.equal(page.total, 7);
    assert.deepEqual(page.jobs.map((entry) => entry.raw), [...garbage, JSON.stringify(good)]);
    for (const entry of page.jobs.slice(0, garbage.length)) {
      assert.equal(entry.job, null);
      assert.equal(typeof entry.error, 'string');
    }
    assert.match(page.jobs[0].error ?? '', /not valid JSON/);
    assert.match(page.jobs[3].error ?? '', /"jid"/);
    assert.match(page.jobs[5].error ?? '', /"args"/);
    assert.deepEqual(page.jobs[6].job, good);

    const queue = await admin.admin.listJobs({ queue: 'g' });
    assert.equal(queue.total, 3);
    assert.deepEqual(queue.jobs.map((entry) => entry.job === null), [true, false, true]);

    assert.equal((await admin.admin.findJob(good.jid))?.where, 'retry');
    assert.equal(await admin.admin.findJob(hidden), null, 'text that only mentions a jid is not that job');
    assert.equal(await admin.admin.retryNow(hidden, 'retry'), false);
    assert.equal(await admin.flow.cancel(hidden, { from: 'retry' }), false);
    assert.equal(await ctx.redis.zcard('retry'), 7, 'nothing removed');
    assert.ok((await admin.admin.stats()).retries === 7);
    assert.equal(await admin.admin.clear('retry'), 7);
  });
});

test('bad input throws VerkValidationError naming the field and writes nothing', async () => {
  const kept = job();
  await ctx.redis.zadd('retry', '2000000000', JSON.stringify(kept));
  await ctx.redis.lpush('queue:x', JSON.stringify(kept));
  await withAdmin(async (admin) => {
    const cases: [string, () => Promise<unknown>][] = [
      ['where', () => admin.admin.clear('retries' as never)],
      ['where', () => admin.admin.clear(null as never)],
      ['where.queue', () => admin.admin.clear({ queue: '' })],
      ['where.queue', () => admin.admin.clear({ queue: 'has space' })],
      ['where', () => admin.admin.listJobs('queue' as never)],
      ['options.offset', () => admin.admin.listJobs('retry', { offset: -1 })],
      ['options.offset', () => admin.admin.listJobs('retry', { offset: 1.5 })],
      ['options.limit', () => admin.admin.listJobs('retry', { limit: 0 })],
      ['options.limit', () => admin.admin.listJobs('retry', { limit: 1001 })],
      ['options.limit', () => admin.admin.listJobs({ queue: 'x' }, { limit: '10' as never })],
      ['options', () => admin.admin.listJobs('retry', 5 as never)],
      ['jid', () => admin.admin.findJob('')],
      ['jid', () => admin.admin.findJob(undefined as never)],
      ['jid', () => admin.admin.retryNow('', 'retry')],
      ['from', () => admin.admin.retryNow(kept.jid, { queue: 'x' } as never)],
      ['from', () => admin.admin.retryNow(kept.jid, 'queue' as never)],
      ['jid', () => admin.flow.cancel('', { from: 'retry' })],
      ['from', () => admin.flow.cancel(kept.jid, { from: 'everything' as never })],
      ['from.queue', () => admin.flow.cancel(kept.jid, { from: { queue: 7 } as never })],
      ['options.days', () => admin.admin.stats({ days: 0 })],
      ['options.days', () => admin.admin.stats({ days: 367 })],
      ['name', () => admin.admin.queueStats('')],
      ['options.days', () => admin.admin.queueStats('x', { days: -1 })],
    ];
    for (const [field, call] of cases) {
      await assert.rejects(call, (error: unknown) => error instanceof VerkValidationError && error.field === field, `expected VerkValidationError on ${field}`);
    }
    assert.equal(await ctx.redis.zcard('retry'), 1);
    assert.equal(await ctx.redis.llen('queue:x'), 1);
  });
});

@Worker()
@Injectable()
class Noop {
  @Perform()
  perform(): void {}
}

test('VerkService exposes the management API', async () => {
  @Module({ imports: [VerkModule.forRoot({ redis: ctx.server.url, nodeId: 'nest-admin', queues: { default: 1 }, histograms: true })], providers: [Noop] })
  class AppModule {}
  const app = await NestFactory.createApplicationContext(AppModule, { logger: false, abortOnError: false });
  try {
    const verk = app.get(VerkService);
    await verk.enqueue({ queue: 'default', class: Noop });
    await waitFor(async () => (await verk.stats()).processed === 1, 'processed');
    const stats = await verk.stats({ days: 3 });
    assert.equal(stats.days.length, 3);
    assert.deepEqual(stats.nodes.map((node) => node.id), ['nest-admin']);
    assert.equal((await verk.queueStats('default')).processed, 1);
    assert.equal((await verk.queueStats('default', { date: new Date() })).histograms.run.count, 1);
    const dead = job({ queue: 'parked' });
    await ctx.redis.zadd('dead', '1', JSON.stringify(dead));
    assert.equal((await verk.listJobs('dead')).total, 1);
    assert.equal((await verk.findJob(dead.jid))?.where, 'dead');
    assert.equal(await verk.retryNow(dead.jid, 'dead'), true);
    assert.equal(await verk.deleteJob(dead.jid, { queue: 'parked' }), true);
    await ctx.redis.zadd('retry', '1e10', JSON.stringify(dead));
    assert.equal(await verk.clear('retry'), 1);
  } finally {
    await app.close();
  }
});
