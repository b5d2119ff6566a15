import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VerkValidationError } from '../../lib/engine';
import { startEngine, useRedis } from '../helpers/engine';
import { sleep, waitFor } from '../helpers/wait';

const ctx = useRedis();

test('100 concurrent enqueues of one unique job run it once; after it finishes a new one can be enqueued', async () => {
  let runs = 0;
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const engine = await startEngine({ redis: ctx.server.url, queues: { default: 10 }, pollInterval: 5000 }, {
    Report: {
      async perform() {
        runs++;
        await gate;
      },
    },
  });
  try {
    const job = { queue: 'default', class: 'Report', args: [2026, 'november'], unique: { ttl: 60_000 } };
    const jids = await Promise.all(Array.from({ length: 100 }, () => engine.client.enqueue(job)));
    assert.equal(new Set(jids).size, 1, 'every enqueue returned the first jid');
    await waitFor(() => runs === 1, 'the job to start');
    // While it runs, duplicates still return its jid and write nothing.
    assert.equal(await engine.client.enqueue(job), jids[0]);
    assert.equal(await ctx.redis.zcard('schedule'), 0);
    assert.equal(await ctx.redis.llen('queue:default'), 0);
    // Another args value is another job.
    const other = await engine.client.enqueue({ ...job, args: [2026, 'december'] });
    assert.notEqual(other, jids[0]);
    release();
    await waitFor(() => runs === 2, 'the other job to run');
    await waitFor(async () => (await ctx.redis.keys('verk:unique:*')).length === 0, 'locks released');
    const next = await engine.client.enqueue(job);
    assert.notEqual(next, jids[0], 'a new job after the first finished');
    await waitFor(() => runs === 3, 'the new job to run');
  } finally {
    await engine.stop();
  }
});

test('the lock is kept while the job waits in retry and released when it dies', async () => {
  let attempts = 0;
  const engine = await startEngine({ redis: ctx.server.url, queues: { default: 1 }, pollInterval: 50 }, {
    Sync: {
      perform() {
        attempts++;
        throw new Error('remote down');
      },
      retryAt: (failedAt) => failedAt + 0.4,
    },
  });
  try {
    const job = { queue: 'default', class: 'Sync', unique: { key: 'sync-account-7', ttl: 60_000 }, maxRetryCount: 1 };
    const jid = await engine.client.enqueue(job);
    await waitFor(async () => (await ctx.redis.zcard('retry')) === 1, 'job in retry');
    assert.equal(await engine.client.enqueue({ ...job, args: ['other args, same key'] }), jid, 'deduplicated while in retry');
    assert.equal(await ctx.redis.get('verk:unique:sync-account-7'), jid);
    await waitFor(async () => (await ctx.redis.zcard('dead')) === 1, 'job in dead');
    assert.equal(attempts, 2);
    assert.equal(await ctx.redis.exists('verk:unique:sync-account-7'), 0, 'lock released on death');
    assert.notEqual(await engine.client.enqueue(job), jid);
  } finally {
    await engine.stop();
  }
});

test('the lock expires after its ttl whatever happens to the job, and an old job never frees a newer lock', async () => {
  const engine = await startEngine({ redis: ctx.server.url, queues: {}, pollInterval: 5000 });
  try {
    const job = { queue: 'default', class: 'Slow', unique: { key: 'k', ttl: 300 } };
    const first = await engine.client.schedule(job, Date.now() + 3_600_000);
    assert.equal(await engine.client.schedule(job, Date.now() + 3_600_000), first);
    await sleep(400);
    const second = await engine.client.enqueue(job);
    assert.notEqual(second, first);
    assert.equal(await ctx.redis.get('verk:unique:k'), second);
    // The first job, cancelled now, must not release the second one's lock.
    assert.equal(await engine.flow.cancel(first), true);
    assert.equal(await ctx.redis.get('verk:unique:k'), second);
  } finally {
    await engine.stop();
  }
});

test('unique options are validated, naming the field, and nothing is written', async () => {
  const engine = await startEngine({ redis: ctx.server.url, queues: {} });
  try {
    const before = await ctx.redis.dbsize();
    const cases: [unknown, string][] = [
      [{ key: 'a' }, 'job.unique.ttl'],
      [{ ttl: 0 }, 'job.unique.ttl'],
      [{ ttl: 1.5 }, 'job.unique.ttl'],
      [{ ttl: 10, key: '' }, 'job.unique.key'],
      [{ ttl: 10, scope: 'x' }, 'job.unique.scope'],
      ['yes', 'job.unique'],
    ];
    for (const [unique, field] of cases) {
      await assert.rejects(
        engine.client.enqueue({ queue: 'default', class: 'X', unique: unique as { ttl: number } }),
        (error: unknown) => error instanceof VerkValidationError && error.field === field,
        JSON.stringify(unique),
      );
    }
    assert.equal(await ctx.redis.dbsize(), before);
  } finally {
    await engine.stop();
  }
});

test('a job depending on a unique duplicate waits for the job holding the lock, if that one can be depended on', async () => {
  const engine = await startEngine({ redis: ctx.server.url, queues: {} });
  try {
    const unique = { queue: 'default', class: 'Import', unique: { key: 'import', ttl: 60_000 } };
    const plainOwner = await engine.client.enqueue(unique);
    const [j1, j2] = ['aaaaaaaaaaaaaaaaaaaaaaa1', 'aaaaaaaaaaaaaaaaaaaaaaa2'];
    await assert.rejects(
      engine.client.enqueueMany([{ ...unique, jid: j1 }, { queue: 'default', class: 'Report', jid: j2, dependsOn: [j1] }]),
      (error: unknown) => error instanceof VerkValidationError && error.field === 'jobs[1].dependsOn[0]',
    );
    assert.equal(await engine.flow.cancel(plainOwner), true);

    const owner = await engine.client.enqueue({ ...unique, dependable: true });
    const jids = await engine.client.enqueueMany([{ ...unique, jid: j1 }, { queue: 'default', class: 'Report', jid: j2, dependsOn: [j1] }]);
    assert.deepEqual(jids, [owner, j2]);
    const status = await engine.flow.job(j2);
    assert.equal(status.state, 'blocked');
    assert.equal(status.waitingFor?.[0].jid, owner);
  } finally {
    await engine.stop();
  }
});
