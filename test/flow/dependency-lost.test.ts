import assert from 'node:assert/strict';
import { test } from 'node:test';
import type Redis from 'ioredis';
import { newJid } from '../../lib/engine';
import { startEngine, useRedis } from '../helpers/engine';
import { type DeadJob, deadJobs, failing, startWithDeadParents } from '../helpers/flow';
import { sleep, waitFor } from '../helpers/wait';

/**
 * Issue 11, defect 3: no job waits on a job that no longer exists. A dependable job that
 * leaves `dead` other than by a retry (trimmed, deleted, cleared), or that is cleared or
 * deleted from its queue, takes its dependents (transitively) to `dead` with
 * DependencyLostError, and leaves nothing of itself under verk:flow:*.
 */

const ctx = useRedis();

/** Every place under verk:flow:* that still mentions `jid` (keys, hash fields and values, members). */
async function flowMentions(redis: Redis, jid: string): Promise<string[]> {
  const places: string[] = [];
  for (const key of await redis.keys('verk:flow:*')) {
    const type = await redis.type(key);
    let texts: string[] = [];
    if (type === 'hash') {
      const all = await redis.hgetall(key);
      texts = Object.entries(all).map(([field, value]) => `${field} => ${value}`);
    } else if (type === 'zset') texts = await redis.zrange(key, 0, '-1');
    else if (type === 'list') texts = await redis.lrange(key, 0, -1);
    else if (type === 'set') texts = await redis.smembers(key);
    for (const text of texts) if (text.includes(jid)) places.push(`${key}: ${text}`);
  }
  return places;
}

async function deadJob(redis: Redis, jid: string): Promise<DeadJob | undefined> {
  return (await deadJobs(redis)).find((job) => job.jid === jid);
}

/** Waits until `jid` is in dead (through a worker's failure). */
function waitDead(jid: string, what: string): Promise<unknown> {
  return waitFor(async () => (await deadJob(ctx.redis, jid)) !== undefined, what, 5000);
}

test('maxDeadJobs 1: a dependable job trimmed from dead sends its dependent to dead with DependencyLostError; nothing of it stays under verk:flow', async () => {
  const engine = await startEngine({ redis: ctx.server.url, queues: { default: 1 }, pollInterval: 50, maxDeadJobs: 1 }, { Parent: failing, Child: { perform: () => undefined } });
  try {
    const parents: string[] = [];
    const children: string[] = [];
    for (let n = 0; n < 3; n++) {
      const parent = await engine.client.enqueue({ queue: 'default', class: 'Parent', retry: false, dependable: true });
      const child = await engine.client.enqueue({ queue: 'default', class: 'Child', dependsOn: [parent] });
      parents.push(parent);
      children.push(child);
      await waitDead(parent, `parent ${n} in dead`);
      if (n === 0) continue;
      // Parent n pushed parent n-1 out of dead: its child can never run.
      const lost = parents[n - 1];
      const orphan = await waitFor(() => deadJob(ctx.redis, children[n - 1]), `child ${n - 1} in dead`, 5000);
      assert.equal(orphan.error_class, 'DependencyLostError');
      assert.match(orphan.error_message ?? '', new RegExp(lost));
      assert.equal((await engine.flow.job(children[n - 1])).state, 'dead');
      assert.deepEqual(await flowMentions(ctx.redis, lost), [], `nothing of lost parent ${n - 1} under verk:flow`);
    }
    // The last parent is in dead, its child still waits for it.
    assert.equal((await engine.flow.job(children[2])).state, 'blocked');
    const dead = (await deadJobs(ctx.redis)).map((job) => job.jid).sort();
    assert.deepEqual(dead, [parents[2], children[1]].sort(), 'dead: the last parent and the orphan of the one it trimmed');
    // The first orphan was itself trimmed later, as any dead job is: nothing of it is left either.
    assert.deepEqual(await flowMentions(ctx.redis, children[0]), []);
  } finally {
    await engine.stop();
  }
});

