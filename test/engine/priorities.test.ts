import 'reflect-metadata';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Injectable, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Perform, VerkModule, VerkService, Worker } from 'nestjs-verk';
import { type EnqueueJob, type JobPayload, newJid, VerkEngine, VerkValidationError } from '../../lib/engine';
import { Keys } from '../../lib/engine/redis/keys';
import { defineScripts } from '../../lib/engine/redis/scripts';
import { VerkScripts } from '../../lib/engine/redis/verk-scripts';
import { connect, MemoryLogger, startEngine, useRedis } from '../helpers/engine';
import { sleep, waitFor } from '../helpers/wait';

const ctx = useRedis();
const STEP = 2 ** 42;

/** A small seeded generator (mulberry32), so a failing order can be reproduced. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random priorities with many ties: 0, small positives and negatives, and the extremes. */
function priorities(count: number, seed: number): number[] {
  const next = random(seed);
  const choices = [0, 0, 0, 1, 2, 3, 5, 10, -1, -2, -7, 1000, -1000];
  return Array.from({ length: count }, () => choices[Math.floor(next() * choices.length)]);
}

/** Indices in the order they must run: priority descending, enqueue order within a priority. */
function expectedOrder(values: number[]): number[] {
  return values.map((priority, index) => ({ priority, index })).sort((a, b) => b.priority - a.priority || a.index - b.index).map(({ index }) => index);
}

/** An engine that is never started: its enqueue client and admin only. */
async function withProducer(fn: (engine: VerkEngine) => Promise<void>, prefix?: string): Promise<void> {
  const engine = new VerkEngine({ redis: ctx.server.url, nodeId: 'producer', ...(prefix ? { prefix } : {}) }, { logger: new MemoryLogger() });
  try {
    await fn(engine);
  } finally {
    await engine.stop();
  }
}

/** Runs every job of `queue` on one worker with concurrency 1 and returns their first args in run order. */
async function runAll(queue: string, count: number): Promise<number[]> {
  const order: number[] = [];
  const engine = await startEngine({ redis: ctx.server.url, nodeId: 'runner', queues: { [queue]: 1 } }, { Rec: { perform: (args) => void order.push(args[0] as number) } });
  try {
    await waitFor(() => order.length >= count, `${count} jobs run`, 60_000);
  } finally {
    await engine.stop();
  }
  return order;
}

test('1,000 jobs with random priorities come out in priority order, FIFO within a priority (one worker, concurrency 1)', async () => {
  const values = priorities(1000, 42);
  assert.ok(new Set(values).size >= 10 && values.includes(0) && values.some((p) => p < 0), 'the mix has plain jobs, negatives and ties');
  await withProducer(async (producer) => {
    for (let i = 0; i < values.length; i++) {
      await producer.client.enqueue({ queue: 'mixed', class: 'Rec', args: [i], ...(values[i] !== 0 || i % 2 ? { priority: values[i] } : {}) });
    }
  });
  const plain = values.filter((p) => p === 0).length;
  assert.equal(await ctx.redis.llen('queue:mixed'), plain, 'plain jobs (priority 0 or none) in the list');
  assert.equal(await ctx.redis.zcard('verk:queue:mixed:prioritized'), 1000 - plain, 'the others in the sorted set');

  const order = await runAll('mixed', 1000);
  assert.deepEqual(order, expectedOrder(values));
  assert.equal(await ctx.redis.exists('queue:mixed', 'verk:queue:mixed:prioritized', 'inprogress:mixed:runner'), 0, 'nothing left behind');
});

