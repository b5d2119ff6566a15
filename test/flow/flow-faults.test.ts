import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VerkEngine } from '../../lib/engine';
import { MemoryLogger, startEngine, useRedis } from '../helpers/engine';
import { RedisServer } from '../helpers/redis-server';
import { WorkerProcess } from '../helpers/worker-process';
import { sleep, waitFor } from '../helpers/wait';

const ctx = useRedis();

test('a batch whose poison job kills node after node still completes: the poison job counts as dead, the callback runs once', async () => {
  // A producer that is never started: the worker processes' schedulers move the batch.
  const client = new VerkEngine({ redis: ctx.server.url, nodeId: 'producer' }, { logger: new MemoryLogger() });
  const jobs = [
    ...Array.from({ length: 40 }, (_, i) => ({ queue: 'default', class: 'Record', args: [`job-${i}`, 5] })),
    { queue: 'default', class: 'Poison' },
  ];
  const { bid } = await client.client.batch(jobs, { onComplete: { class: 'Record', args: ['batch-done'] } });
  const env = { REDIS_URL: ctx.server.url, GENERATE_NODE_ID: '1', HEARTBEAT: '200', CONCURRENCY: '4', MAX_RECOVERIES: '2' };
  let crashes = 0;
  let node = await WorkerProcess.start(env);
  try {
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && !(await ctx.redis.lrange('test:done', 0, -1)).includes('batch-done')) {
      if (!node.running) {
        crashes++;
        node = await WorkerProcess.start(env);
      }
      await sleep(50);
    }
    await sleep(500);
    const done = await ctx.redis.lrange('test:done', 0, -1);
    assert.equal(done.filter((id) => id === 'batch-done').length, 1, 'the callback ran once');
    assert.equal(crashes, 3, 'the poison job took down maxRecoveries + 1 nodes');
    for (let i = 0; i < 40; i++) assert.ok(done.includes(`job-${i}`), `job-${i} done`);
    const status = await client.flow.batchStatus(bid);
    assert.deepEqual({ pending: status?.pending, succeeded: status?.succeeded, dead: status?.dead }, { pending: 0, succeeded: 40, dead: 1 });
    assert.equal((await ctx.redis.zrange('dead', 0, '-1')).length, 1);
  } finally {
    node.kill('SIGKILL');
    await node.exited;
    await client.stop();
  }
});

test('a dependent job is released once even when the node finishing its dependency loses Redis mid-acknowledgement', async () => {
  const durable = await RedisServer.start({ appendonly: true });
  const ran: string[] = [];
  const engine = await startEngine({ redis: durable.url, queues: { default: 2 }, pollInterval: 100 }, {
    Parent: {
      async perform() {
        ran.push('parent');
        // Redis goes away as the job ends; its acknowledgement is retried until it lands.
        await durable.stop();
        setTimeout(() => void durable.restart(), 500);
      },
    },
    Child: { perform: () => void ran.push('child') },
  });
  try {
    const parent = await engine.client.enqueue({ queue: 'default', class: 'Parent', dependable: true });
    await engine.client.enqueue({ queue: 'default', class: 'Child', dependsOn: [parent] });
    await waitFor(() => ran.includes('child'), 'child to run', 20_000);
    await sleep(300);
    assert.deepEqual(ran, ['parent', 'child']);
    assert.equal((await engine.flow.job(parent)).state, 'finished');
  } finally {
    await engine.stop();
    await durable.cleanup();
  }
});
