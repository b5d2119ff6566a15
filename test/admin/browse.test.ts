import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VerkEngine, VerkValidationError } from '../../lib/engine';
import { MAX_SCAN } from '../../lib/engine/admin/job-search';
import { useRedis } from '../helpers/engine';

/**
 * Issue 12 (dashboard engine): the reads of the dashboard's pages on large data, each a
 * bounded amount of work per call: listJobs pages by index both ways, the filtered search
 * (engine.browse.search) with its cursor, the Busy page (engine.browse.busy) over many
 * nodes, the Queues page (engine.browse.queues).
 */

const ctx = useRedis();

const jidOf = (n: number): string => n.toString(16).padStart(24, '0');

/** An engine that is not started: reads only, no scheduler moving jobs. */
function reader(): VerkEngine {
  return new VerkEngine({ redis: ctx.server.url, nodeId: 'reader', queues: {}, heartbeat: 10_000 });
}

test('listJobs pages a sorted set by index, oldest or newest first, exactly at the edges; findAt finds a listed job by its score', async () => {
  const engine = reader();
  try {
    for (let n = 0; n < 7; n++) await ctx.redis.zadd('dead', 100 + n, `{"class":"W","args":[${n}],"jid":"${jidOf(n)}","queue":"q"}`);
    const page = async (offset: number, order: 'asc' | 'desc') => {
      const result = await engine.admin.listJobs('dead', { offset, limit: 3, order });
      assert.equal(result.total, 7);
      return result.jobs.map((job) => job.at);
    };
    assert.deepEqual(await page(0, 'asc'), [100, 101, 102]);
    assert.deepEqual(await page(3, 'asc'), [103, 104, 105]);
    assert.deepEqual(await page(6, 'asc'), [106]);
    assert.deepEqual(await page(7, 'asc'), []);
    assert.deepEqual(await page(0, 'desc'), [106, 105, 104]);
    assert.deepEqual(await page(6, 'desc'), [100]);
    assert.deepEqual(await page(70, 'desc'), []);
    // A listed job found again by its score, in one exact read.
    const [listed] = (await engine.admin.listJobs('dead', { offset: 4, limit: 1 })).jobs;
    const found = await engine.browse.findAt('dead', jidOf(4), listed.at as number);
    assert.equal(found?.raw, listed.raw);
    assert.equal(found?.where, 'dead');
    assert.equal(await engine.browse.findAt('dead', jidOf(4), 105), null, 'another score');
    assert.equal(await engine.browse.findAt('retry', jidOf(4), 104), null, 'another set');
    await assert.rejects(engine.browse.findAt('dead', jidOf(4), Number.POSITIVE_INFINITY), (error: unknown) => error instanceof VerkValidationError && error.field === 'at');
    await assert.rejects(engine.admin.listJobs({ queue: 'q' }, { order: 'desc' }), (error: unknown) => error instanceof VerkValidationError && error.field === 'options.order');
    await assert.rejects(engine.admin.listJobs('dead', { order: 'up' as 'asc' }), (error: unknown) => error instanceof VerkValidationError && error.field === 'options.order');
  } finally {
    await engine.stop();
  }
});

test('search finds every match of a 3,000-job set across calls with the cursor, never reading more than the bound per call', async () => {
  const engine = reader();
  try {
    const expected: string[] = [];
    const members: (string | number)[] = [];
    for (let n = 0; n < 3000; n++) {
      const match = n % 7 === 3;
      if (match) expected.push(jidOf(n));
      // Matches: class Match::It in queue q1 with "Needle" in the error; decoys share two of the three.
      const cls = match || n % 7 === 4 ? 'Match::It' : 'Other';
      const queue = match || n % 7 === 5 ? 'q1' : 'q2';
      const error = match || n % 7 === 6 ? 'a Needle here' : 'nothing';
      members.push(n, JSON.stringify({ class: cls, args: [n], jid: jidOf(n), queue, error_message: error }));
    }
    await ctx.redis.zadd('retry', ...members);
    await ctx.redis.zadd('retry', 5000, 'not json at all, with needle');

    const found: string[] = [];
    let cursor: string | null = null;
    let calls = 0;
    do {
      const page = await engine.browse.search('retry', { class: 'Match::It', queue: 'q1', text: 'NEEDLE' }, { cursor, limit: 100, scanLimit: 400 });
      assert.ok(page.scanned <= 400, `call ${calls} read ${page.scanned} members`);
      assert.equal(page.total, 3001);
      assert.ok(page.jobs.length <= 100);
      for (const listed of page.jobs) {
        assert.equal(typeof listed.at, 'number');
        found.push(listed.job?.jid as string);
      }
      cursor = page.nextCursor;
      calls++;
    } while (cursor !== null && calls < 1000);
    assert.deepEqual(found, expected, 'every match once, in score order');
    assert.ok(calls >= 3000 / 400, 'the work was spread over calls');

    // Text only: the member that is not JSON matches too; newest first.
    const text = await engine.browse.search('retry', { text: 'needle' }, { limit: 3, order: 'desc' });
    assert.equal(text.jobs[0].raw, 'not json at all, with needle');
    assert.equal(text.jobs[0].job, null);
    assert.equal(text.jobs.length, 3);
    assert.ok(text.nextCursor !== null && text.scanned < MAX_SCAN, 'stops once the page is full');
    // No filter: a page as listJobs gives it.
    const all = await engine.browse.search('retry', {}, { limit: 5 });
    assert.deepEqual(all.jobs.map((job) => job.raw), (await engine.admin.listJobs('retry', { limit: 5 })).jobs.map((job) => job.raw));
    assert.equal(all.nextCursor, '5');
    await assert.rejects(engine.browse.search('retry', {}, { scanLimit: MAX_SCAN + 1 }), (error: unknown) => error instanceof VerkValidationError && error.field === 'options.scanLimit');
    await assert.rejects(engine.browse.search('retry', {}, { cursor: 'x' }), (error: unknown) => error instanceof VerkValidationError && error.field === 'options.cursor');
    await assert.rejects(engine.browse.search('retry', { class: 3 as unknown as string }), (error: unknown) => error instanceof VerkValidationError && error.field === 'filter.class');
  } finally {
    await engine.stop();
  }
});

