import assert from 'node:assert/strict';
import { test } from 'node:test';
import type Redis from 'ioredis';
import { VerkEngine, VerkValidationError } from '../../lib/engine';
import { startEngine, useRedis } from '../helpers/engine';
import { waitFor } from '../helpers/wait';

/**
 * Issue 12 (dashboard): a job found by its jid alone, without an index (plain jobs pay no
 * write for it). engine.browse.locate reads where a page saw the job (hint) and the job's
 * history first, one exact read each; otherwise it searches server-side, reading at most
 * `scanLimit` members per call, and hands back a cursor. Tens of thousands of members
 * here; the 1,000,000-job figures are in the dashboard bench.
 */

const ctx = useRedis();

const jidOf = (prefix: number, n: number): string => `${prefix.toString(16)}${n.toString(16).padStart(23, '0')}`;
const member = (jid: string, queue: string, extra = ''): string => `{"class":"W","args":[${JSON.stringify(`x-${jid.slice(-4)}`)}],"jid":"${jid}","queue":"${queue}"${extra}}`;

/** An engine that is not started: reads only. */
function reader(): VerkEngine {
  return new VerkEngine({ redis: ctx.server.url, nodeId: 'reader', queues: {}, heartbeat: 10_000 });
}

/** LPUSHes `count` jobs to queue:<queue> in chunks: the first pushed is the first to run. */
async function fillQueue(redis: Redis, queue: string, prefix: number, count: number): Promise<void> {
  for (let i = 0; i < count; i += 5000) {
    await redis.lpush(`queue:${queue}`, ...Array.from({ length: Math.min(5000, count - i) }, (_, k) => member(jidOf(prefix, i + k), queue)));
  }
  await redis.sadd('queues', queue);
}

test('a jid with no hint and no history: bounded steps (never more than scanLimit read), a cursor to go on, found in the end; nowhere = null cursor', async () => {
  const engine = reader();
  try {
    await fillQueue(ctx.redis, 'big', 1, 30_000);
    // Sets come first in the search; the queue after them; then the nodes' in-progress lists.
    const retry: (string | number)[] = [];
    for (let n = 0; n < 5000; n++) retry.push(1000 + n, member(jidOf(2, n), 'big', ',"error_class":"E"'));
    await ctx.redis.zadd('retry', ...retry);
    await ctx.redis.sadd('verk_nodes', 'n1');
    await ctx.redis.sadd('verk:node:n1:queues', 'big');
    const running = jidOf(4, 7);
    await ctx.redis.lpush('inprogress:big:n1', member(running, 'big'));

    const target = jidOf(1, 29_990); // near the end of the queue's run order
    let cursor: string | null = null;
    let steps = 0;
    let total = 0;
    let found = null;
    do {
      const step = await engine.browse.locate(target, { cursor, scanLimit: 4000 });
      assert.ok(step.scanned <= 4000, `step ${steps} read ${step.scanned} members`);
      total += step.scanned;
      steps++;
      found = step.found;
      if (found) {
        assert.equal(step.via, 'search');
        assert.equal(step.nextCursor, null);
        assert.deepEqual(step.hint, { queue: 'big', offset: 29_990 }, 'the hint gives its run-order position');
      } else assert.ok(step.nextCursor, 'not found yet: a cursor to continue');
      cursor = step.nextCursor;
    } while (cursor !== null);
    assert.equal(found?.where, 'queue');
    assert.equal(found?.job.jid, target);
    assert.equal(found?.raw, member(target, 'big'));
    assert.ok(steps >= 9 && total >= 5000 + 29_990, `${steps} steps, ${total} read`);

    // The hint it gave finds it again in one window read.
    const again = await engine.browse.locate(target, { hint: { queue: 'big', offset: 29_990 } });
    assert.deepEqual([again.via, again.scanned, again.found?.raw], ['hint', 0, member(target, 'big')]);

    // In a node's in-progress list: read before the search (a first step), found however small the bound.
    const first = await engine.browse.locate(running, { scanLimit: 1 });
    assert.deepEqual([first.via, first.scanned, first.found?.where, first.hint], ['search', 1, 'inprogress', { queue: 'big', node: 'n1' }]);
    assert.deepEqual(await engine.admin.findJob(running), { where: 'inprogress', queue: 'big', nodeId: 'n1', job: JSON.parse(member(running, 'big')), raw: member(running, 'big') });

    // Nowhere: the search ends with a null cursor.
    const missing = jidOf(9, 1);
    let end: string | null = null;
    let last;
    do {
      last = await engine.browse.locate(missing, { cursor: end, scanLimit: 50_000 });
      end = last.nextCursor;
    } while (end !== null);
    assert.equal(last.found, null);
    assert.equal(await engine.admin.findJob(missing), null);
    assert.equal(await engine.admin.findIn(missing, 'retry'), null);
    assert.equal((await engine.admin.findIn(jidOf(2, 4321), 'retry'))?.where, 'retry');
  } finally {
    await engine.stop();
  }
});

