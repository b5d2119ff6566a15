import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import type Redis from 'ioredis';
import { VerkEngine } from '../../lib/engine';
import { Keys } from '../../lib/engine/redis/keys';
import { Recovery } from '../../lib/engine/core/recovery';
import { defineScripts } from '../../lib/engine/redis/scripts';
import { RedisServer } from '../helpers/redis-server';
import { connect, MemoryLogger, startEngine, zsetJobs, useRedis } from '../helpers/engine';
import { WorkerProcess } from '../helpers/worker-process';
import { sleep, waitFor } from '../helpers/wait';

const ctx = useRedis();

const ids = (n: number, prefix = 'job') => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

async function enqueueRecords(engine: VerkEngine, list: string[], ms?: number): Promise<void> {
  await engine.client.enqueueMany(list.map((id) => ({ queue: 'default', class: 'Record', args: ms === undefined ? [id] : [id, ms] })));
}

/** A producer-only engine for enqueueing (no queues, never started: no scheduler or heartbeat). */
function producer(): VerkEngine {
  return new VerkEngine({ redis: ctx.server.url, nodeId: 'producer' }, { logger: new MemoryLogger() });
}

test('kill -9 of a worker in the middle of 2,000 jobs: a node with a generated id recovers them all', async () => {
  const client = producer();
  const all = ids(2000);
  await enqueueRecords(client, all);
  const env = { REDIS_URL: ctx.server.url, GENERATE_NODE_ID: '1', HEARTBEAT: '300', CONCURRENCY: '20', JOB_MS: '2' };
  const first = await WorkerProcess.start(env);
  await waitFor(async () => (await ctx.redis.llen('test:done')) >= 500, '500 jobs done');
  first.kill('SIGKILL');
  await first.exited;
  const inFlight = await ctx.redis.llen(`inprogress:default:${first.nodeId}`);
  const doneAtKill = await ctx.redis.llen('test:done');
  assert.ok(doneAtKill < 2000, 'killed in the middle');

  const second = await WorkerProcess.start(env);
  try {
    await waitFor(async () => new Set(await ctx.redis.lrange('test:done', 0, -1)).size === 2000, 'all 2,000 jobs done', 60_000);
    const done = await ctx.redis.lrange('test:done', 0, -1);
    assert.equal(new Set(done).size, 2000, 'every job recorded at least once');
    assert.ok(done.length - 2000 <= inFlight, `${done.length - 2000} duplicates, ${inFlight} jobs were in flight at the kill`);
    assert.ok(inFlight <= 20, 'in flight never exceeds the concurrency');
    await waitFor(async () => (await ctx.redis.sismember('verk_nodes', first.nodeId)) === 0, 'dead node forgotten');
    assert.equal(await ctx.redis.llen(`inprogress:default:${first.nodeId}`), 0);
  } finally {
    second.kill('SIGKILL');
    await second.exited;
    await client.stop();
  }
});

test('a node restarting with a fixed id first takes back its own in-progress jobs', async () => {
  const client = producer();
  await enqueueRecords(client, ids(300));
  const env = { REDIS_URL: ctx.server.url, NODE_ID: 'fixed-1', CONCURRENCY: '10', JOB_MS: '5' };
  const first = await WorkerProcess.start(env);
  await waitFor(async () => (await ctx.redis.llen('test:done')) >= 50, '50 done');
  first.kill('SIGKILL');
  await first.exited;
  assert.ok((await ctx.redis.llen('inprogress:default:fixed-1')) > 0, 'the crash left jobs in progress');
  const again = await WorkerProcess.start(env);
  try {
    await waitFor(async () => new Set(await ctx.redis.lrange('test:done', 0, -1)).size === 300, 'all 300 done', 30_000);
    const recovered = (await ctx.redis.lrange('test:started', 0, -1)).length - 300;
    assert.ok(recovered <= 10, `${recovered} re-runs, at most the 10 in flight`);
  } finally {
    again.kill('SIGKILL');
    await again.exited;
    await client.stop();
  }
});