test('search of a queue goes through its waiting jobs in run order (priority > 0, the list, priority < 0)', async () => {
  const engine = reader();
  try {
    const job = (n: number, extra: Record<string, unknown> = {}) => JSON.stringify({ class: n % 2 === 0 ? 'Even' : 'Odd', args: [n], jid: jidOf(n), queue: 'w', ...extra });
    // List: LPUSH 0..9, so 0 runs first. Prioritized: 100..104 priority 5, 200..204 priority -5.
    for (let n = 0; n < 10; n++) await ctx.redis.lpush('queue:w', job(n));
    for (let n = 0; n < 5; n++) await ctx.redis.zadd('verk:queue:w:prioritized', -5 * 2 ** 42 + n, job(100 + n, { priority: 5 }), 5 * 2 ** 42 + n, job(200 + n, { priority: -5 }));
    const order: number[] = [];
    let cursor: string | null = null;
    do {
      const page = await engine.browse.search({ queue: 'w' }, { class: 'Even' }, { cursor, scanLimit: 3 });
      assert.ok(page.scanned <= 3);
      assert.equal(page.total, 20);
      for (const listed of page.jobs) order.push(listed.job?.args[0] as number);
      cursor = page.nextCursor;
    } while (cursor !== null);
    assert.deepEqual(order, [100, 102, 104, 0, 2, 4, 6, 8, 200, 202, 204]);
  } finally {
    await engine.stop();
  }
});

test('busy pages through 1,200 nodes with a cursor: each node once, alive or dead, its running jobs and when they started', async () => {
  const engine = reader();
  try {
    const multi = ctx.redis.multi();
    for (let n = 0; n < 1200; n++) {
      const id = `node-${String(n).padStart(4, '0')}`;
      multi.sadd('verk_nodes', id).sadd(`verk:node:${id}:queues`, 'q1', 'q2');
      // Even nodes alive (heartbeat 10 s: the key lives 20 s; beat 3 s ago).
      if (n % 2 === 0) multi.psetex(`verk:node:${id}`, 17_000, 'alive');
      if (n % 100 === 0) {
        multi.lpush(`inprogress:q1:${id}`, JSON.stringify({ class: 'Busy', args: [n], jid: jidOf(n), queue: 'q1' }), 'garbage');
        multi.rpush(`verk:history:${jidOf(n)}`, JSON.stringify({ jid: jidOf(n), event: 'enqueued', at: 1000, node: id }), JSON.stringify({ jid: jidOf(n), event: 'started', at: 2000 + n, node: id }));
      }
    }
    await multi.exec();
    const seen = new Map<string, number>();
    const jobs: { nodeId: string; queue: string; startedAt: number | null; raw: string }[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await engine.browse.busy({ cursor, limit: 100 });
      assert.equal(page.totalNodes, 1200);
      assert.ok(page.nodes.length <= 200, `page ${pages}: ${page.nodes.length} nodes`);
      for (const node of page.nodes) {
        seen.set(node.id, (seen.get(node.id) ?? 0) + 1);
        const n = Number(node.id.slice(5));
        assert.equal(node.alive, n % 2 === 0, node.id);
        if (node.alive) assert.ok(node.heartbeatAgeMs !== null && node.heartbeatAgeMs >= 3000 && node.heartbeatAgeMs < 10_000, `${node.id}: ${node.heartbeatAgeMs}`);
        else assert.equal(node.heartbeatAgeMs, null);
        assert.deepEqual(node.queues, ['q1', 'q2']);
        assert.deepEqual(node.running, { q1: n % 100 === 0 ? 2 : 0, q2: 0 });
        assert.equal(node.busy, n % 100 === 0 ? 2 : 0);
      }
      jobs.push(...page.jobs);
      cursor = page.nextCursor;
      pages++;
    } while (cursor !== null && pages < 100);
    assert.equal(seen.size, 1200, 'every node listed');
    assert.ok(pages >= 6, `${pages} pages`);
    assert.equal(jobs.length, 24);
    for (const job of jobs) {
      if (job.raw === 'garbage') assert.equal(job.startedAt, null);
      else {
        const n = (JSON.parse(job.raw) as { args: number[] }).args[0];
        assert.equal(job.nodeId, `node-${String(n).padStart(4, '0')}`);
        assert.equal(job.queue, 'q1');
        assert.equal(job.startedAt, 2000 + n);
      }
    }
    const none = await engine.browse.busy({ jobsPerQueue: 0, limit: 10 });
    assert.deepEqual(none.jobs, []);
    await assert.rejects(engine.browse.busy({ cursor: 'abc' }), (error: unknown) => error instanceof VerkValidationError && error.field === 'options.cursor');
  } finally {
    await engine.stop();
  }
});