test('hints a page gives are read exactly: set and score, queue and node, queue and position (a window around it); a stale hint falls back to the search', async () => {
  const engine = reader();
  try {
    await fillQueue(ctx.redis, 'q', 1, 20_000);
    const dead: (string | number)[] = [];
    for (let n = 0; n < 20_000; n++) dead.push(5000 + n / 100, member(jidOf(3, n), 'q'));
    await ctx.redis.zadd('dead', ...dead);
    await ctx.redis.sadd('verk_nodes', 'n1', 'n2');
    await ctx.redis.sadd('verk:node:n2:queues', 'q');
    await ctx.redis.lpush('inprogress:q:n2', member(jidOf(4, 1), 'q'), member(jidOf(4, 2), 'q'));

    const [listed] = (await engine.admin.listJobs('dead', { offset: 12_345, limit: 1 })).jobs;
    const bySet = await engine.browse.locate(listed.job?.jid as string, { hint: { set: 'dead', at: listed.at as number } });
    assert.deepEqual([bySet.via, bySet.scanned, bySet.found?.raw], ['hint', 0, listed.raw]);
    assert.deepEqual(bySet.hint, { set: 'dead', at: listed.at });

    const byNode = await engine.browse.locate(jidOf(4, 2), { hint: { queue: 'q', node: 'n2' } });
    assert.deepEqual([byNode.via, byNode.found?.where, byNode.found?.where === 'inprogress' && byNode.found.nodeId], ['hint', 'inprogress', 'n2']);

    // A queue page listed it at 15,000; 60 jobs ran since (it moved to 14,940): still in the window.
    await ctx.redis.rpop('queue:q', 60);
    const byPosition = await engine.browse.locate(jidOf(1, 15_000), { hint: { queue: 'q', offset: 15_000 } });
    assert.deepEqual([byPosition.via, byPosition.scanned, byPosition.found?.job.jid], ['hint', 0, jidOf(1, 15_000)]);
    assert.deepEqual(byPosition.hint, { queue: 'q', offset: 14_940 });

    // A stale hint (the job was retried: a new score) is not trusted: the search finds it.
    const moved = jidOf(3, 10);
    await ctx.redis.zrem('dead', member(moved, 'q'));
    await ctx.redis.zadd('dead', 99_999, member(moved, 'q'));
    const stale = await engine.browse.locate(moved, { hint: { set: 'dead', at: 5000.1 } });
    assert.deepEqual([stale.via, stale.found?.where, stale.found?.where === 'dead' && stale.found.at], ['search', 'dead', 99_999]);

    // A member that only names the jid (another job's args) is not it.
    const named = jidOf(3, 19_999);
    await ctx.redis.zadd('dead', 1, `{"class":"W","args":["${named}"],"jid":"${jidOf(5, 1)}","queue":"q"}`);
    const step = await engine.browse.locate(named);
    assert.equal(step.found?.job.jid, named);

    await assert.rejects(engine.browse.locate(named, { cursor: 'x1:nothing' }), (error: unknown) => error instanceof VerkValidationError && error.field === 'options.cursor');
    await assert.rejects(engine.browse.locate(named, { scanLimit: 0 }), (error: unknown) => error instanceof VerkValidationError && error.field === 'options.scanLimit');
    await assert.rejects(engine.browse.locate(named, { hint: { set: 'dead', at: Number.NaN } }), (error: unknown) => error instanceof VerkValidationError && error.field === 'options.hint.at');
  } finally {
    await engine.stop();
  }
});