test('enqueueMany with mixed priorities: the same order, FIFO across calls, one round trip per call', async () => {
  const values = priorities(600, 7);
  await withProducer(async (producer) => {
    for (let start = 0; start < values.length; start += 200) {
      const jobs: EnqueueJob[] = values.slice(start, start + 200).map((priority, k) => ({ queue: 'bulk', class: 'Rec', args: [start + k], priority }));
      // Another queue in the same call stays apart.
      jobs.push({ queue: 'other', class: 'Rec', args: [-1], priority: 3 }, { queue: 'other', class: 'Rec', args: [-2] });
      const jids = await producer.client.enqueueMany(jobs);
      assert.equal(jids.length, jobs.length);
    }
  });
  assert.deepEqual((await ctx.redis.smembers('queues')).sort(), ['bulk', 'other']);
  assert.equal(await ctx.redis.zcard('verk:queue:other:prioritized'), 3);
  assert.equal(await ctx.redis.llen('queue:other'), 3);
  assert.deepEqual(await runAll('bulk', values.length), expectedOrder(values));
});

test('an invalid priority throws naming the field and writes nothing', async () => {
  await withProducer(async (producer) => {
    for (const priority of [1.5, 1001, -1001, 'high', Number.NaN, null, Infinity]) {
      const job = { queue: 'q', class: 'Rec', priority } as unknown as EnqueueJob;
      await assert.rejects(producer.client.enqueue(job), (error: unknown) => error instanceof VerkValidationError && error.field === 'job.priority' && /integer from -1000 to 1000/.test(error.message));
      await assert.rejects(producer.client.schedule(job, Date.now() + 60_000), (error: unknown) => error instanceof VerkValidationError && error.field === 'job.priority');
      const many = [{ queue: 'q', class: 'Rec', priority: 1 }, { queue: 'q', class: 'Rec' }, { queue: 'q', class: 'Rec', priority: -1 }, job];
      await assert.rejects(producer.client.enqueueMany(many), (error: unknown) => error instanceof VerkValidationError && error.field === 'jobs[3].priority');
    }
    // The limits themselves are fine.
    await producer.client.enqueueMany([
      { queue: 'q', class: 'Rec', priority: 1000 },
      { queue: 'q', class: 'Rec', priority: -1000 },
    ]);
  });
  assert.deepEqual((await ctx.redis.zrange('verk:queue:q:prioritized', 0, '-1', 'WITHSCORES')).filter((_, i) => i % 2 === 1).map(Number), [-1000 * STEP + 1, 1000 * STEP + 2]);
  assert.deepEqual((await ctx.redis.keys('*')).sort(), ['queues', 'verk:queue:q:prioritized', 'verk:queue:q:priority_seq'], 'only the valid call wrote');
});

test('a plain job is stored exactly as before (no priority field, no new key), and a raw Sidekiq job runs between priorities', async () => {
  await withProducer(async (producer) => {
    const jid = newJid();
    await producer.client.enqueue({ queue: 'plain', class: 'Rec', args: [1, 'a'], jid, priority: 0 });
    await producer.client.enqueue({ queue: 'plain', class: 'Rec', args: [2], retry: 3 });
    const stored = await ctx.redis.lrange('queue:plain', 0, -1);
    const first = JSON.parse(stored[1]) as JobPayload;
    assert.deepEqual(Object.keys(first), ['class', 'args', 'jid', 'queue', 'retry', 'created_at', 'enqueued_at']);
    assert.equal(stored[1], JSON.stringify({ class: 'Rec', args: [1, 'a'], jid, queue: 'plain', retry: true, created_at: first.created_at, enqueued_at: first.enqueued_at }));
    assert.ok(!stored[0].includes('priority'));
    assert.deepEqual((await ctx.redis.keys('*')).sort(), ['queue:plain', 'queues']);
  });
  await ctx.redis.flushall();

  // A job exactly as Sidekiq's client pushes it, between prioritized jobs.
  await withProducer(async (producer) => {
    await producer.client.enqueue({ queue: 'compat', class: 'Rec', args: [3], priority: -1 });
    await ctx.redis.sadd('queues', 'compat');
    await ctx.redis.lpush('queue:compat', JSON.stringify({ class: 'Rec', args: [2], retry: true, queue: 'compat', jid: newJid(), created_at: 1_700_000_000.5, enqueued_at: 1_700_000_000.5 }));
    await producer.client.enqueue({ queue: 'compat', class: 'Rec', args: [1], priority: 1 });
  });
  assert.deepEqual(await runAll('compat', 3), [1, 2, 3]);
});