test('queues: sizes, latency of the oldest waiting job (plain or prioritized), running, counters and pause, by page', async () => {
  const engine = reader();
  try {
    const now = Date.now() / 1000;
    const job = (queue: string, age: number, extra: Record<string, unknown> = {}) => JSON.stringify({ class: 'W', args: [], jid: jidOf(Math.round(age)), queue, enqueued_at: now - age, ...extra });
    await ctx.redis.sadd('queues', 'a', 'b', 'c');
    // a: plain jobs enqueued 100 s and 50 s ago (the 100 s one runs next).
    await ctx.redis.lpush('queue:a', job('a', 100), job('a', 50));
    // b: a prioritized job 300 s old heads priority 5; the plain job is 10 s old.
    await ctx.redis.lpush('queue:b', job('b', 10));
    await ctx.redis.zadd('verk:queue:b:prioritized', -5 * 2 ** 42 + 1, job('b', 300, { priority: 5 }), 5 * 2 ** 42 + 1, job('b', 20, { priority: -5 }));
    await ctx.redis.sadd('verk:paused_queues', 'c');
    await ctx.redis.sadd('verk_nodes', 'n1', 'n2');
    await ctx.redis.sadd('verk:node:n1:queues', 'a', 'd');
    await ctx.redis.sadd('verk:node:n2:queues', 'a');
    await ctx.redis.lpush('inprogress:a:n1', 'x', 'y');
    await ctx.redis.lpush('inprogress:a:n2', 'z');
    await ctx.redis.lpush('inprogress:d:n1', 'w');
    const day = new Date().toISOString().slice(0, 10);
    await ctx.redis.mset('verk:stat:processed:queue:a', 40, 'verk:stat:failed:queue:a', 4, `verk:stat:processed:daily:${day}:a`, 7, `verk:stat:failed:daily:${day}:a`, 1);

    const { total, queues } = await engine.browse.queues();
    assert.equal(total, 4, 'the queues set, and queue d that only a node names');
    const [a, b, c, d] = queues;
    assert.deepEqual([a.name, b.name, c.name, d.name], ['a', 'b', 'c', 'd']);
    assert.deepEqual({ waiting: a.waiting, plain: a.plain, prioritized: a.prioritized, running: a.running, paused: a.paused }, { waiting: 2, plain: 2, prioritized: 0, running: 3, paused: false });
    assert.ok(a.latency >= 100 && a.latency < 160, `a: ${a.latency}`);
    assert.deepEqual({ processed: a.processed, failed: a.failed, today: a.today }, { processed: 40, failed: 4, today: { processed: 7, failed: 1 } });
    assert.deepEqual({ waiting: b.waiting, plain: b.plain, prioritized: b.prioritized }, { waiting: 3, plain: 1, prioritized: 2 });
    assert.ok(b.latency >= 300 && b.latency < 360, `b: ${b.latency}`);
    assert.deepEqual({ waiting: c.waiting, latency: c.latency, paused: c.paused, processed: c.processed }, { waiting: 0, latency: 0, paused: true, processed: 0 });
    assert.equal(d.running, 1);

    const second = await engine.browse.queues({ offset: 1, limit: 2 });
    assert.deepEqual(second.queues.map((queue) => queue.name), ['b', 'c']);
    assert.equal(second.total, 4);
  } finally {
    await engine.stop();
  }
});
