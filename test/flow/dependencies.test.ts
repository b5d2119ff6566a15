import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newJid, VerkFlowError, VerkValidationError } from '../../lib/engine';
import { startEngine, useRedis } from '../helpers/engine';
import { sleep, waitFor } from '../helpers/wait';

const ctx = useRedis();

/** Records start and end of every run, so order can be checked. */
function recorder() {
  const events: string[] = [];
  const handler = (name: string, fail: () => boolean = () => false) => ({
    async perform() {
      events.push(`start ${name}`);
      await sleep(20);
      if (fail()) {
        events.push(`fail ${name}`);
        throw new Error(`${name} failed`);
      }
      events.push(`end ${name}`);
    },
    retryAt: (failedAt: number) => failedAt + 0.3,
  });
  return { events, handler };
}

test('a diamond A -> B, C -> D runs in a valid order; a failing B holds D until B succeeds on retry', async () => {
  const { events, handler } = recorder();
  let bFailures = 0;
  const engine = await startEngine(
    { redis: ctx.server.url, queues: { default: 4 }, pollInterval: 100 },
    { A: handler('A'), B: handler('B', () => bFailures++ < 2), C: handler('C'), D: handler('D') },
  );
  try {
    const [a, b, c, d] = [newJid(), newJid(), newJid(), newJid()];
    const jids = await engine.client.enqueueMany([
      { queue: 'default', class: 'A', jid: a },
      { queue: 'default', class: 'B', jid: b, dependsOn: [a] },
      { queue: 'default', class: 'C', jid: c, dependsOn: [a] },
      { queue: 'default', class: 'D', jid: d, dependsOn: [b, c] },
    ]);
    assert.deepEqual(jids, [a, b, c, d]);

    // B fails twice: while it sits in retry, D is blocked and says why.
    await waitFor(() => events.includes('fail B') && events.includes('end C'), 'B failing and C finishing');
    const status = await waitFor(async () => {
      const s = await engine.flow.job(d);
      return s.waitingFor?.length === 1 && s.waitingFor[0].state === 'retry' ? s : null;
    }, 'D blocked on B in retry');
    assert.equal(status.state, 'blocked');
    assert.deepEqual(status.waitingFor, [{ jid: b, state: 'retry' }]);
    assert.equal(status.job?.class, 'D');
    assert.deepEqual((await engine.flow.job(b)).dependents, [d]);

    await waitFor(() => events.includes('end D'), 'D to run', 20_000);
    const at = (event: string) => events.indexOf(event);
    assert.ok(at('end A') < at('start B') && at('end A') < at('start C'), events.join(', '));
    assert.ok(at('start D') > events.lastIndexOf('end B') && at('start D') > at('end C'), events.join(', '));
    assert.equal(events.filter((e) => e === 'start D').length, 1);
    assert.equal(events.filter((e) => e === 'start B').length, 3);
    assert.equal((await engine.flow.job(d)).state, 'finished');
    assert.equal((await engine.flow.job(a)).state, 'finished');
    // Nothing of the graph is left behind but the finished records.
    for (const key of ['verk:flow:pending', 'verk:flow:blocked', 'verk:flow:waiting_on', 'verk:flow:dependents']) {
      assert.equal(await ctx.redis.hlen(key), 0, key);
    }
    assert.equal(await ctx.redis.zcard('verk:flow:done'), 4);
  } finally {
    await engine.stop();
  }
});

test('a dependency that already finished is satisfied; one that is unknown is refused and nothing is written', async () => {
  const ran: string[] = [];
  const engine = await startEngine({ redis: ctx.server.url, queues: { default: 2 }, pollInterval: 5000 }, {
    Step: { perform: (args) => void ran.push(String(args[0])) },
  });
  try {
    const first = await engine.client.enqueue({ queue: 'default', class: 'Step', args: ['first'], dependable: true });
    await waitFor(async () => (await engine.flow.job(first)).state === 'finished', 'first to finish');
    const started = Date.now();
    await engine.client.enqueue({ queue: 'default', class: 'Step', args: ['second'], dependsOn: [first] });
    await waitFor(() => ran.includes('second'), 'second to run');
    // Ready flow jobs go through `schedule`, but the node polls at once instead of in 5 s.
    assert.ok(Date.now() - started < 1000, `took ${Date.now() - started} ms`);

    const before = await ctx.redis.dbsize();
    await assert.rejects(
      engine.client.enqueue({ queue: 'default', class: 'Step', args: ['third'], dependsOn: [first, 'no-such-job'] }),
      (error: unknown) => error instanceof VerkValidationError && error.field === 'job.dependsOn[1]' && /no-such-job is neither pending nor recorded/.test(error.message),
    );
    // A plain job (not dependable) leaves no record either.
    const plain = await engine.client.enqueue({ queue: 'default', class: 'Step', args: ['plain'] });
    await waitFor(() => ran.includes('plain'), 'plain to run');
    await assert.rejects(engine.client.enqueue({ queue: 'default', class: 'Step', dependsOn: [plain] }), VerkValidationError);
    assert.equal(await ctx.redis.dbsize(), before, 'the refused enqueues wrote nothing');
    assert.equal(await ctx.redis.hlen('verk:flow:blocked'), 0);
  } finally {
    await engine.stop();
  }
});

