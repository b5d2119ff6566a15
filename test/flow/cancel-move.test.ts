import assert from 'node:assert/strict';
import { test } from 'node:test';
import { currentJob, VerkFlowError } from '../../lib/engine';
import { startEngine, useRedis } from '../helpers/engine';
import { sleep, waitFor } from '../helpers/wait';

const ctx = useRedis();

/** The stored payloads of a list or sorted set, parsed. */
async function stored(key: string): Promise<{ jid: string; queue: string; priority?: number }[]> {
  const type = await ctx.redis.type(key);
  const members = type === 'list' ? await ctx.redis.lrange(key, 0, -1) : await ctx.redis.zrange(key, 0, '-1');
  return members.map((member) => JSON.parse(member) as { jid: string; queue: string });
}

test('cancel and move a job in each waiting state: queue, prioritized, schedule, retry, dead', async () => {
  // No queue runs: everything stays where it is put (the scheduler still runs).
  const engine = await startEngine({ redis: ctx.server.url, queues: {}, pollInterval: 5000 });
  try {
    const waiting = await engine.client.enqueue({ queue: 'a', class: 'W', args: [1] });
    const urgent = await engine.client.enqueue({ queue: 'a', class: 'W', args: [2], priority: 5 });
    const later = await engine.client.schedule({ queue: 'a', class: 'W', args: [3] }, Date.now() + 3_600_000);
    await ctx.redis.zadd('retry', String(Date.now() / 1000 + 3600), JSON.stringify({ class: 'W', args: [4], jid: 'retry-job', queue: 'a', retry_count: 1, custom: { kept: true } }));
    await ctx.redis.zadd('dead', String(Date.now() / 1000), JSON.stringify({ class: 'W', args: [5], jid: 'dead-job', queue: 'a' }));
    const scheduleScore = await ctx.redis.zscore('schedule', (await ctx.redis.zrange('schedule', 0, '0'))[0]);

    // Move: a waiting job goes to the end of the new queue, keeping its priority.
    assert.equal(await engine.control.move(waiting, 'b'), true);
    assert.equal(await engine.control.move(urgent, 'b'), true);
    await waitFor(async () => (await ctx.redis.llen('queue:b')) === 1 && (await ctx.redis.zcard('verk:queue:b:prioritized')) === 1, 'both in b');
    assert.deepEqual((await stored('queue:b')).map((job) => [job.jid, job.queue]), [[waiting, 'b']]);
    assert.deepEqual((await stored('verk:queue:b:prioritized')).map((job) => [job.jid, job.queue, job.priority]), [[urgent, 'b', 5]]);
    assert.equal(await ctx.redis.llen('queue:a'), 0);
    assert.equal(await ctx.redis.zcard('verk:queue:a:prioritized'), 0);

    // Scheduled, retry and dead jobs keep their time and every other field.
    assert.equal(await engine.control.move(later, 'b'), true);
    assert.equal(await engine.control.move('retry-job', 'b'), true);
    assert.equal(await engine.control.move('dead-job', 'b'), true);
    const [scheduled] = await ctx.redis.zrange('schedule', 0, '-1', 'WITHSCORES');
    assert.equal((JSON.parse(scheduled) as { queue: string }).queue, 'b');
    assert.equal(await ctx.redis.zscore('schedule', scheduled), scheduleScore);
    const [retried] = await stored('retry');
    assert.deepEqual(retried, { class: 'W', args: [4], jid: 'retry-job', queue: 'b', retry_count: 1, custom: { kept: true } });
    assert.equal((await stored('dead'))[0].queue, 'b');
    assert.equal(await engine.control.move('no-such-job', 'b'), false);

    // Cancel removes each, wherever it is.
    for (const jid of [waiting, urgent, later, 'retry-job', 'dead-job']) assert.equal(await engine.flow.cancel(jid), true, jid);
    for (const key of ['queue:b', 'verk:queue:b:prioritized', 'schedule', 'retry', 'dead']) assert.equal(await ctx.redis.exists(key), 0, key);
    assert.equal(await engine.flow.cancel(waiting), false);
  } finally {
    await engine.stop();
  }
});

test('a job waiting for dependencies can be moved: it is released into its new queue', async () => {
  const engine = await startEngine({ redis: ctx.server.url, queues: { a: 1 }, pollInterval: 5000 }, { Parent: { perform: () => sleep(200) } });
  try {
    const parent = await engine.client.enqueue({ queue: 'a', class: 'Parent', dependable: true });
    const child = await engine.client.enqueue({ queue: 'a', class: 'Child', dependsOn: [parent] });
    assert.equal(await engine.control.move(child, 'c'), true);
    assert.equal((await engine.flow.job(child)).queue, 'c');
    await waitFor(async () => (await ctx.redis.llen('queue:c')) === 1, 'child released into c');
    assert.equal((await stored('queue:c'))[0].jid, child);
  } finally {
    await engine.stop();
  }
});

test('cancelling a running job tells its worker (currentJob().canceled) and ignores its outcome', async () => {
  const seen: { canceled: boolean; movedTo?: string }[] = [];
  const engine = await startEngine({ redis: ctx.server.url, queues: { a: 2 }, pollInterval: 50 }, {
    Long: {
      context: true,
      async perform() {
        const job = currentJob();
        for (let i = 0; i < 500 && !job?.canceled; i++) await sleep(10);
        seen.push({ canceled: job?.canceled === true, movedTo: job?.movedTo });
        // Even a failure after the cancel writes nothing.
        throw new Error('stopped early');
      },
    },
  });
  try {
    const jid = await engine.client.enqueue({ queue: 'a', class: 'Long' });
    await waitFor(async () => (await engine.flow.job(jid)).state === 'running', 'the job to run');
    assert.equal(await engine.flow.cancel(jid), true);
    await waitFor(() => seen.length === 1, 'the worker to notice');
    assert.deepEqual(seen, [{ canceled: true, movedTo: undefined }]);
    await sleep(200);
    assert.equal(await ctx.redis.zcard('retry'), 0, 'its failure was ignored');
    assert.equal(await ctx.redis.llen('inprogress:a:test-node'), 0);
    assert.equal(await ctx.redis.get('stat:failed'), null);
    assert.equal((await engine.flow.job(jid)).state, 'unknown');
  } finally {
    await engine.stop();
  }
});