test('SIGTERM: running jobs finish, waiting ones stay queued, in-progress is empty, the process exits in time', async () => {
  const client = producer();
  await enqueueRecords(client, ids(10), 1000);
  const shutdownTimeout = 5000;
  const node = await WorkerProcess.start({ REDIS_URL: ctx.server.url, NODE_ID: 'term-1', CONCURRENCY: '3', SHUTDOWN_TIMEOUT: String(shutdownTimeout) });
  await waitFor(async () => (await ctx.redis.llen('test:started')) === 3, 'three jobs running');
  const signalled = Date.now();
  node.kill('SIGTERM');
  const { code, signal } = await node.exited;
  const took = Date.now() - signalled;
  // Nest's shutdown hooks close the app, then re-raise the signal.
  assert.ok(code === 0 || signal === 'SIGTERM', `exit code ${code}, signal ${signal}: ${node.output.join('')}`);
  assert.doesNotMatch(node.output.join(''), /ERROR|UNHANDLED/);
  assert.ok(took < shutdownTimeout + 1000, `exited after ${took} ms`);
  assert.ok(took >= 500, 'waited for the running jobs');
  assert.deepEqual((await ctx.redis.lrange('test:done', 0, -1)).sort(), (await ctx.redis.lrange('test:started', 0, -1)).sort(), 'every started job finished');
  assert.equal(await ctx.redis.llen('test:done'), 3);
  assert.equal(await ctx.redis.llen('queue:default'), 7, 'waiting jobs stay queued');
  assert.equal(await ctx.redis.llen('inprogress:default:term-1'), 0);
  assert.equal(await ctx.redis.exists('verk:node:term-1'), 0, 'heartbeat key removed on a clean leave');
  assert.equal(await ctx.redis.sismember('verk_nodes', 'term-1'), 0);
  await client.stop();
});

test('after app.close() the process exits by itself: no timer, socket or connection is left', async () => {
  const child = spawn(process.execPath, [join(__dirname, '..', 'fixtures', 'close-and-exit.js')], { env: { ...process.env, REDIS_URL: ctx.server.url }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let closedAt = 0;
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    if (!closedAt && output.includes('CLOSED')) closedAt = Date.now();
  });
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('exit', (c, s) => resolve([c, s])));
  clearTimeout(timer);
  assert.ok(closedAt > 0, `app did not close: ${output}`);
  assert.equal(signal, null, `killed: still running 15 s after close: ${output}`);
  assert.equal(code, 0, output);
  assert.ok(Date.now() - closedAt < 2000, 'exited promptly after close');
  assert.equal(await ctx.redis.llen('inprogress:default:exit-1'), 0);
  assert.equal(await ctx.redis.zcard('schedule'), 1, 'the scheduled job is still there');
});

test('a job longer than shutdownTimeout goes back to the head of its queue and runs on the next node', async () => {
  const client = producer();
  await enqueueRecords(client, ['long'], 3000);
  await enqueueRecords(client, ['next-1', 'next-2'], 0);
  const env = { REDIS_URL: ctx.server.url, NODE_ID: 'short-1', CONCURRENCY: '1', SHUTDOWN_TIMEOUT: '500' };
  const node = await WorkerProcess.start(env);
  await waitFor(async () => (await ctx.redis.llen('test:started')) === 1, 'long job running');
  const signalled = Date.now();
  node.kill('SIGTERM');
  const { code, signal } = await node.exited;
  assert.ok(code === 0 || signal === 'SIGTERM', `exit code ${code}, signal ${signal}`);
  assert.ok(Date.now() - signalled < 1500, 'did not wait for the long job');
  assert.equal(await ctx.redis.llen('inprogress:default:short-1'), 0);
  const waiting = (await ctx.redis.lrange('queue:default', 0, -1)).map((m) => JSON.parse(m).args[0] as string);
  assert.deepEqual(waiting.reverse(), ['long', 'next-1', 'next-2'], 'the unfinished job is next in line');

  const nextNode = await WorkerProcess.start({ ...env, NODE_ID: 'short-2', SHUTDOWN_TIMEOUT: '5000' });
  try {
    await waitFor(async () => (await ctx.redis.lrange('test:done', 0, -1)).includes('long'), 'long job done on the next node', 10_000);
  } finally {
    nextNode.kill('SIGKILL');
    await nextNode.exited;
    await client.stop();
  }
});