test('a prioritized job into an idle queue starts in under 1 s with pollInterval 5 s, again and again', async () => {
  const started = new Map<number, number>();
  const engine = await startEngine({ redis: ctx.server.url, queues: { idle: 2 }, pollInterval: 5000 }, { Rec: { perform: (args) => void started.set(args[0] as number, Date.now()) } });
  try {
    const blocked = async () => (String(await ctx.redis.call('CLIENT', 'LIST')) as string).split('\n').some((line) => line.includes(' name=verk:test-node:queue:idle ') && line.includes('cmd=blmove'));
    for (let i = 0; i < 12; i++) {
      await waitFor(blocked, 'the manager waits in BLMOVE');
      if (i % 3 === 2) await sleep(50);
      const at = Date.now();
      await engine.client.enqueue({ queue: 'idle', class: 'Rec', args: [i], priority: i % 2 ? -5 : 5 });
      await waitFor(() => started.has(i), `job ${i} started`, 5000, 5);
      const took = (started.get(i) as number) - at;
      assert.ok(took < 1000, `job ${i} started after ${took} ms`);
    }
    // Several at once, into an idle queue: all run.
    await waitFor(blocked, 'the manager waits in BLMOVE');
    await engine.client.enqueueMany([10, 11, 12].map((n) => ({ queue: 'idle', class: 'Rec', args: [100 + n], priority: n })));
    await waitFor(() => [110, 111, 112].every((n) => started.has(n)), 'the batch started', 1000, 5);
  } finally {
    await engine.stop();
  }
});

test('the fetch script takes priority > 0, then the list (FIFO), then priority < 0, in one call', async () => {
  await withProducer(async (producer) => {
    const jobs: EnqueueJob[] = [
      { queue: 'f', class: 'Rec', args: ['low-1'], priority: -1 },
      { queue: 'f', class: 'Rec', args: ['plain-1'] },
      { queue: 'f', class: 'Rec', args: ['high-1'], priority: 1 },
      { queue: 'f', class: 'Rec', args: ['plain-2'] },
      { queue: 'f', class: 'Rec', args: ['high-9'], priority: 9 },
      { queue: 'f', class: 'Rec', args: ['low-2'], priority: -1 },
      { queue: 'f', class: 'Rec', args: ['high-1b'], priority: 1 },
    ];
    await producer.client.enqueueMany(jobs);
  });
  const redis = connect(ctx.server.url);
  defineScripts(redis);
  try {
    const fetch = (count: number) => new VerkScripts(redis, new Keys()).fetchJobs({ queue: 'f', nodeId: 'n1', count });
    const names = (jobs: string[] | null) => (jobs ?? []).map((raw) => (JSON.parse(raw) as JobPayload).args[0]);
    assert.deepEqual(names(await fetch(2)), ['high-9', 'high-1']);
    assert.deepEqual(names(await fetch(4)), ['high-1b', 'plain-1', 'plain-2', 'low-1']);
    assert.deepEqual(names(await fetch(10)), ['low-2']);
    assert.deepEqual(await fetch(10), []);
    // In-progress holds all of them, the first to start deepest (rightmost).
    assert.deepEqual(names((await redis.lrange('inprogress:f:n1', 0, -1)).reverse()), ['high-9', 'high-1', 'high-1b', 'plain-1', 'plain-2', 'low-1', 'low-2']);
    assert.equal(await redis.exists('verk:queue:f:prioritized', 'queue:f'), 0);
  } finally {
    redis.disconnect();
  }
});