test('a lost dependency takes its dependents to dead transitively (A -> B -> C: A trimmed => B and C dead)', async () => {
  const engine = await startEngine({ redis: ctx.server.url, queues: { default: 1 }, pollInterval: 50, maxDeadJobs: 1 }, { A: failing, X: failing });
  try {
    const [a, b, c] = [newJid(), newJid(), newJid()];
    await engine.client.enqueueMany([
      { queue: 'default', class: 'A', jid: a, retry: false },
      { queue: 'default', class: 'B', jid: b, dependsOn: [a] },
      { queue: 'default', class: 'C', jid: c, dependsOn: [b] },
    ]);
    await waitDead(a, 'A in dead');
    const x = await engine.client.enqueue({ queue: 'default', class: 'X', retry: false });
    await waitDead(x, 'X in dead');
    const lostB = await waitFor(() => deadJob(ctx.redis, b), 'B in dead', 5000);
    const lostC = await waitFor(() => deadJob(ctx.redis, c), 'C in dead', 5000);
    assert.equal(lostB.error_class, 'DependencyLostError');
    assert.match(lostB.error_message ?? '', new RegExp(a));
    assert.equal(lostC.error_class, 'DependencyLostError');
    assert.match(lostC.error_message ?? '', new RegExp(b));
    assert.match(lostC.error_message ?? '', new RegExp(a));
    assert.deepEqual(await flowMentions(ctx.redis, a), []);
    for (const key of ['verk:flow:blocked', 'verk:flow:waiting_on', 'verk:flow:dependents']) assert.equal(await ctx.redis.hlen(key), 0, key);
  } finally {
    await engine.stop();
  }
});

test('deleting a dead dependency, and clearing dead, send its dependents to dead with DependencyLostError', async () => {
  const { engine, parents, children } = await startWithDeadParents(ctx, 3);
  try {
    assert.equal(await engine.admin.removeJob(parents[0], 'dead', 'lose'), true);
    const first = await waitFor(() => deadJob(ctx.redis, children[0]), 'child 0 in dead', 5000);
    assert.equal(first.error_class, 'DependencyLostError');
    assert.match(first.error_message ?? '', new RegExp(parents[0]));
    assert.deepEqual(await flowMentions(ctx.redis, parents[0]), []);

    // Clear removes what was there (the two parents and child 0); the orphans it makes land in dead after it.
    assert.equal(await engine.admin.clear('dead'), 3);
    const dead = await deadJobs(ctx.redis);
    assert.deepEqual(dead.map((job) => job.jid).sort(), [children[1], children[2]].sort());
    for (const [n, job] of dead.entries()) {
      assert.equal(job.error_class, 'DependencyLostError', `orphan ${n}`);
      assert.match(job.error_message ?? '', new RegExp(parents[children.indexOf(job.jid)]));
    }
    for (const jid of [...parents, children[0]]) assert.deepEqual(await flowMentions(ctx.redis, jid), [], jid);
  } finally {
    await engine.stop();
  }
});

test('clear() of a queue holding waiting dependable jobs sends their blocked dependents to dead', async () => {
  // No queue runs: the jobs wait in `work`.
  const engine = await startEngine({ redis: ctx.server.url, queues: {}, pollInterval: 50 });
  try {
    const [a, b, c, p, q] = [newJid(), newJid(), newJid(), newJid(), newJid()];
    await engine.client.enqueueMany([
      { queue: 'work', class: 'A', jid: a },
      { queue: 'work', class: 'B', jid: b, dependsOn: [a] },
      { queue: 'work', class: 'C', jid: c, dependsOn: [b] },
      { queue: 'work', class: 'P', jid: p, priority: 5 },
      { queue: 'other', class: 'Q', jid: q, dependsOn: [p] },
    ]);
    await waitFor(async () => (await ctx.redis.llen('queue:work')) === 1 && (await ctx.redis.zcard('verk:queue:work:prioritized')) === 1, 'A and P in work');
    assert.equal(await engine.admin.clear({ queue: 'work' }), 2);
    const dead = await waitFor(async () => {
      const jobs = await deadJobs(ctx.redis);
      return jobs.length === 3 ? jobs : null;
    }, 'B, C and Q in dead', 5000);
    const byJid = new Map(dead.map((job) => [job.jid, job]));
    for (const [jid, lost] of [
      [b, a],
      [c, b],
      [q, p],
    ]) {
      assert.equal(byJid.get(jid)?.error_class, 'DependencyLostError', jid);
      assert.match(byJid.get(jid)?.error_message ?? '', new RegExp(lost));
    }
    for (const jid of [a, p]) assert.deepEqual(await flowMentions(ctx.redis, jid), [], jid);
    for (const key of ['verk:flow:blocked', 'verk:flow:waiting_on', 'verk:flow:dependents']) assert.equal(await ctx.redis.hlen(key), 0, key);
  } finally {
    await engine.stop();
  }
});