test('moving a running job tells its worker (movedTo) and runs it again in the new queue; its first outcome is ignored', async () => {
  const runs: { queue: string; movedTo?: string }[] = [];
  const engine = await startEngine({ redis: ctx.server.url, queues: { a: 1, b: 1 }, pollInterval: 50 }, {
    Long: {
      context: true,
      async perform() {
        const job = currentJob();
        for (let i = 0; i < 300 && !job?.canceled && job?.queue === 'a'; i++) await sleep(10);
        runs.push({ queue: job?.queue ?? '?', movedTo: job?.movedTo });
      },
    },
  });
  try {
    const jid = await engine.client.enqueue({ queue: 'a', class: 'Long' });
    await waitFor(async () => (await engine.flow.job(jid)).state === 'running', 'the job to run');
    assert.equal(await engine.control.move(jid, 'b'), true);
    await waitFor(() => runs.length === 2, 'the job to run again in b');
    // The run in b may end first: it does not wait.
    assert.deepEqual([...runs].sort((x, y) => x.queue.localeCompare(y.queue)), [{ queue: 'a', movedTo: 'b' }, { queue: 'b', movedTo: undefined }]);
    await sleep(100);
    assert.equal(await ctx.redis.get('verk:stat:processed:queue:a'), null, 'the interrupted run was not counted');
    assert.equal(await ctx.redis.get('verk:stat:processed:queue:b'), '1');
  } finally {
    await engine.stop();
  }
});

test('the race with a worker that already popped the job: every cancel and move lands once, popped runs are ignored', async () => {
  let started = 0;
  let noticed = 0;
  const engine = await startEngine({ redis: ctx.server.url, queues: { a: 4 }, pollInterval: 50 }, {
    Slow: {
      context: true,
      async perform() {
        started++;
        const job = currentJob();
        for (let i = 0; i < 100 && !job?.canceled; i++) await sleep(5);
        if (job?.canceled) noticed++;
      },
    },
  });
  try {
    const moved: string[] = [];
    const canceled: string[] = [];
    for (let i = 0; i < 40; i++) {
      const jid = await engine.client.enqueue({ queue: 'a', class: 'Slow', args: [i] });
      // Immediately: the worker may or may not have popped it yet.
      if (i % 2 === 0) {
        assert.equal(await engine.control.move(jid, 'parked'), true, `move ${i}`);
        moved.push(jid);
      } else {
        assert.equal(await engine.flow.cancel(jid), true, `cancel ${i}`);
        canceled.push(jid);
      }
    }
    await waitFor(async () => (await ctx.redis.llen('queue:parked')) === moved.length, 'every moved job in parked');
    await waitFor(async () => (await ctx.redis.llen('inprogress:a:test-node')) === 0 && noticed === started, 'popped runs to notice and end');
    const parked = (await stored('queue:parked')).map((job) => job.jid);
    assert.deepEqual([...parked].sort(), [...moved].sort(), 'each moved job exactly once in its new queue');
    assert.equal(await ctx.redis.get('verk:stat:processed:queue:a'), null, 'no run in a counted');
    assert.equal(await ctx.redis.llen('queue:a'), 0);
    for (const jid of canceled) assert.equal((await engine.flow.job(jid)).state, 'unknown');
    assert.ok(started > 0, 'some jobs were popped before the move or cancel (the race happened)');
  } finally {
    await engine.stop();
  }
});

test('a running job with dependents or in a running batch is refused like a waiting one', async () => {
  const engine = await startEngine({ redis: ctx.server.url, queues: { a: 1 }, pollInterval: 50 }, { Long: { perform: () => sleep(400) } });
  try {
    const parent = await engine.client.enqueue({ queue: 'a', class: 'Long', dependable: true });
    await engine.client.enqueue({ queue: 'b', class: 'Child', dependsOn: [parent] });
    await waitFor(async () => (await engine.flow.job(parent)).state === 'running', 'the parent to run');
    await assert.rejects(engine.flow.cancel(parent), VerkFlowError);
    await waitFor(async () => (await ctx.redis.llen('queue:b')) === 1, 'the child released normally');
  } finally {
    await engine.stop();
  }
});

test('moves and cancels are recorded in the job\'s history', async () => {
  const engine = await startEngine({ redis: ctx.server.url, queues: {}, pollInterval: 5000, history: true });
  try {
    const jid = await engine.client.enqueue({ queue: 'a', class: 'W' });
    assert.equal(await engine.control.move(jid, 'b'), true);
    await waitFor(async () => (await ctx.redis.llen('queue:b')) === 1, 'moved into b');
    assert.equal(await engine.flow.cancel(jid), true);
    await engine.recorder.flush();
    const events = (await engine.recorder.history(jid)).map((event) => [event.event, event.queue, event.from, event.to, event.node]);
    assert.deepEqual(events.filter(([name]) => name === 'moved' || name === 'canceled'), [
      ['moved', 'b', 'a', 'b', 'test-node'],
      ['canceled', 'b', undefined, undefined, 'test-node'],
    ]);
    assert.equal(events[0][0], 'enqueued');
  } finally {
    await engine.stop();
  }
});