test('setPriority moves a waiting job (list <-> sorted set), is false for an unknown or running jid, and admin views follow', async () => {
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  const ran: string[] = [];
  await withProducer(async (producer) => {
    const admin = producer.admin;
    const [a, b, c] = await producer.client.enqueueMany(['A', 'B', 'C'].map((name) => ({ queue: 'p', class: 'Rec', args: [name] })));
    const p = await producer.client.enqueue({ queue: 'p', class: 'Rec', args: ['P'], priority: 5 });
    const listed = async () => (await admin.listJobs({ queue: 'p' }, { limit: 100 })).jobs.map((entry) => entry.job?.args[0]);
    assert.deepEqual(await listed(), ['P', 'A', 'B', 'C']);

    assert.equal(await admin.setPriority(c, 10), true);
    assert.deepEqual(await listed(), ['C', 'P', 'A', 'B'], 'C jumps ahead');
    assert.equal(await admin.setPriority(p, 0, 'p'), true);
    assert.deepEqual(await listed(), ['C', 'A', 'B', 'P'], 'P becomes plain, behind the plain jobs waiting');
    const plainP = (await ctx.redis.lrange('queue:p', 0, 0))[0];
    assert.ok(!plainP.includes('priority'), 'stored as a plain job again');
    assert.equal(await admin.setPriority(a, -3), true);
    assert.deepEqual(await listed(), ['C', 'B', 'P', 'A']);
    assert.equal(await admin.setPriority(c, 10), true, 'same priority: true');
    assert.equal(await admin.setPriority(b, 0), true, 'a plain job set to 0 stays');
    assert.deepEqual(await listed(), ['C', 'B', 'P', 'A'], 'nothing moved');
    assert.equal(((await admin.findJob(a)) as { job: JobPayload }).job.priority, -3);

    assert.equal(await admin.setPriority(newJid(), 1), false, 'unknown jid');
    assert.equal(await admin.setPriority(b, 1, 'other-queue'), false, 'not in that queue');
    await assert.rejects(admin.setPriority(b, 1.5), (error: unknown) => error instanceof VerkValidationError && error.field === 'priority');
    await assert.rejects(admin.setPriority(b, 2000), (error: unknown) => error instanceof VerkValidationError && error.field === 'priority');
    await assert.rejects(admin.setPriority('', 1), (error: unknown) => error instanceof VerkValidationError && error.field === 'jid');

    // The runner takes C first and holds it: a running job cannot be reprioritised.
    const engine = await startEngine({ redis: ctx.server.url, nodeId: 'runner', queues: { p: 1 } }, {
      Rec: {
        async perform(args) {
          ran.push(args[0] as string);
          if (args[0] === 'C') await held;
        },
      },
    });
    try {
      await waitFor(() => ran.length === 1, 'C running');
      assert.equal(await admin.setPriority(c, 1), false, 'running');
      assert.equal(await admin.setPriority(a, 1000), true, 'A moves ahead of B while C runs');
      release();
      await waitFor(() => ran.length === 4, 'all ran');
    } finally {
      await engine.stop();
    }
  });
  assert.deepEqual(ran, ['C', 'A', 'B', 'P']);
});