test('enqueueMany refuses a dependency on a later job of the same call, and a job depending on itself', async () => {
  const engine = await startEngine({ redis: ctx.server.url, queues: {} });
  try {
    const keysBefore = await ctx.redis.dbsize(); // the node's own keys
    const [x, y] = [newJid(), newJid()];
    await assert.rejects(
      engine.client.enqueueMany([
        { queue: 'default', class: 'X', jid: x, dependsOn: [y] },
        { queue: 'default', class: 'Y', jid: y },
      ]),
      (error: unknown) => error instanceof VerkValidationError && error.field === 'jobs[0].dependsOn[0]',
    );
    await assert.rejects(engine.client.enqueue({ queue: 'default', class: 'X', jid: x, dependsOn: [x] }), /cannot depend on itself/);
    await assert.rejects(engine.client.enqueue({ queue: 'default', class: 'X', dependsOn: 'abc' as unknown as string[] }), /job.dependsOn: must be an array/);
    assert.equal(await ctx.redis.dbsize(), keysBefore);
  } finally {
    await engine.stop();
  }
});

test('cancelling a job with dependents is refused unless cascading, which removes the whole chain', async () => {
  // No queue runs here: everything stays where it was put.
  const engine = await startEngine({ redis: ctx.server.url, queues: {}, pollInterval: 50 });
  try {
    const [a, b, c] = [newJid(), newJid(), newJid()];
    await engine.client.enqueueMany([
      { queue: 'default', class: 'A', jid: a },
      { queue: 'default', class: 'B', jid: b, dependsOn: [a] },
      { queue: 'default', class: 'C', jid: c, dependsOn: [b] },
    ]);
    await waitFor(async () => (await ctx.redis.llen('queue:default')) === 1, 'A in its queue');
    assert.equal((await engine.flow.job(a)).state, 'waiting');
    assert.equal((await engine.flow.job(c)).state, 'blocked');

    await assert.rejects(engine.flow.cancel(a), (error: unknown) => error instanceof VerkFlowError && /1 job\(s\) waiting for it/.test(error.message));
    await assert.rejects(engine.flow.cancel(b), VerkFlowError);
    assert.equal(await ctx.redis.llen('queue:default'), 1, 'refused cancel wrote nothing');

    assert.equal(await engine.flow.cancel(c), true, 'a blocked job without dependents can be cancelled');
    assert.equal((await engine.flow.job(c)).state, 'unknown');
    assert.equal(await engine.flow.cancel(a, { cascade: true }), true);
    assert.equal(await ctx.redis.llen('queue:default'), 0);
    assert.equal((await engine.flow.job(b)).state, 'unknown');
    for (const key of ['verk:flow:pending', 'verk:flow:blocked', 'verk:flow:waiting_on', 'verk:flow:dependents']) {
      assert.equal(await ctx.redis.hlen(key), 0, key);
    }
    assert.equal(await engine.flow.cancel(a), false, 'gone');
  } finally {
    await engine.stop();
  }
});

test('a dead dependency holds its dependent until it is retried and succeeds', async () => {
  let fail = true;
  const ran: string[] = [];
  const engine = await startEngine({ redis: ctx.server.url, queues: { default: 2 }, pollInterval: 50 }, {
    Parent: {
      perform() {
        if (fail) throw new Error('broken');
        ran.push('parent');
      },
    },
    Child: { perform: () => void ran.push('child') },
  });
  try {
    const parent = await engine.client.enqueue({ queue: 'default', class: 'Parent', retry: false, dependable: true });
    const child = await engine.client.enqueue({ queue: 'default', class: 'Child', dependsOn: [parent] });
    await waitFor(async () => (await ctx.redis.zcard('dead')) === 1, 'parent in dead');
    await sleep(200);
    assert.equal(ran.length, 0, 'child ran while parent was dead');
    assert.deepEqual((await engine.flow.job(child)).waitingFor, [{ jid: parent, state: 'dead' }]);
    await assert.rejects(engine.flow.cancel(parent, { from: 'dead' }), VerkFlowError);
    fail = false;
    assert.equal(await engine.admin.retryNow(parent, 'dead'), true);
    await waitFor(() => ran.includes('child'), 'child to run');
    assert.deepEqual(ran, ['parent', 'child']);
  } finally {
    await engine.stop();
  }
});

test('a released dependent keeps its priority: it lands in its queue\'s prioritized set', async () => {
  const engine = await startEngine({ redis: ctx.server.url, queues: { a: 1 }, pollInterval: 5000 }, { A: { perform: () => undefined } });
  try {
    const a = await engine.client.enqueue({ queue: 'a', class: 'A', dependable: true });
    const d = await engine.client.enqueue({ queue: 'b', class: 'D', dependsOn: [a], priority: 10 });
    await waitFor(async () => (await ctx.redis.zcard('verk:queue:b:prioritized')) === 1, 'D in the prioritized set of b');
    const [member] = await ctx.redis.zrange('verk:queue:b:prioritized', 0, '0');
    assert.equal((JSON.parse(member) as { jid: string; priority: number }).jid, d);
    assert.equal((await engine.flow.job(d)).state, 'waiting');
  } finally {
    await engine.stop();
  }
});
