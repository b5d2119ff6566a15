import 'reflect-metadata';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Perform, VerkModule, VerkService, Worker } from 'nestjs-verk';
import { type JobPayload, VerkConfigError, VerkRateLimitError, VerkValidationError } from '../../lib/engine';
import { resolveOptions } from '../../lib/engine/options';
import { useRedis } from '../helpers/engine';
import { Journal, jobs, maxInWindow, recording, START_LAG, StartLog, useNodes } from '../helpers/limits';
import { sleep, waitFor } from '../helpers/wait';
import { WorkerProcess } from '../helpers/worker-process';

const ctx = useRedis();
const { engines, nodes } = useNodes(() => ctx.server.url);

test('rateLimit { max: 10, duration: 1000 } on three nodes of concurrency 10: 50 jobs take >= 4 s, never more than 10 starts in any 1 s', async () => {
  const journal = new Journal();
  const log = new StartLog(ctx.redis, 'api');
  const list = await nodes(3, { queues: { api: { concurrency: 10, rateLimit: { max: 10, duration: 1000 } } } }, { Rec: recording(journal) });
  await list[0].client.enqueueMany(jobs(50, (i) => ({ args: [String(i)] })));
  await waitFor(() => journal.done === 50, '50 jobs done', 30_000);
  await log.stop();
  // The limit holds on Redis's clock, when the fetch takes the jobs: every start recorded there.
  assert.equal(log.times.length, 50, 'every start was recorded');
  assert.ok(maxInWindow(log.times, 1000) <= 10, `${maxInWindow(log.times, 1000)} starts within 1 s`);
  // A handler starts a moment after its fetch, by a lag that differs between nodes and grows
  // with the machine's load: from the handlers' start timestamps, the duration's lower bound.
  const times = journal.starts.map((start) => start.at);
  assert.ok(Math.max(...times) - Math.min(...times) >= 4000 - START_LAG, `50 jobs started within ${Math.max(...times) - Math.min(...times)} ms`);
  assert.ok(Math.max(...log.times) - Math.min(...log.times) >= 4000, 'four windows at least between the first and the last fetch');
});

test('globalConcurrency: 3 on three nodes of concurrency 10: never more than 3 running at once', async () => {
  const journal = new Journal();
  const list = await nodes(3, { queues: { api: { concurrency: 10, globalConcurrency: 3 } } }, { Rec: recording(journal) });
  await list[0].client.enqueueMany(jobs(30, (i) => ({ args: [String(i), 60] })));
  await waitFor(() => journal.done === 30, '30 jobs done', 30_000);
  assert.equal(journal.maxRunning, 3);
  await waitFor(async () => (await list[0].queueLimits('api')).running === 0, 'every slot given back');
});

