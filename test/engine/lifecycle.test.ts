import assert from 'node:assert/strict';
import { test } from 'node:test';
import { currentJob, type JobPayload, VerkEngine } from '../../lib/engine';
import { Keys } from '../../lib/engine/redis/keys';
import { Recovery } from '../../lib/engine/core/recovery';
import { defineScripts } from '../../lib/engine/redis/scripts';
import { connect, MemoryLogger, startEngine, useRedis } from '../helpers/engine';
import { sleep, waitFor } from '../helpers/wait';

/**
 * Issue 11, the node's lifecycle: graceful shutdown keeps the heartbeat until the drain
 * landed, recovery never takes a live node's jobs, the blocking fetch is found by its
 * connection id (names beyond ASCII, ACLs without CLIENT LIST), and a late cancel message
 * never touches a later run of the same job.
 */
const ctx = useRedis();

/** Every stored payload in the queue, its in-progress lists and the sorted sets. */
async function everyStoredPayload(): Promise<string[]> {
  const found: string[] = [];
  for (const key of await ctx.redis.keys('*')) {
    const type = await ctx.redis.type(key);
    if (type === 'list' && (key.startsWith('queue:') || key.startsWith('inprogress:'))) found.push(...(await ctx.redis.lrange(key, 0, -1)));
    if (type === 'zset' && ['schedule', 'retry', 'dead'].includes(key)) found.push(...(await ctx.redis.zrange(key, 0, '-1')));
  }
  return found;
}

