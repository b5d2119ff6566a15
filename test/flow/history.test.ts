import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { type JobEvent, VerkConfigError, VerkEngine } from '../../lib/engine';
import { MemoryLogger, startEngine, useRedis } from '../helpers/engine';
import { sleep, waitFor } from '../helpers/wait';
import { failOnce } from '../helpers/workers';

const ctx = useRedis();

/** An engine that only enqueues (never started), with its own node id. */
function producer(options: Partial<ConstructorParameters<typeof VerkEngine>[0]> = {}): VerkEngine {
  return new VerkEngine({ redis: ctx.server.url, nodeId: 'producer', history: true, ...options }, { logger: new MemoryLogger() });
}

async function historyKeys(): Promise<string[]> {
  return (await ctx.redis.keys('verk:history:*')).sort();
}

const names = (events: JobEvent[]) => events.map((event) => event.event);

test('a job that failed twice and then succeeded: every step in order, with its node; job() says finished once it is gone', async () => {
  const client = producer();
  let attempts = 0;
  const worker = await startEngine({ redis: ctx.server.url, nodeId: 'worker-1', queues: { default: 1 }, pollInterval: 50, history: true }, {
    Flaky: {
      perform() {
        attempts++;
        if (attempts <= 2) throw new TypeError(`attempt ${attempts} failed`);
      },
      retryAt: (failedAt) => failedAt + 0.2,
    },
  });
  try {
    const jid = await client.client.enqueue({ queue: 'default', class: 'Flaky', args: [1] });
    await waitFor(async () => names(await worker.recorder.history(jid)).includes('finished'), 'the job finished');
    const history = await worker.recorder.history(jid);
    assert.deepEqual(names(history), ['enqueued', 'started', 'failed', 'retried', 'started', 'failed', 'retried', 'started', 'finished']);
    assert.deepEqual(
      history.map((event) => event.node),
      ['producer', 'worker-1', 'worker-1', 'worker-1', 'worker-1', 'worker-1', 'worker-1', 'worker-1', 'worker-1'],
    );
    assert.ok(history.every((event) => event.jid === jid && event.queue === 'default'));
    for (let i = 1; i < history.length; i++) assert.ok(history[i].at >= history[i - 1].at, `event ${i} is not earlier than the one before`);
    const failures = history.filter((event) => event.event === 'failed');
    assert.deepEqual(failures.map((event) => event.error), [
      { class: 'TypeError', message: 'attempt 1 failed' },
      { class: 'TypeError', message: 'attempt 2 failed' },
    ]);
    assert.deepEqual(failures.map((event) => event.retryCount), [1, 2]);
    for (const failure of failures) assert.ok(failure.runAt && failure.runAt - failure.at >= 100 && failure.runAt - failure.at < 400, 'retry time from retryAt');
    const finished = history[history.length - 1];
    assert.equal(typeof finished.durationMs, 'number');

    // Gone from every structure: the history tells.
    const status = await worker.flow.job(jid);
    assert.equal(status.state, 'finished');
    assert.equal(status.at?.getTime(), finished.at);
    assert.equal(status.queue, 'default');
    assert.deepEqual(status.history, history);
    assert.equal((await worker.flow.job('0123456789abcdef01234567')).state, 'unknown', 'no history, stored nowhere');
  } finally {
    await worker.stop();
    await client.stop();
  }
});

test('job() reports where a job is now together with its history so far', async () => {
  const client = producer();
  try {
    const jid = await client.client.schedule({ queue: 'default', class: 'Later' }, Date.now() + 60_000);
    await client.recorder.flush();
    const status = await client.flow.job(jid);
    assert.equal(status.state, 'scheduled');
    assert.deepEqual(names(status.history ?? []), ['scheduled']);
    assert.ok(Math.abs((status.history?.[0].runAt ?? 0) - status.at!.getTime()) < 2, 'scheduled event says when it is due');
    assert.equal(await client.admin.retryNow(jid, 'schedule'), true);
    await client.recorder.flush();
    const moved = await client.flow.job(jid);
    assert.equal(moved.state, 'waiting');
    assert.deepEqual(names(moved.history ?? []), ['scheduled', 'enqueued']);
    assert.equal(moved.history?.[1].from, 'schedule');
  } finally {
    await client.stop();
  }
});