test('admin: listJobs pages across the three parts of a queue, findJob, deleteJob, clear and sizes cover prioritized jobs', async () => {
  await withProducer(async (producer) => {
    const admin = producer.admin;
    const spec = [0, 3, -2, 0, 3, 7, -2, 5, -9, 1, 0];
    const jids = await producer.client.enqueueMany(spec.map((priority, i) => ({ queue: 'adm', class: 'Rec', args: [i], priority })));
    const order = expectedOrder(spec);
    const full = (await admin.listJobs({ queue: 'adm' }, { limit: 1000 })).jobs.map((entry) => entry.job?.args[0]);
    assert.deepEqual(full, order);
    for (let offset = 0; offset <= spec.length + 1; offset++) {
      for (const limit of [1, 2, 3, 5]) {
        const page = await admin.listJobs({ queue: 'adm' }, { offset, limit });
        assert.equal(page.total, spec.length);
        assert.deepEqual(
          page.jobs.map((entry) => entry.job?.args[0]),
          order.slice(offset, offset + limit),
          `offset ${offset} limit ${limit}`,
        );
      }
    }
    assert.equal((await admin.queueStats('adm')).size, spec.length);
    const stats = await admin.stats();
    assert.equal(stats.enqueued, spec.length);
    assert.deepEqual(
      stats.queues.map((queue) => [queue.name, queue.size]),
      [['adm', spec.length]],
    );

    const found = await admin.findJob(jids[5]);
    assert.ok(found && found.where === 'queue' && found.queue === 'adm' && found.job.priority === 7);
    assert.equal(await producer.flow.cancel(jids[5], { from: { queue: 'adm' } }), true);
    assert.equal(await producer.flow.cancel(jids[5], { from: { queue: 'adm' } }), false);
    assert.equal(await producer.flow.cancel(jids[0], { from: { queue: 'adm' } }), true, 'a plain one');
    assert.equal(await admin.findJob(jids[5]), null);
    assert.equal(await admin.clear({ queue: 'adm' }), spec.length - 2);
    assert.equal(await ctx.redis.exists('queue:adm', 'verk:queue:adm:prioritized'), 0);
  });
});