test("a cursor names its place: a queue added in front of it meanwhile does not make the search skip or repeat the rest", async () => {
  const engine = reader();
  try {
    await fillQueue(ctx.redis, 'm', 1, 12_000);
    const target = jidOf(1, 11_000);
    const first = await engine.browse.locate(target, { scanLimit: 6000 });
    assert.equal(first.found, null);
    assert.match(first.nextCursor ?? '', /^q6000:m$/);
    await fillQueue(ctx.redis, 'a-new', 7, 3000); // sorts before 'm'
    const second = await engine.browse.locate(target, { cursor: first.nextCursor, scanLimit: 6000 });
    assert.equal(second.found?.job.jid, target);
    assert.ok(second.scanned <= 5001, `went on from 6,000 in m: read ${second.scanned}`);
  } finally {
    await engine.stop();
  }
});

test("with history on, the job's last event says where it is: found in retry and dead without a search, 'finished' ends the lookup", async () => {
  const client = new VerkEngine({ redis: ctx.server.url, nodeId: 'producer', queues: {}, history: true });
  const worker = await startEngine({ redis: ctx.server.url, nodeId: 'worker-1', queues: { default: 2 }, pollInterval: 50, history: true }, {
    Fail: {
      perform() {
        throw new Error('no');
      },
      retryAt: (failedAt) => failedAt + 3600,
    },
    Die: {
      perform() {
        throw new Error('dead');
      },
    },
    Ok: { perform: () => undefined },
  });
  try {
    // A big retry set around it, so that finding it by a search would take steps.
    const filler: (string | number)[] = [];
    for (let n = 0; n < 20_000; n++) filler.push(Date.now() / 1000 + 3000 + n / 10, member(jidOf(2, n), 'default'));
    await ctx.redis.zadd('retry', ...filler);
    const failing = await client.client.enqueue({ queue: 'default', class: 'Fail' });
    const dying = await client.client.enqueue({ queue: 'default', class: 'Die', maxRetryCount: 0 });
    const ok = await client.client.enqueue({ queue: 'default', class: 'Ok' });
    await waitFor(async () => (await worker.recorder.history(failing)).some((event) => event.event === 'failed'), 'the failure recorded');
    await waitFor(async () => (await worker.recorder.history(dying)).some((event) => event.event === 'dead'), 'the death recorded');
    await waitFor(async () => (await worker.recorder.history(ok)).some((event) => event.event === 'finished'), 'the finish recorded');

    const inRetry = await client.browse.locate(failing, { scanLimit: 1 });
    assert.deepEqual([inRetry.via, inRetry.scanned, inRetry.found?.where], ['history', 0, 'retry']);
    const inDead = await client.browse.locate(dying, { scanLimit: 1 });
    assert.deepEqual([inDead.via, inDead.scanned, inDead.found?.where], ['history', 0, 'dead']);
    const finished = await client.browse.locate(ok, { scanLimit: 1 });
    assert.deepEqual([finished.found, finished.gone, finished.nextCursor, finished.scanned], [null, 'finished', null, 0]);
    // flow.job with a one-step locate (what the dashboard does) gives the full status.
    const status = await client.flow.job(failing, { locate: async (jid) => (await client.browse.locate(jid, { scanLimit: 1 })).found });
    assert.equal(status.state, 'retry');
    assert.equal(status.raw, (await ctx.redis.zrange('retry', 0, '-1')).find((raw) => raw.includes(`"jid":"${failing}"`)), 'the stored text, as is');
  } finally {
    await worker.stop();
    await client.stop();
  }
});