test('a batch whose jobs were deleted or cleared completes: the callback counts them as dead', async () => {
  const callbacks: unknown[][] = [];
  const engine = await startEngine({ redis: ctx.server.url, queues: { cb: 1 }, pollInterval: 100 }, { Done: { perform: (args) => void callbacks.push(args) } });
  try {
    const { bid, jids } = await engine.client.batch(
      [
        { queue: 'work', class: 'Thumb', args: [1] },
        { queue: 'work', class: 'Thumb', args: [2] },
        { queue: 'work', class: 'Thumb', args: [3], priority: 3 },
      ],
      { onComplete: { queue: 'cb', class: 'Done', args: ['album'] } },
    );
    await waitFor(async () => (await ctx.redis.llen('queue:work')) === 2 && (await ctx.redis.zcard('verk:queue:work:prioritized')) === 1, 'the batch in work');
    assert.equal(await engine.admin.removeJob(jids[0], { queue: 'work' }, 'lose'), true);
    assert.equal(await engine.admin.clear({ queue: 'work' }), 2);
    await waitFor(() => callbacks.length > 0, 'the callback', 5000);
    await sleep(200);
    assert.equal(callbacks.length, 1);
    assert.deepEqual(callbacks[0], ['album', { bid, total: 3, succeeded: 0, dead: 3 }]);
    const status = await engine.flow.batchStatus(bid);
    assert.deepEqual({ pending: status?.pending, dead: status?.dead }, { pending: 0, dead: 3 });
    assert.equal(await ctx.redis.llen('verk:flow:lost'), 0, 'nothing left to settle');
  } finally {
    await engine.stop();
  }
});

test('a dead dependency that is retried (retryNow) keeps its dependents waiting, even while dead is trimmed', async () => {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let runs = 0;
  const ran: string[] = [];
  const engine = await startEngine({ redis: ctx.server.url, queues: { default: 2 }, pollInterval: 50, maxDeadJobs: 1 }, {
    Parent: {
      async perform() {
        if (runs++ === 0) throw new Error('first run fails');
        await gate;
        ran.push('parent');
      },
    },
    X: failing,
    Child: { perform: () => void ran.push('child') },
  });
  try {
    const parent = await engine.client.enqueue({ queue: 'default', class: 'Parent', retry: false, dependable: true });
    const child = await engine.client.enqueue({ queue: 'default', class: 'Child', dependsOn: [parent] });
    await waitDead(parent, 'parent in dead');
    assert.equal(await engine.admin.retryNow(parent, 'dead'), true);
    await waitFor(() => runs === 2, 'parent running again');
    // Another job dies: dead is trimmed while the parent runs; the parent left dead by a retry.
    const x = await engine.client.enqueue({ queue: 'default', class: 'X', retry: false });
    await waitDead(x, 'X in dead');
    const status = await engine.flow.job(child);
    assert.equal(status.state, 'blocked');
    assert.deepEqual(status.waitingFor, [{ jid: parent, state: 'running' }]);
    assert.equal((await deadJobs(ctx.redis)).filter((job) => job.error_class === 'DependencyLostError').length, 0);
    release();
    await waitFor(() => ran.includes('child'), 'child to run');
    assert.deepEqual(ran, ['parent', 'child']);
  } finally {
    release();
    await engine.stop();
  }
});

test('flow.cancel with cascade still removes the dependents (they do not go to dead)', async () => {
  const engine = await startEngine({ redis: ctx.server.url, queues: {}, pollInterval: 50 });
  try {
    const [a, b] = [newJid(), newJid()];
    await engine.client.enqueueMany([
      { queue: 'work', class: 'A', jid: a },
      { queue: 'work', class: 'B', jid: b, dependsOn: [a] },
    ]);
    await waitFor(async () => (await ctx.redis.llen('queue:work')) === 1, 'A in work');
    assert.equal(await engine.flow.cancel(a, { cascade: true }), true);
    assert.equal(await ctx.redis.zcard('dead'), 0);
    assert.equal((await engine.flow.job(b)).state, 'unknown');
    for (const jid of [a, b]) assert.deepEqual(await flowMentions(ctx.redis, jid), [], jid);
  } finally {
    await engine.stop();
  }
});