test('a job in the in-progress list of a dead node is recovered by another node: its history says so', async () => {
  const client = producer();
  try {
    const jid = await client.client.enqueue({ queue: 'default', class: 'Record', args: ['orphan'] });
    // A node that took the job and died: the job sits in its in-progress list, its heartbeat key is gone.
    await ctx.redis.lmove('queue:default', 'inprogress:default:dead-1', 'RIGHT', 'LEFT');
    await ctx.redis.sadd('verk_nodes', 'dead-1');
    await ctx.redis.sadd('verk:node:dead-1:queues', 'default');
    const rescuer = await startEngine({ redis: ctx.server.url, nodeId: 'rescuer', queues: { default: 2 }, heartbeat: 100, history: true }, { Record: { perform: () => undefined } });
    try {
      await waitFor(async () => names(await rescuer.recorder.history(jid)).includes('finished'), 'the recovered job finished', 20_000);
      const history = await rescuer.recorder.history(jid);
      assert.deepEqual(names(history), ['enqueued', 'recovered', 'started', 'finished']);
      assert.equal(history[1].node, 'rescuer');
      assert.equal(history[1].fromNode, 'dead-1');
      assert.deepEqual(history.slice(2).map((event) => event.node), ['rescuer', 'rescuer']);
    } finally {
      await rescuer.stop();
    }
  } finally {
    await client.stop();
  }
});

test('a job that runs out of retries ends with dead, with the error', async () => {
  const worker = await startEngine({ redis: ctx.server.url, queues: { default: 1 }, pollInterval: 50, history: true }, {
    Broken: {
      perform() {
        throw new Error('always');
      },
      retryAt: (failedAt) => failedAt + 0.05,
    },
  });
  try {
    const jid = await worker.client.enqueue({ queue: 'default', class: 'Broken', maxRetryCount: 1 });
    await waitFor(async () => names(await worker.recorder.history(jid)).includes('dead'), 'dead');
    const history = await worker.recorder.history(jid);
    assert.deepEqual(names(history), ['enqueued', 'started', 'failed', 'retried', 'started', 'dead']);
    assert.deepEqual(history[5].error, { class: 'Error', message: 'always' });
    assert.equal((await worker.flow.job(jid)).state, 'dead');
  } finally {
    await worker.stop();
  }
});

test('retention by count: maxJobs 10 of 25 jobs keeps the 10 most recent histories', async () => {
  const worker = await startEngine({ redis: ctx.server.url, queues: { default: 1 }, history: { maxJobs: 10 } }, { Noop: { perform: () => undefined } });
  try {
    const jids: string[] = [];
    for (let i = 0; i < 25; i++) {
      jids.push(await worker.client.enqueue({ queue: 'default', class: 'Noop', args: [i] }));
      await waitFor(async () => (await worker.recorder.history(jids[i])).some((event) => event.event === 'finished'), `job ${i} finished`);
    }
    assert.equal((await historyKeys()).length, 25);
    await worker.recorder.sweep();
    assert.equal(await ctx.redis.zcard('verk:history'), 10);
    const kept = await historyKeys();
    assert.deepEqual(kept, jids.slice(15).map((jid) => `verk:history:${jid}`).sort(), 'the 10 whose last event is newest');
  } finally {
    await worker.stop();
  }
});

