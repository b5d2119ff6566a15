import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type JobPayload, type VerkEngine, VerkRateLimitError } from '../../lib/engine';
import { connect, startEngine, useRedis } from '../helpers/engine';
import { RedisServer } from '../helpers/redis-server';
import { Journal, jobs, recording, useNodes } from '../helpers/limits';
import { sleep, waitFor } from '../helpers/wait';
import { failOnce } from '../helpers/workers';

const ctx = useRedis();
const { nodes } = useNodes(() => ctx.server.url);

/** No slot left held anywhere: the running count is 0 and no node's held hash remains. */
async function slotsAllBack(queue: string): Promise<void> {
  await waitFor(async () => Number((await ctx.redis.hget(`verk:limits:${queue}`, 'running')) ?? 0) === 0, 'every slot given back');
  assert.deepEqual(await ctx.redis.keys(`verk:limits:${queue}:held:*`), []);
  const groupFields = Object.keys(await ctx.redis.hgetall(`verk:limits:${queue}:groups`)).filter((field) => field.startsWith('r:'));
  assert.deepEqual(groupFields, [], 'no group still counts a running job');
}

test('pause and resume: a paused limited queue starts nothing, resume starts it on every node', async () => {
  const journal = new Journal();
  const list = await nodes(2, { queues: { api: { concurrency: 5, globalConcurrency: 3 } } }, { Rec: recording(journal) });
  await list[0].pauseQueue('api');
  await sleep(100);
  await list[0].client.enqueueMany(jobs(10, (i) => ({ args: [String(i)], group: `g${i % 2}` })));
  await sleep(500);
  assert.equal(journal.starts.length, 0, 'nothing starts while paused');
  await list[1].resumeQueue('api');
  await waitFor(() => journal.done === 10, 'every job done after resume');
  await slotsAllBack('api');
});

test('priorities order the jobs within a group; the round-robin orders groups', async () => {
  const journal = new Journal();
  const [producer] = await nodes(1, {}, {});
  await producer.client.enqueueMany([
    ...jobs(3, (i) => ({ args: [`a${i}`], group: 'a' })),
    { queue: 'api', class: 'Rec', args: ['a-urgent'], group: 'a', priority: 10 },
    ...jobs(3, (i) => ({ args: [`b${i}`], group: 'b' })),
  ]);
  await nodes(1, { queues: { api: 1 } }, { Rec: recording(journal) });
  await waitFor(() => journal.done === 7, 'every job done');
  const order = journal.starts.map((start) => start.id);
  const ofA = order.filter((id) => id.startsWith('a'));
  assert.deepEqual(ofA, ['a-urgent', 'a0', 'a1', 'a2']);
  // Turns alternate between the two groups.
  const groups = journal.starts.map((start) => start.group);
  for (let i = 1; i < 6; i++) assert.notEqual(groups[i], groups[i - 1], `two turns in a row for group ${groups[i]}: ${order.join(' ')}`);
});

test('a grouped job keeps its group through a retry and a schedule; slots come back after failures', async () => {
  const journal = new Journal();
  const seen: { jid: string; group?: string; retry?: number }[] = [];
  const fail = failOnce('boom', 1);
  const [node] = await nodes(1, { queues: { api: { concurrency: 3, groups: { concurrency: 1 } } }, pollInterval: 100 }, {
    Flaky: {
      perform: (args: unknown[], job: JobPayload) => {
        seen.push({ jid: job.jid, group: job.group, retry: job.retry_count });
        return fail.perform(args, job);
      },
      retryAt: fail.retryAt,
    },
    Rec: recording(journal),
  });
  const jid = await node.client.enqueue({ queue: 'api', class: 'Flaky', group: 'tenant-1' });
  await node.client.schedule({ queue: 'api', class: 'Rec', args: ['later'], group: 'tenant-2' }, Date.now() + 500);
  await waitFor(() => seen.length === 2, 'the job ran again after its retry', 15_000);
  assert.deepEqual(seen.map((run) => run.group), ['tenant-1', 'tenant-1']);
  assert.equal(seen[1].jid, jid);
  await waitFor(() => journal.done === 1, 'the scheduled grouped job ran');
  assert.equal(journal.starts[0].group, 'tenant-2');
  await slotsAllBack('api');
});

