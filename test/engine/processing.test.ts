import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { RedisServer } from '../helpers/redis-server';
import { connect, startEngine } from '../helpers/engine';
import { sleep, waitFor } from '../helpers/wait';

let server: RedisServer;
before(async () => {
  server = await RedisServer.start();
});
after(async () => {
  await server.cleanup();
});

test('1,000 jobs over two queues run exactly once, never above each queue\'s concurrency', async () => {
  const redis = connect(server.url);
  const concurrency: Record<string, number> = { default: 10, priority: 5 };
  const active: Record<string, number> = { default: 0, priority: 0 };
  const peak: Record<string, number> = { default: 0, priority: 0 };
  const runs = new Map<string, number>();
  const engine = await startEngine(
    { redis: server.url, queues: concurrency },
    {
      Track: {
        async perform(args, job) {
          const queue = job.queue;
          active[queue]++;
          peak[queue] = Math.max(peak[queue], active[queue]);
          runs.set(String(args[0]), (runs.get(String(args[0])) ?? 0) + 1);
          await sleep(1 + Math.random() * 4);
          active[queue]--;
        },
      },
    },
  );
  try {
    const jobs = Array.from({ length: 1000 }, (_, i) => ({ queue: i % 2 === 0 ? 'default' : 'priority', class: 'Track', args: [`job-${i}`] }));
    await engine.client.enqueueMany(jobs);
    await waitFor(async () => Number(await redis.get('stat:processed')) === 1000, 'all 1,000 jobs processed', 60_000);

    assert.equal(runs.size, 1000, 'every job ran');
    for (const [id, count] of runs) assert.equal(count, 1, `${id} ran ${count} times`);
    assert.equal(peak.default, 10, 'default reached and never exceeded its concurrency');
    assert.equal(peak.priority, 5, 'priority reached and never exceeded its concurrency');
    assert.equal(await redis.llen('queue:default'), 0);
    assert.equal(await redis.llen('queue:priority'), 0);
    await sleep(50);
    assert.equal(await redis.llen('inprogress:default:test-node'), 0, 'in-progress emptied');
    assert.equal(await redis.llen('inprogress:priority:test-node'), 0, 'in-progress emptied');
    const day = new Date().toISOString().slice(0, 10);
    assert.equal(Number(await redis.get(`stat:processed:${day}`)), 1000, 'daily counter');
    assert.equal(Number(await redis.get('verk:stat:processed:queue:default')), 500, 'per-queue counter');
    assert.equal(Number(await redis.get(`verk:stat:processed:daily:${day}:priority`)), 500, 'per-queue daily counter');
    assert.deepEqual((await redis.smembers('queues')).sort(), ['default', 'priority']);
  } finally {
    await engine.stop();
    redis.disconnect();
  }
});

test('a job enqueued into an idle queue starts in well under pollInterval (blocking fetch, not a timer)', async () => {
  const started: number[] = [];
  const engine = await startEngine({ redis: server.url, queues: { idle: 2 }, pollInterval: 5000 }, { Ping: { perform: () => void started.push(Date.now()) } });
  try {
    await sleep(300); // let the manager settle into its blocking wait
    for (let i = 0; i < 3; i++) {
      const before = Date.now();
      await engine.client.enqueue({ queue: 'idle', class: 'Ping' });
      await waitFor(() => started.length === i + 1, 'job start', 5000, 1);
      const latency = started[i] - before;
      assert.ok(latency < 1000, `picked up after ${latency} ms, expected < 1000 ms with pollInterval 5000`);
      await sleep(200);
    }
  } finally {
    await engine.stop();
  }
});

test('an engine stops promptly while blocked on an idle queue and leaves no in-progress jobs', async () => {
  const redis = connect(server.url);
  const engine = await startEngine({ redis: server.url, queues: { quiet: 3 } }, {});
  await sleep(100);
  const before = Date.now();
  await engine.stop();
  assert.ok(Date.now() - before < 2000, 'stop did not wait for the blocking timeout');
  assert.equal(await redis.llen('inprogress:quiet:test-node'), 0);
  redis.disconnect();
});