test('retention by age: histories and tag index entries older than maxAge go, recent ones stay', async () => {
  const worker = await startEngine({ redis: ctx.server.url, queues: { default: 2 }, history: { maxAge: 600 } }, { Noop: { perform: () => undefined } });
  try {
    const old = await worker.client.enqueueMany(Array.from({ length: 5 }, (_, i) => ({ queue: 'default', class: 'Noop', args: [i], tags: ['batch-a'] })));
    await waitFor(async () => (await ctx.redis.get('stat:processed')) === '5', 'five done');
    await worker.recorder.flush();
    assert.equal((await historyKeys()).length, 5);
    assert.equal((await worker.recorder.jobsByTag('batch-a')).total, 5);
    await sleep(400);
    const recent = await worker.client.enqueue({ queue: 'default', class: 'Noop', args: ['recent'], tags: ['batch-b'] });
    // The periodic sweep (every maxAge / 2 here) trims the old ones.
    await waitFor(async () => (await ctx.redis.zcard('verk:history')) === 1, 'old histories trimmed', 5000);
    assert.deepEqual(await ctx.redis.zrange('verk:history', 0, '-1'), [recent]);
    assert.deepEqual(await historyKeys(), [`verk:history:${recent}`]);
    for (const jid of old) assert.deepEqual(await worker.recorder.history(jid), []);
    assert.equal((await worker.recorder.jobsByTag('batch-a')).total, 0, 'old tag entries trimmed');
    assert.deepEqual((await worker.recorder.jobsByTag('batch-b')).jids, [recent]);
    assert.deepEqual(await ctx.redis.smembers('verk:tags'), ['batch-b'], 'an emptied tag is forgotten');
    const ttl = await ctx.redis.pttl(`verk:history:${recent}`);
    assert.ok(ttl > 0 && ttl <= 600, `history key expires with maxAge (pttl ${ttl})`);
  } finally {
    await worker.stop();
  }
});

test('history off for a queue: its jobs write nothing, and with history off everywhere nothing is even sent', async () => {
  const worker = await startEngine({ redis: ctx.server.url, queues: { audited: 1, plain: 1 }, pollInterval: 50, history: { queues: ['audited'] } }, {
    Noop: { perform: () => undefined },
    FailOnce: failOnce('once', 0.05),
  });
  let audited: string;
  try {
    audited = await worker.client.enqueue({ queue: 'audited', class: 'Noop' });
    const plain = await worker.client.enqueue({ queue: 'plain', class: 'Noop' });
    await worker.client.schedule({ queue: 'plain', class: 'FailOnce' }, Date.now() + 50);
    await waitFor(async () => (await ctx.redis.get('stat:processed')) === '3', 'three done');
    await worker.recorder.flush();
    assert.deepEqual(await historyKeys(), [`verk:history:${audited}`]);
    assert.deepEqual(await worker.recorder.history(plain), []);
    assert.deepEqual((await worker.flow.job(plain)).history, undefined);
  } finally {
    await worker.stop();
  }

  await ctx.redis.flushall();
  await ctx.redis.script('FLUSH');
  const quiet = await startEngine({ redis: ctx.server.url, nodeId: 'quiet', queues: { default: 1 }, pollInterval: 50 }, {
    FailOnce: failOnce('once', 0.05),
  });
  try {
    await quiet.client.enqueue({ queue: 'default', class: 'FailOnce', args: [1] });
    await quiet.client.enqueue({ queue: 'default', class: 'FailOnce', args: [2] });
    await waitFor(async () => (await ctx.redis.get('stat:processed')) === '2', 'both done');
    await quiet.recorder.flush();
    assert.deepEqual(await ctx.redis.keys('verk:history*'), []);
    // Scripts are loaded on their first call (EVALSHA, then EVAL): never called, never loaded.
    const sha = createHash('sha1').update(readFileSync(join(__dirname, '..', '..', '..', 'lua', 'history', 'recordEvents.lua'))).digest('hex');
    assert.deepEqual(await ctx.redis.script('EXISTS', sha), [0], 'no event was sent to Redis');
  } finally {
    await quiet.stop();
  }
});

test('the history option is validated, naming the field', () => {
  const make = (history: unknown) => new VerkEngine({ nodeId: 'x', history } as ConstructorParameters<typeof VerkEngine>[0]);
  assert.throws(() => make('yes'), (error: Error) => error instanceof VerkConfigError && /"history"/.test(error.message));
  assert.throws(() => make({ maxAge: 0 }), /"history.maxAge": must be an integer >= 100/);
  assert.throws(() => make({ maxJobs: 1.5 }), /"history.maxJobs"/);
  assert.throws(() => make({ queues: ['ok', 'not ok'] }), /"history.queues\[1\]"/);
  assert.throws(() => make({ queue: ['default'] }), /"history.queue": unknown option/);
  assert.equal(make(true).options.history.enabled, true);
  assert.equal(make(undefined).options.history.enabled, false);
  assert.deepEqual(make({ queues: ['a'] }).options.history, { enabled: true, queues: ['a'], maxAge: 30 * 24 * 3600 * 1000, maxJobs: 50_000 });
});