test('graceful stop with a 5 s job while a peer runs: the job runs once, is counted once, and is never put back', async () => {
  const runs: string[] = [];
  const long = (node: string) => ({ Long: { perform: async () => void (runs.push(node), await sleep(5000)) } });
  const common = { redis: ctx.server.url, heartbeat: 500, shutdownTimeout: 10_000, pollInterval: 200, queues: { default: 1 } };
  const a = await startEngine({ ...common, nodeId: 'node-a' }, long('node-a'));
  const b = await startEngine({ ...common, nodeId: 'node-b' }, long('node-b'));
  try {
    // Both nodes judge each other's heartbeats by now (2 periods + 2 s after start).
    await sleep(3200);
    await a.client.enqueue({ queue: 'default', class: 'Long', args: [] });
    await waitFor(() => runs.length === 1, 'the job to start');
    const owner = runs[0] === 'node-a' ? a : b;
    await owner.stop();
    // Well past the peer's next heartbeat checks.
    await sleep(1500);
    assert.deepEqual(runs, [owner.nodeId], 'ran once, on the node that stopped');
    assert.equal(await ctx.redis.get('stat:processed'), '1', 'its success was counted');
    const stored = await everyStoredPayload();
    assert.deepEqual(stored, [], 'nothing left in any queue, in-progress list or set');
    assert.equal(await ctx.redis.get('stat:failed'), null);
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
});

test('graceful stop: a job that outlives shutdownTimeout is put back by its own node (no recovery_count), then runs on the peer', async () => {
  const peerRuns: JobPayload[] = [];
  const common = { redis: ctx.server.url, heartbeat: 500, pollInterval: 200, queues: { default: 1 } };
  let ownerRunning = false;
  const a = await startEngine({ ...common, nodeId: 'node-a', shutdownTimeout: 2000 }, {
    Long: { perform: async () => void ((ownerRunning = true), await sleep(8000)) },
  });
  const b = new VerkEngine({ ...common, nodeId: 'node-b', shutdownTimeout: 2000 }, { logger: new MemoryLogger() });
  b.workers.register('Long', { perform: (_args, job) => void peerRuns.push(job) });
  try {
    await a.client.enqueue({ queue: 'default', class: 'Long', args: [] });
    await waitFor(() => ownerRunning, 'the job to start on node-a');
    // The peer starts now, and judges heartbeats after 3 s: while node-a still drains.
    await b.start();
    await sleep(3200);
    await a.stop();
    await waitFor(() => peerRuns.length === 1, 'the peer to run the put-back job', 10_000);
    assert.equal(peerRuns[0].recovery_count, undefined, 'put back by its node, not recovered from a dead one');
    await sleep(500);
    assert.equal(peerRuns.length, 1);
  } finally {
    await Promise.all([a.stop(), b.stop()]);
    await sleep(3000); // node-a's worker ends; its outcome is ignored
  }
});

test('recovery takes nothing from a node whose heartbeat key exists (it came back between the check and the move)', async () => {
  const keys = new Keys();
  const plain = JSON.stringify({ class: 'W', args: [1], jid: 'a'.repeat(24), queue: 'default' });
  const poisonFlow = JSON.stringify({ class: 'W', args: [2], jid: 'b'.repeat(24), queue: 'default', dependable: true, recovery_count: 3 });
  await ctx.redis.sadd('verk_nodes', 'paused-node');
  await ctx.redis.sadd('verk:node:paused-node:queues', 'default');
  await ctx.redis.lpush('inprogress:default:paused-node', plain, poisonFlow);
  // The node beats again (after a GC pause) once the recovering node saw its key gone.
  await ctx.redis.psetex('verk:node:paused-node', 60_000, 'alive');
  const redis = connect(ctx.server.url);
  defineScripts(redis);
  try {
    const recovery = new Recovery({ keys, redis, logger: new MemoryLogger(), maxRecoveries: 3, maxDeadJobs: 100, flowRetentionSeconds: 60, onScheduledNow: () => undefined });
    const result = await recovery.recoverInProgress('paused-node', 'default');
    assert.deepEqual(result, { requeued: 0, dead: 0 });
    assert.deepEqual(await ctx.redis.lrange('inprogress:default:paused-node', 0, -1), [poisonFlow, plain], 'both jobs stay with their live node');
    assert.equal(await ctx.redis.llen('queue:default'), 0);
    assert.equal(await ctx.redis.zcard('dead'), 0);
    // Once the key is gone, the same call recovers them.
    await ctx.redis.del('verk:node:paused-node');
    assert.deepEqual(await recovery.recoverInProgress('paused-node', 'default'), { requeued: 1, dead: 1 });
    assert.equal(await ctx.redis.llen('inprogress:default:paused-node'), 0);
  } finally {
    redis.disconnect();
  }
});

test('a node restarting with a fixed id takes back its own in-progress jobs although its old heartbeat key is still there', async () => {
  const job = JSON.stringify({ class: 'W', args: [1], jid: 'c'.repeat(24), queue: 'default' });
  await ctx.redis.sadd('verk_nodes', 'fixed');
  await ctx.redis.sadd('verk:node:fixed:queues', 'default');
  await ctx.redis.lpush('inprogress:default:fixed', job);
  await ctx.redis.psetex('verk:node:fixed', 60_000, 'alive');
  const ran: JobPayload[] = [];
  const engine = await startEngine({ redis: ctx.server.url, nodeId: 'fixed', queues: { default: 1 } }, { W: { perform: (_args, payload) => void ran.push(payload) } });
  try {
    await waitFor(() => ran.length === 1, 'the job left by the earlier run');
    assert.equal(ran[0].recovery_count, 1);
  } finally {
    await engine.stop();
  }
});

/** Waits until the queue's BLMOVE began less than a second ago (so it would wait 4 s more). */
async function freshBlockingFetch(): Promise<void> {
  await waitFor(
    async () => String(await ctx.redis.call('CLIENT', 'LIST', 'TYPE', 'normal')).split('\n').some((line) => line.includes(' cmd=blmove') && / idle=0 /.test(line)),
    'a BLMOVE that has just begun',
    15_000,
    5,
  );
}

async function blockedClients(): Promise<number> {
  return Number(/blocked_clients:(\d+)/.exec(await ctx.redis.info('clients'))?.[1]);
}

async function wakeAndPause(redis: string): Promise<void> {
  const started: number[] = [];
  const engine = await startEngine({ redis, nodeId: 'nœud-1', queues: { émails: 1 }, pollInterval: 10_000 }, { Mail: { perform: () => void started.push(Date.now()) } });
  try {
    for (let i = 0; i < 2; i++) {
      await freshBlockingFetch();
      const at = Date.now();
      await engine.client.enqueue({ queue: 'émails', class: 'Mail', args: [i], priority: 5 });
      await waitFor(() => started.length === i + 1, `prioritized job ${i} to start`, 10_000, 5);
      assert.ok(started[i] - at < 3000, `the prioritized job started ${started[i] - at} ms after its enqueue: the wake-up did not interrupt the BLMOVE`);
    }
    await freshBlockingFetch();
    const at = Date.now();
    await engine.pauseQueue('émails');
    await waitFor(async () => (await blockedClients()) === 0, 'the pause to release the BLMOVE', 10_000, 5);
    assert.ok(Date.now() - at < 3000, 'the pause interrupted the BLMOVE rather than waiting for its timeout');
    await engine.client.enqueue({ queue: 'émails', class: 'Mail', args: ['paused'] });
    await sleep(300);
    assert.equal(started.length, 2, 'nothing runs while paused');
    await engine.resumeQueue('émails');
    await waitFor(() => started.length === 3, 'the job to run after resume');
  } finally {
    await engine.stop();
  }
}

test('queue émails on node nœud-1: a prioritized job wakes the idle queue at once, and pause interrupts its BLMOVE', async () => {
  await wakeAndPause(ctx.server.url);
});

test('the same under an ACL user that may not run CLIENT LIST', async () => {
  await ctx.redis.call('ACL', 'SETUSER', 'verk', 'on', '>s3cret', '~*', '&*', '+@all', '-client|list');
  const url = `redis://verk:s3cret@127.0.0.1:${ctx.server.port}`;
  const asUser = connect(url);
  try {
    await assert.rejects(asUser.call('CLIENT', 'LIST'), /NOPERM/, 'the ACL forbids CLIENT LIST');
  } finally {
    asUser.disconnect();
  }
  await wakeAndPause(url);
});

test('after a Redis restart the blocking connection is interrupted by its new id', async () => {
  const started: number[] = [];
  const engine = await startEngine({ redis: ctx.server.url, queues: { émails: 1 }, pollInterval: 10_000 }, { Mail: { perform: () => void started.push(Date.now()) } });
  try {
    await freshBlockingFetch();
    await ctx.server.restart();
    for (let i = 0; i < 2; i++) {
      await freshBlockingFetch();
      const at = Date.now();
      await engine.client.enqueue({ queue: 'émails', class: 'Mail', args: [i], priority: 1 });
      await waitFor(() => started.length === i + 1, `prioritized job ${i} to start`, 10_000, 5);
      assert.ok(started[i] - at < 3000, `the prioritized job started ${started[i] - at} ms after its enqueue`);
    }
  } finally {
    await engine.stop();
  }
});

test('blocking connections carry an operator-readable name, escaped where CLIENT SETNAME refuses the characters', async () => {
  const engine = await startEngine({ redis: ctx.server.url, nodeId: 'nœud-1', queues: { émails: 1 } });
  try {
    await freshBlockingFetch();
    const line = String(await ctx.redis.call('CLIENT', 'LIST')).split('\n').find((entry) => entry.includes(' cmd=blmove'));
    assert.match(String(line), / name=verk:n%C5%93ud-1:queue:%C3%A9mails /);
  } finally {
    await engine.stop();
  }
});

test('a cancel message that arrives after its run ended does not mark a later run of the same jid as cancelled', async () => {
  const seen: boolean[] = [];
  const engine = await startEngine({ redis: ctx.server.url, queues: { a: 1 }, pollInterval: 100, history: true }, {
    W: {
      context: true,
      perform() {
        seen.push(currentJob()?.canceled === true);
      },
    },
  });
  try {
    const jid = 'd'.repeat(24);
    await engine.client.enqueue({ queue: 'a', class: 'W', jid });
    await waitFor(async () => (await ctx.redis.get('stat:processed')) === '1', 'the first run to be acknowledged');
    // The message a cancel publishes, late: the run it targets is over.
    await ctx.redis.publish('verk:control', JSON.stringify({ type: 'cancel', jid, node: 'test-node', from: 'a' }));
    await sleep(200);
    await engine.client.enqueue({ queue: 'a', class: 'W', jid });
    await waitFor(async () => (await ctx.redis.get('stat:processed')) === '2', 'the second run to be acknowledged');
    assert.deepEqual(seen, [false, false], 'the second run was not told it was cancelled');
    await waitFor(async () => (await engine.recorder.history(jid)).filter((event) => event.event === 'finished').length === 2, 'both runs recorded as finished', 5000);
  } finally {
    await engine.stop();
  }
});