test('VerkRateLimitError(500): the job runs again after >= 500 ms, counts no failure, and no other job of the queue starts in between', async () => {
  const journal = new Journal();
  let thrownAt = 0;
  // A rate limit no run reaches, so that Redis records every fetch's time (StartLog).
  const log = new StartLog(ctx.redis, 'api');
  const list = await nodes(2, { queues: { api: { concurrency: 2, rateLimit: { max: 100_000, duration: 1000 } } } }, {
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
  await waitFor(() => thrownAt > 0, 'the rate limit error');
  // Within the pause: the job waits at the head of the queue, untouched (in the prioritized set
  // at score -0.5: before the list, and out of sight of a BLMOVE on it).
  await sleep(100);
  const [head] = await ctx.redis.zrangebyscore('verk:queue:api:prioritized', '-inf', '(0', 'LIMIT', 0, 1);
  assert.match(String(head), /"class":"Limited"/);
  assert.doesNotMatch(String(head), /retry_count|error_class/);
  const pausedUntil = Number(await ctx.redis.hget('verk:limits:api', 'paused_until'));
  await waitFor(() => journal.starts.filter((start) => start.id === 'limited').length === 2, 'the limited job ran again', 15_000);
  const [first, again] = journal.starts.filter((start) => start.id === 'limited');
  assert.ok(again.at - first.at >= 500, `ran again after ${again.at - first.at} ms`);
  await waitFor(() => journal.done === 42, 'every job done');
  await log.stop();
  // On Redis's clock: no fetch took a job of the queue while it was paused.
  // Redis's clock has ms steps: a fetch in the very ms the pause began ran before it.
  const during = log.times.filter((at) => at > pausedUntil - 500 && at < pausedUntil);
  assert.deepEqual(during, [], 'nothing fetched during the pause');
  assert.equal(log.times.length, 42, 'every start recorded (the limited job twice)');
  const stats = await list[0].admin.stats();
  assert.equal(stats.failed, 0);
  assert.equal(await ctx.redis.zcard('retry'), 0);
});

test('globalConcurrency across a kill -9: the dead node holds its 3 slots until it is recovered, then they come back', async () => {
  const limits = { globalConcurrency: 3 };
  const child = await WorkerProcess.start({ REDIS_URL: ctx.server.url, NODE_ID: 'limits-doomed', CONCURRENCY: '10', HEARTBEAT: '500', JOB_MS: '60000', LIMITS: JSON.stringify(limits) });
  try {
    const producer = engines[0] ?? (await nodes(1, {}, {}))[0];
    await producer.client.enqueueMany(Array.from({ length: 6 }, (_, i) => ({ queue: 'default', class: 'Record', args: [`j${i}`] })));
    await waitFor(async () => (await ctx.redis.llen('test:started')) === 3, 'the doomed node runs 3 jobs');
    assert.equal((await producer.queueLimits('default')).running, 3);
    child.kill('SIGKILL');
    await child.exited;
    const journal = new Journal();
    const [survivor] = await nodes(1, { queues: { default: { concurrency: 10, ...limits } }, heartbeat: 300 }, { Record: recording(journal) });
    // Its slots are the dead node's until the heartbeat key expires and a node recovers it.
    await sleep(200);
    assert.equal(journal.starts.length, 0, 'nothing starts while the dead node holds every slot');
    await waitFor(() => journal.done === 6, 'all 6 jobs done after recovery', 20_000);
    assert.ok(journal.maxRunning <= 3, `${journal.maxRunning} running at once`);
    await waitFor(async () => (await survivor.queueLimits('default')).running === 0, 'every slot back');
    assert.equal(await ctx.redis.exists('verk:limits:default:held:limits-doomed'), 0);
  } finally {
    if (child.running) child.kill('SIGKILL');
  }
});

test('groups: tenant A enqueues 1,000 jobs, then tenant B 10: all of B start before A has started 100', async () => {
  const journal = new Journal();
  const [producer] = await nodes(1, {}, {});
  await producer.client.enqueueMany(jobs(1000, (i) => ({ args: [`a${i}`], group: 'A' })));
  await producer.client.enqueueMany(jobs(10, (i) => ({ args: [`b${i}`], group: 'B' })));
  const list = await nodes(1, { queues: { api: 5 } }, { Rec: recording(journal) });
  await waitFor(() => journal.done === 1010, 'every job done', 30_000);
  const order = journal.starts.map((start) => start.id);
  const a100 = order.indexOf('a99');
  for (let i = 0; i < 10; i++) assert.ok(order.indexOf(`b${i}`) < a100, `b${i} started at ${order.indexOf(`b${i}`)}, A's 100th at ${a100}`);
  // Within a group, FIFO.
  const aOrder = order.filter((id) => id.startsWith('a')).map((id) => Number(id.slice(1)));
  assert.deepEqual(aOrder, [...aOrder].sort((x, y) => x - y));
});

test('groups: per-group concurrency 2 holds across three nodes, and every group reaches it', async () => {
  const journal = new Journal();
  const list = await nodes(3, { queues: { api: { concurrency: 10, groups: { concurrency: 2 } } } }, { Rec: recording(journal) });
  await list[0].client.enqueueMany(jobs(60, (i) => ({ args: [String(i), 40], group: `g${i % 4}` })));
  await waitFor(() => journal.done === 60, '60 jobs done', 30_000);
  for (const [group, most] of journal.maxByGroup) assert.ok(most <= 2, `group ${group} ran ${most} at once`);
  assert.ok([...journal.maxByGroup.values()].some((most) => most === 2), 'the limit is reached');
  assert.ok(journal.maxRunning > 2, 'groups run side by side');
});

test('groups: per-group rate limit { max: 3, duration: 1000 } holds across two nodes, other groups unaffected', async () => {
  const journal = new Journal();
  const log = new StartLog(ctx.redis, 'api');
  const list = await nodes(2, { queues: { api: { concurrency: 10, groups: { rateLimit: { max: 3, duration: 1000 } } } } }, { Rec: recording(journal) });
  await list[0].client.enqueueMany(jobs(18, (i) => ({ args: [String(i)], group: i % 2 === 0 ? 'x' : 'y' })));
  await waitFor(() => journal.done === 18, '18 jobs done', 30_000);
  await log.stop();
  for (const group of ['x', 'y']) {
    const recorded = log.groupTimes(group);
    assert.equal(recorded.length, 9, `every start of group ${group} was recorded: ${JSON.stringify(recorded)}`);
    assert.ok(maxInWindow(recorded, 1000) <= 3, `group ${group}: ${maxInWindow(recorded, 1000)} starts within 1 s`);
    const times = journal.starts.filter((start) => start.group === group).map((start) => start.at);
    assert.ok(Math.max(...times) - Math.min(...times) >= 2000 - START_LAG, `group ${group}: 9 jobs within ${Math.max(...times) - Math.min(...times)} ms`);
  }
  // Both groups start in the first window: one group's limit does not hold the other back.
  const first = Math.min(...journal.starts.map((start) => start.at));
  assert.equal(journal.starts.filter((start) => start.at < first + 500).length, 6);
});

test('VerkRateLimitError(500, { group }): that group pauses on every node, the others go on', async () => {
  const journal = new Journal();
  let thrownAt = 0;
  // A per-group rate limit no run reaches, so that Redis records each group's start times.
  const log = new StartLog(ctx.redis, 'api');
  const list = await nodes(2, { queues: { api: { concurrency: 3, groups: { rateLimit: { max: 100_000, duration: 1000 } } } } }, {
    Rec: {
      perform: async (args: unknown[], job: JobPayload) => {
        const [id, ms] = args as [string, number];
        journal.begin(id, job.group);
        journal.end(job.group);
        if (id === 'x0' && thrownAt === 0) {
          thrownAt = Date.now();
          throw new VerkRateLimitError(500, { group: 'x' });
        }
        await sleep(ms);
      },
    },
  });
  // Group y has enough work to go on through x's pause (6 slots, 30 x 100 ms).
  await list[0].client.enqueueMany([...jobs(10, (i) => ({ args: [`x${i}`, 30], group: 'x' })), ...jobs(30, (i) => ({ args: [`y${i}`, 100], group: 'y' }))]);
  await waitFor(() => thrownAt > 0, 'the rate limit error');
  // Within the pause: x0 waits at the head of group x.
  await sleep(100);
  const [head] = await ctx.redis.zrangebylex('verk:queue:api:grouped', '[x\0', '(x\x01', 'LIMIT', 0, 1);
  assert.match(String(head), /"args":\["x0",30\]/);
  const pausedUntil = Number(await ctx.redis.hget('verk:limits:api:groups', 'p:x'));
  await waitFor(() => journal.starts.filter((start) => start.id === 'x0').length === 2, 'x0 ran again');
  const [first, again] = journal.starts.filter((start) => start.id === 'x0');
  assert.ok(again.at - first.at >= 500, `x0 ran again after ${again.at - first.at} ms`);
  await waitFor(() => journal.done === 41, 'every job done');
  await log.stop();
  // On Redis's clock: no x job was fetched during x's pause, y jobs were.
  // Redis's clock has ms steps: a fetch in the very ms the pause began ran before it.
  const inPause = (at: number) => at > pausedUntil - 500 && at < pausedUntil;
  assert.deepEqual(log.groupTimes('x').filter(inPause), [], `no job of group x starts while it is paused (until ${pausedUntil}): ${JSON.stringify(log.groupTimes('x'))}`);
  assert.ok(log.groupTimes('y').some(inPause), 'group y goes on meanwhile');
  assert.equal((await list[0].admin.stats()).failed, 0);
});

test('setQueueLimits at runtime takes effect on every node within one second, and queueStats shows it', async () => {
  const journal = new Journal();
  const list = await nodes(2, { queues: { api: 5 } }, { Rec: recording(journal) });
  await list[0].client.enqueueMany(jobs(400, (i) => ({ args: [String(i), 20] })));
  await waitFor(() => journal.done >= 20, 'unlimited jobs run');
  const limits = { rateLimit: { max: 5, duration: 1000 } };
  await list[1].setQueueLimits('api', limits);
  const setAt = Date.now();
  const log = new StartLog(ctx.redis, 'api');
  await sleep(3500);
  await log.stop();
  // Every node fetches under the limit from the change on: each start is in Redis's window.
  assert.ok(maxInWindow(log.times, 1000) <= 5, `${maxInWindow(log.times, 1000)} starts within 1 s after the change`);
  // Within one second every node obeys: no handler starts beyond the limit's pace after that.
  const times = journal.starts.filter((start) => start.at >= setAt + 1000).map((start) => start.at);
  assert.ok(times.length <= 5 * 3 + 5, `${times.length} starts in the 2.5 s after the first second`);
  assert.ok(times.length >= 5, 'jobs still run under the limit');
  assert.deepEqual((await list[0].admin.queueStats('api')).limits.limits, limits);
  // Lifted: full speed again.
  await list[0].setQueueLimits('api', {});
  const liftedAt = Date.now();
  await sleep(1500);
  assert.ok(journal.starts.filter((start) => start.at > liftedAt + 500).length > 10, 'faster once lifted');
  assert.deepEqual((await list[0].queueLimits('api')).limits, {});
});

test('bad limits are refused naming the field: options, setQueueLimits, a job group, VerkRateLimitError', async () => {
  assert.throws(() => resolveOptions({ nodeId: 'n', queues: { api: { concurrency: 0 } } }), (error: unknown) => error instanceof VerkConfigError && error.field === 'queues.api.concurrency');
  assert.throws(() => resolveOptions({ nodeId: 'n', queues: { api: { concurrency: 2, rateLimt: { max: 1, duration: 1 } } } }), (error: unknown) => error instanceof VerkConfigError && error.field === 'queues.api.rateLimt');
  assert.throws(() => resolveOptions({ nodeId: 'n', queues: { api: { concurrency: 2, groups: { rateLimit: { max: 1 } } } } }), (error: unknown) => error instanceof VerkConfigError && error.field === 'queues.api.groups.rateLimit.duration');
  const resolved = resolveOptions({ nodeId: 'n', queues: { plain: 3, api: { concurrency: 2, globalConcurrency: 4 } } });
  assert.deepEqual(resolved.queues, { plain: 3, api: 2 });
  assert.deepEqual(resolved.queueLimits, { api: { globalConcurrency: 4 } });
  const [node] = await nodes(1, {}, {});
  await assert.rejects(node.setQueueLimits('api', { rateLimit: { max: 0, duration: 1000 } }), (error: unknown) => error instanceof VerkValidationError && error.field === 'limits.rateLimit.max');
  await assert.rejects(node.setQueueLimits('api', { globalConcurrency: 1.5 }), (error: unknown) => error instanceof VerkValidationError && error.field === 'limits.globalConcurrency');
  assert.equal(await ctx.redis.exists('verk:limits:api'), 0, 'nothing written');
  await assert.rejects(node.client.enqueue({ queue: 'api', class: 'Rec', group: '' }), (error: unknown) => error instanceof VerkValidationError && error.field === 'job.group');
  await assert.rejects(node.client.enqueue({ queue: 'api', class: 'Rec', group: 42 as unknown as string }), (error: unknown) => error instanceof VerkValidationError && error.field === 'job.group');
  assert.throws(() => new VerkRateLimitError(-1), (error: unknown) => error instanceof VerkValidationError && error.field === 'retryAfterMs');
  assert.equal(await ctx.redis.llen('queue:api'), 0);
});

test('Nest: object-form queues, VerkService.setQueueLimits and queueLimits, a @Worker throwing VerkRateLimitError', async () => {
  const runs: number[] = [];
  @Worker('Limited')
  class LimitedWorker {
    @Perform() perform(): void {
      runs.push(Date.now());
      if (runs.length === 1) throw new VerkRateLimitError(300);
    }
  }
  @Module({ imports: [VerkModule.forRoot({ redis: ctx.server.url, nodeId: 'nest-limits', queues: { api: { concurrency: 2, globalConcurrency: 1 } } })], providers: [LimitedWorker] })
  class AppModule {}
  const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
  await app.init();
  try {
    const verk = app.get(VerkService);
    assert.deepEqual((await verk.queueLimits('api')).limits, { globalConcurrency: 1 });
    await verk.setQueueLimits('api', { globalConcurrency: 2, rateLimit: { max: 100, duration: 1000 } });
    assert.deepEqual((await verk.queueStats('api')).limits.limits, { globalConcurrency: 2, rateLimit: { max: 100, duration: 1000 } });
    await verk.enqueue({ queue: 'api', class: 'Limited' });
    await waitFor(() => runs.length === 2, 'the rate-limited job ran again');
    assert.ok(runs[1] - runs[0] >= 300, `again after ${runs[1] - runs[0]} ms`);
    assert.equal((await verk.stats()).failed, 0);
  } finally {
    await app.close();
  }
});

test('a queue without limits or groups pays nothing: its jobs never touch the limited fetch or its keys', async () => {
  const journal = new Journal();
  const list = await nodes(2, { queues: { api: 5, other: { concurrency: 2, globalConcurrency: 1 } } }, { Rec: recording(journal) });
  await list[0].client.enqueueMany(jobs(200, (i) => ({ args: [String(i)] })));
  await waitFor(() => journal.done === 200, 'every job done');
  assert.deepEqual(await ctx.redis.keys('verk:limits:api*'), [], 'no limits state for the plain queue');
  assert.deepEqual(await ctx.redis.keys('verk:queue:api:grouped'), []);
  assert.deepEqual((await list[0].queueLimits('api')).limits, {});
  // The limited queue next to it has its state.
  assert.equal(await ctx.redis.exists('verk:limits:other'), 1);
});