test('a prioritized job goes back to the sorted set with its priority: shutdown requeue (head of its priority), restart recovery, schedule, retry, retryNow', async () => {
  // Shutdown: X runs past shutdownTimeout; it goes back ahead of Y (same priority, waiting).
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  let started = false;
  const engine = await startEngine({ redis: ctx.server.url, queues: { s: 1 }, shutdownTimeout: 300 }, {
    Hold: {
      async perform() {
        started = true;
        await held;
      },
    },
  });
  const x = await engine.client.enqueue({ queue: 's', class: 'Hold', args: ['X'], priority: 7 });
  await waitFor(() => started, 'X running');
  const y = await engine.client.enqueue({ queue: 's', class: 'Hold', args: ['Y'], priority: 7 });
  await engine.stop();
  release();
  const members = await ctx.redis.zrange('verk:queue:s:prioritized', 0, '-1', 'WITHSCORES');
  assert.equal(members.length, 4);
  assert.equal((JSON.parse(members[0]) as JobPayload).jid, x);
  assert.equal(Number(members[1]), -7 * STEP, 'X at the head of priority 7 (sequence 0)');
  assert.equal((JSON.parse(members[2]) as JobPayload).jid, y);
  assert.ok(Number(members[3]) > -7 * STEP && Number(members[3]) < -6 * STEP);
  assert.equal(await ctx.redis.llen('queue:s'), 0);
  assert.equal(await ctx.redis.llen('inprogress:s:test-node'), 0);
  await ctx.redis.flushall();

  // A node restarting after a crash takes its own leftovers back: to the sorted set.
  const leftover = { class: 'Rec', args: [], jid: newJid(), queue: 'r', retry: true, priority: -4 };
  await ctx.redis.multi().sadd('verk_nodes', 'test-node').sadd('verk:node:test-node:queues', 'r').lpush('inprogress:r:test-node', JSON.stringify(leftover)).exec();
  const restarted = await startEngine({ redis: ctx.server.url, queues: {}, pollInterval: 50 });
  try {
    const [member, score] = await ctx.redis.zrange('verk:queue:r:prioritized', 0, '-1', 'WITHSCORES');
    assert.deepEqual(JSON.parse(member), { ...leftover, recovery_count: 1 });
    assert.equal(Number(score), 4 * STEP);
    assert.equal(await ctx.redis.llen('queue:r'), 0);

    // Due scheduled and retried jobs (and a scheduled plain one) land where they belong.
    const scheduled = await restarted.client.schedule({ queue: 'due', class: 'Rec', args: ['s'], priority: 3 }, Date.now() + 200);
    assert.equal(JSON.parse((await ctx.redis.zrange('schedule', 0, '-1'))[0]).priority, 3, 'stored in schedule with its priority');
    await restarted.client.schedule({ queue: 'due', class: 'Rec', args: ['plain'] }, Date.now() + 200);
    const retried = { class: 'Rec', args: ['r'], jid: newJid(), queue: 'due', retry: true, priority: -2, retry_count: 1, error_message: 'x', failed_at: 1_700_000_000 };
    await ctx.redis.zadd('retry', String(Date.now() / 1000), JSON.stringify(retried));
    await waitFor(async () => (await ctx.redis.zcard('verk:queue:due:prioritized')) === 2 && (await ctx.redis.llen('queue:due')) === 1, 'due jobs moved');
    const due = await ctx.redis.zrange('verk:queue:due:prioritized', 0, '-1', 'WITHSCORES');
    const byJid = new Map([0, 2].map((i) => [(JSON.parse(due[i]) as JobPayload).jid, { job: JSON.parse(due[i]) as JobPayload, score: Number(due[i + 1]) }]));
    assert.equal(byJid.get(scheduled)?.job.priority, 3);
    assert.ok((byJid.get(scheduled)?.score as number) < -2 * STEP);
    assert.ok(typeof byJid.get(scheduled)?.job.enqueued_at === 'number');
    assert.deepEqual(byJid.get(retried.jid)?.job, { ...retried, enqueued_at: byJid.get(retried.jid)?.job.enqueued_at });
    assert.ok((byJid.get(retried.jid)?.score as number) > 2 * STEP);
    assert.deepEqual(await ctx.redis.smembers('queues'), ['due']);

    // retryNow from dead.
    const dead = { class: 'Rec', args: ['d'], jid: newJid(), queue: 'due', retry: true, priority: 1000 };
    await ctx.redis.zadd('dead', '1700000000', JSON.stringify(dead));
    assert.equal(await restarted.admin.retryNow(dead.jid, 'dead'), true);
    const [first] = await ctx.redis.zrange('verk:queue:due:prioritized', 0, '0');
    assert.equal((JSON.parse(first) as JobPayload).jid, dead.jid, 'priority 1000 is first');
  } finally {
    await restarted.stop();
  }
});

test('keys respect the prefix, and VerkService.setPriority works inside Nest', async () => {
  await withProducer(async (producer) => {
    await producer.client.enqueue({ queue: 'q', class: 'Rec', priority: 2 });
  }, 'app:');
  assert.deepEqual((await ctx.redis.keys('*')).sort(), ['app:queues', 'app:verk:queue:q:prioritized', 'app:verk:queue:q:priority_seq']);
  await ctx.redis.flushall();

  const ran: string[] = [];
  @Worker()
  @Injectable()
  class Ordered {
    @Perform()
    perform(name: string): void {
      ran.push(name);
    }
  }
  @Module({ imports: [VerkModule.forRoot({ redis: ctx.server.url, nodeId: 'nest-prio', queues: {} })], providers: [Ordered] })
  class AppModule {}
  const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
  try {
    const verk = app.get(VerkService);
    await verk.enqueue({ queue: 'n', class: Ordered, args: ['plain'] });
    await verk.enqueue({ queue: 'n', class: Ordered, args: ['low'], priority: -1 });
    const late = await verk.enqueue({ queue: 'n', class: Ordered, args: ['late'] });
    assert.equal(await verk.setPriority(late, 50, 'n'), true);
    await verk.addQueue('n', 1);
    await waitFor(() => ran.length === 3, 'three ran');
    assert.deepEqual(ran, ['late', 'plain', 'low']);
  } finally {
    await app.close();
  }
});