test('batches, dependencies and unique jobs in a limited queue: the callback runs, the lock is freed, no slot is left', async () => {
  const journal = new Journal();
  const [node] = await nodes(2, { queues: { api: { concurrency: 4, globalConcurrency: 2 } }, pollInterval: 100 }, { Rec: recording(journal), Done: recording(journal) });
  const { callbackJid } = await node.client.batch(jobs(6, (i) => ({ args: [`m${i}`, 20], group: `g${i % 3}` })), { onComplete: { queue: 'api', class: 'Done', args: ['callback'] } });
  const first = await node.client.enqueue({ queue: 'api', class: 'Rec', args: ['first'], dependable: true });
  await node.client.enqueue({ queue: 'api', class: 'Rec', args: ['second'], dependsOn: [first] });
  await node.client.enqueue({ queue: 'api', class: 'Rec', args: ['unique', 50], unique: { ttl: 60_000 } });
  await waitFor(() => journal.starts.some((start) => start.id === 'callback') && journal.done === 10, 'the batch callback and every job ran', 20_000);
  assert.ok(callbackJid);
  assert.ok(journal.maxRunning <= 2, `${journal.maxRunning} running at once`);
  const order = journal.starts.map((start) => start.id);
  assert.ok(order.indexOf('first') < order.indexOf('second'), 'the dependent ran after its dependency');
  assert.deepEqual(await ctx.redis.keys('verk:unique:*'), [], 'the unique lock is freed');
  await slotsAllBack('api');
});

test('graceful shutdown gives back the slots of the jobs it puts back; another node then runs them', async () => {
  const journal = new Journal();
  const [first] = await nodes(1, { queues: { api: { concurrency: 3, globalConcurrency: 3 } }, shutdownTimeout: 100 }, { Rec: recording(journal) });
  await first.client.enqueueMany(jobs(3, (i) => ({ args: [`slow${i}`, 2000], group: 'g' })));
  await waitFor(() => journal.starts.length === 3, 'three running');
  assert.equal((await first.queueLimits('api')).running, 3);
  await first.stop();
  assert.equal((await ctx.redis.hget('verk:limits:api', 'running')) ?? '0', '0', 'the slots are back once the node stopped');
  assert.deepEqual(await ctx.redis.keys('verk:limits:api:held:*'), []);
  const again = new Journal();
  await nodes(1, { queues: { api: { concurrency: 3, globalConcurrency: 3 } } }, { Rec: recording(again) });
  await waitFor(() => again.starts.length === 3, 'the jobs put back run on the next node');
});

test('history and recurring jobs in a limited queue: events are recorded, ticks run within the limit', async () => {
  const journal = new Journal();
  const [node] = await nodes(1, { queues: { api: { concurrency: 2, rateLimit: { max: 50, duration: 1000 } } }, history: true }, { Rec: recording(journal) });
  const jid = await node.client.enqueue({ queue: 'api', class: 'Rec', args: ['tracked'], group: 'g' });
  await waitFor(async () => (await node.recorder.history(jid)).some((event) => event.event === 'finished'), 'the job finished in its history');
  await node.recurring.recur('limited-tick', { class: 'Rec', every: 1000, queue: 'api', args: ['tick'] });
  await waitFor(() => journal.starts.filter((start) => start.id === 'tick').length >= 1, 'a recurring tick ran', 15_000);
});

test('Redis (appendonly) restarted in the middle of 1,000 grouped jobs under globalConcurrency: all complete, no slot left, the limit held', async () => {
  const durable = await RedisServer.start({ appendonly: true });
  const inspect = connect(durable.url);
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown) => rejections.push(reason);
  process.on('unhandledRejection', onRejection);
  const journal = new Journal();
  const done = new Set<string>();
  const started: VerkEngine[] = [];
  try {
    for (const id of ['outage-a', 'outage-b']) {
      started.push(
        await startEngine({ redis: durable.url, nodeId: id, queues: { api: { concurrency: 10, globalConcurrency: 8, groups: { concurrency: 3 } } }, pollInterval: 100 }, {
          Rec: {
            async perform(args: unknown[], job: JobPayload) {
              journal.begin(String(args[0]), job.group);
              await sleep(2);
              done.add(String(args[0]));
              journal.end(job.group);
            },
          },
        }),
      );
    }
    await started[0].client.enqueueMany(jobs(1000, (i) => ({ args: [`j${i}`], group: `g${i % 7}` })));
    await waitFor(() => done.size >= 200, '200 jobs done');
    await durable.stop();
    await sleep(1000);
    await durable.restart();
    await waitFor(() => done.size === 1000, 'all 1,000 jobs done after Redis returned', 60_000);
    assert.ok(journal.maxRunning <= 8, `${journal.maxRunning} running at once`);
    for (const [group, most] of journal.maxByGroup) assert.ok(most <= 3, `group ${group} ran ${most} at once`);
    await waitFor(async () => Number((await inspect.hget('verk:limits:api', 'running')) ?? 0) === 0, 'every slot given back');
    assert.deepEqual(await inspect.keys('verk:limits:api:held:*'), []);
    assert.equal(await inspect.zcard('verk:queue:api:grouped'), 0);
    assert.equal(await inspect.zcard('retry'), 0);
    assert.deepEqual(rejections, [], 'no unhandled rejection');
  } finally {
    process.off('unhandledRejection', onRejection);
    await Promise.all(started.map((engine) => engine.stop()));
    inspect.disconnect();
    await durable.cleanup();
  }
});