test('two nodes racing to recover one dead node requeue each of its jobs exactly once', async () => {
  const keys = new Keys();
  const jobs = ids(500, 'orphan').map((id, i) => JSON.stringify({ class: 'Record', args: [id], jid: i.toString(16).padStart(24, '0'), queue: 'default' }));
  await ctx.redis.sadd('verk_nodes', 'dead-1');
  await ctx.redis.sadd('verk:node:dead-1:queues', 'default');
  await ctx.redis.lpush('inprogress:default:dead-1', ...jobs);
  const a = connect(ctx.server.url);
  const b = connect(ctx.server.url);
  defineScripts(a);
  defineScripts(b);
  try {
    const options = { keys, logger: new MemoryLogger(), maxRecoveries: 3, maxDeadJobs: 100, flowRetentionSeconds: 60, onScheduledNow: () => undefined };
    // Each script call is atomic; racing here interleaves the reads and the moves.
    await Promise.all([
      new Recovery({ ...options, redis: a }).recoverDeadNodes('node-a'),
      new Recovery({ ...options, redis: b }).recoverDeadNodes('node-b'),
      new Recovery({ ...options, redis: a }).recoverDeadNodes('node-a'),
      new Recovery({ ...options, redis: b }).recoverDeadNodes('node-b'),
    ]);
    const queued = (await ctx.redis.lrange('queue:default', 0, -1)).map((m) => JSON.parse(m) as { args: string[]; recovery_count: number });
    assert.equal(queued.length, 500, 'each job requeued exactly once');
    assert.equal(new Set(queued.map((job) => job.args[0])).size, 500);
    assert.ok(queued.every((job) => job.recovery_count === 1));
    assert.equal(await ctx.redis.llen('inprogress:default:dead-1'), 0);
    assert.equal(await ctx.redis.sismember('verk_nodes', 'dead-1'), 0, 'dead node forgotten');
    // Consumers take from the right: the oldest in-progress job runs first.
    assert.equal(queued[queued.length - 1].args[0], 'orphan-0');
  } finally {
    a.disconnect();
    b.disconnect();
  }
});

test('poison job: a job that kills its worker every time ends in dead after maxRecoveries, the others complete', async () => {
  const client = producer();
  await client.client.enqueue({ queue: 'default', class: 'Poison' });
  await enqueueRecords(client, ids(40), 20);
  const env = { REDIS_URL: ctx.server.url, GENERATE_NODE_ID: '1', HEARTBEAT: '200', CONCURRENCY: '2', MAX_RECOVERIES: '3' };
  let crashes = 0;
  let node = await WorkerProcess.start(env);
  try {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const finished = (await ctx.redis.zcard('dead')) === 1 && new Set(await ctx.redis.lrange('test:done', 0, -1)).size === 40;
      if (finished) break;
      if (!node.running) {
        crashes++;
        node = await WorkerProcess.start(env);
      }
      await sleep(50);
    }
    const [dead] = await zsetJobs(ctx.redis, 'dead');
    assert.ok(dead, 'poison job in dead');
    assert.equal(dead.class, 'Poison');
    assert.equal(dead.error_class, 'PoisonJobError');
    assert.equal(dead.recovery_count, 4);
    assert.match(dead.error_message as string, /died 4 times/);
    assert.equal(crashes, 4, 'it took down exactly maxRecoveries + 1 nodes');
    assert.equal(Number(await ctx.redis.get('stat:failed')), 1, 'the poison job counts as a failure');
    assert.equal(Number(await ctx.redis.get('verk:stat:failed:queue:default')), 1);
    assert.equal(new Set(await ctx.redis.lrange('test:done', 0, -1)).size, 40, 'the other jobs completed');
  } finally {
    node.kill('SIGKILL');
    await node.exited;
    await client.stop();
  }
});

test('a job running longer than the heartbeat is not recovered while its node is alive', async () => {
  let runs = 0;
  const worker = { Long: { perform: async () => void (runs++, await sleep(2500)) } };
  const [a, b] = await Promise.all([
    startEngine({ redis: ctx.server.url, generateNodeId: true, nodeId: undefined, heartbeat: 200, queues: { default: 1 } }, worker),
    startEngine({ redis: ctx.server.url, generateNodeId: true, nodeId: undefined, heartbeat: 200, queues: { default: 1 } }, worker),
  ]);
  try {
    await a.client.enqueue({ queue: 'default', class: 'Long' });
    await waitFor(async () => Number(await ctx.redis.get('stat:processed')) === 1, 'long job done', 10_000);
    await sleep(600);
    assert.equal(runs, 1, 'ran exactly once');
    assert.equal(await ctx.redis.llen('queue:default'), 0);
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});

test('Redis (appendonly) restarted in the middle of 2,000 jobs: all complete, no unhandled rejection', async () => {
  const durable = await RedisServer.start({ appendonly: true });
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown) => rejections.push(reason);
  process.on('unhandledRejection', onRejection);
  const done = new Set<string>();
  const inspect = connect(durable.url);
  const engine = await startEngine({ redis: durable.url, nodeId: 'outage-1', queues: { default: 20 }, pollInterval: 100 }, {
    Record: {
      async perform(args) {
        await sleep(1);
        done.add(String(args[0]));
      },
    },
  });
  try {
    await engine.client.enqueueMany(ids(2000).map((id) => ({ queue: 'default', class: 'Record', args: [id] })));
    await waitFor(() => done.size >= 400, '400 jobs done');
    await durable.stop();
    const duringOutage = done.size;
    await sleep(1500);
    assert.ok(done.size - duringOutage <= 20, 'only jobs already running could finish while Redis was down');
    await durable.restart();
    await waitFor(() => done.size === 2000, 'all 2,000 jobs done after Redis returned', 60_000);
    await waitFor(async () => (await inspect.llen('inprogress:outage-1')) + (await inspect.llen('inprogress:default:outage-1')) === 0, 'in-progress drained');
    assert.equal(await inspect.llen('queue:default'), 0);
    assert.equal(await inspect.zcard('retry'), 0);
    assert.equal(await inspect.zcard('dead'), 0);
    assert.deepEqual(rejections, [], 'no unhandled rejection');
  } finally {
    process.off('unhandledRejection', onRejection);
    await engine.stop();
    inspect.disconnect();
    await durable.cleanup();
  }
});

test('stop() while Redis is down or just back does not wait for shutdownTimeout on the idle BLMOVE from before the outage', async () => {
  // ioredis keeps a command that was in flight when the connection dropped for resending
  // once it is ready again; closing the connection before that never settles it.
  const own = await RedisServer.start();
  const shutdownTimeout = 15_000;
  const engines: VerkEngine[] = [];
  try {
    for (const restart of [false, true]) {
      const engine = await startEngine({ redis: own.url, nodeId: `idle-${restart}`, queues: { default: 2, other: 1 }, shutdownTimeout });
      engines.push(engine);
      await sleep(100); // the managers are blocked in BLMOVE
      await own.stop();
      await sleep(300);
      if (restart) await own.restart();
      const started = Date.now();
      await engine.stop();
      const took = Date.now() - started;
      assert.ok(took < shutdownTimeout / 2, `stop() took ${took} ms (Redis ${restart ? 'just restarted' : 'down'})`);
      if (!restart) await own.restart();
    }
  } finally {
    for (const engine of engines) await engine.stop();
    await own.cleanup();
  }
});