test('stats() and queueStats() count grouped jobs waiting in their groups in the queue size', async () => {
  const [producer] = await nodes(1, {}, {});
  await producer.client.enqueueMany(jobs(12, (i) => ({ args: [String(i)], group: `g${i % 3}` })));
  await producer.setQueueLimits('api', { globalConcurrency: 1 });
  const journal = new Journal();
  // One slot: one job runs (its handler blocks), the fetch took the other 11 into their groups.
  let finish: () => void = () => undefined;
  const blocked = new Promise<void>((resolve) => (finish = resolve));
  await nodes(1, { queues: { api: 2 } }, { Rec: { perform: async (args: unknown[], job: JobPayload) => { journal.begin(String(args[0]), job.group); await blocked; journal.end(job.group); } } });
  await waitFor(() => journal.starts.length === 1, 'one job runs');
  const stats = await producer.admin.queueStats('api');
  assert.equal(await ctx.redis.llen('queue:api'), 0, 'the list is empty');
  assert.equal(stats.limits.grouped, 11);
  assert.equal(stats.size, 11);
  assert.equal(stats.limits.groups, 3);
  assert.equal((await producer.admin.stats()).queues.find((queue) => queue.name === 'api')?.size, 11);
  finish();
  await waitFor(() => journal.done === 12, 'every job done');
});

test('VerkRateLimitError in a queue without limits: every node switches to the limited fetch and obeys the pause', async () => {
  const runs: number[] = [];
  const journal = new Journal();
  const list = await nodes(2, { queues: { plain: 2 } }, {
    Limited: {
      perform: () => {
        runs.push(Date.now());
        if (runs.length === 1) throw new VerkRateLimitError(600);
      },
    },
    Rec: recording(journal),
  });
  await list[0].client.enqueue({ queue: 'plain', class: 'Limited' });
  await waitFor(() => runs.length === 2, 'the job ran again');
  assert.ok(runs[1] - runs[0] >= 600, `again after ${runs[1] - runs[0]} ms`);
  assert.equal((await list[0].admin.stats()).failed, 0);
  assert.equal(await ctx.redis.exists('verk:limits:plain'), 1, 'the queue has a limits hash now');
  // Both nodes fetch it with limits from now on: a second pause holds jobs enqueued meanwhile.
  await ctx.redis.hset('verk:limits:plain', 'paused_until', Date.now() + 700);
  const enqueuedAt = Date.now();
  await list[1].client.enqueueMany(Array.from({ length: 6 }, (_, i) => ({ queue: 'plain', class: 'Rec', args: [String(i)] })));
  await waitFor(() => journal.done === 6, 'the jobs ran after the pause');
  assert.ok(Math.min(...journal.starts.map((start) => start.at)) >= enqueuedAt + 600, 'no job started during the pause, on either node');
});

test("a grouped job's bytes survive the way through its group: a foreign payload keeps 9007199254740993 and 1.0", async () => {
  const raw = '{"class":"Fails","args":[9007199254740993,1.0,"\\u00e9"],"jid":"0123456789abcdef01234567","queue":"api","retry":true,"group":"acct-1","extra":{"kept":true}}';
  await ctx.redis.hset('verk:limits:api', 'grouped', 1);
  await ctx.redis.lpush('queue:api', raw);
  const [node] = await nodes(1, { queues: { api: 1 } }, { Fails: failOnce('boom', 3600) });
  await waitFor(async () => (await ctx.redis.zcard('retry')) === 1, 'the job failed into retry');
  const [stored] = await ctx.redis.zrange('retry', 0, '0');
  assert.ok(stored.startsWith(raw.slice(0, -1)), `the stored text starts with the original bytes: ${stored}`);
  assert.match(stored, /"retry_count":1/);
  assert.equal((await node.admin.stats()).failed, 1);
});
