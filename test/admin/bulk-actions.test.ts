import assert from 'node:assert/strict';
import { test } from 'node:test';
import type Redis from 'ioredis';
import { VerkEngine, VerkValidationError } from '../../lib/engine';
import { startEngine, useRedis } from '../helpers/engine';
import { deadJobs, startWithDeadParents } from '../helpers/flow';
import { waitFor } from '../helpers/wait';

/**
 * Issue 12 (dashboard engine): Retry now / Delete / Kill on selected jobs and Retry all /
 * Delete all over a whole set, in batched scripts (engine.bulk). Counts, destinations,
 * nothing lost, bytes kept, idempotent when repeated, and the flow rules of clear().
 */

const ctx = useRedis();

const jidOf = (n: number): string => n.toString(16).padStart(24, '0');

/**
 * A stored job as another system may write it: an integer above 2^53 and a float `1.0`
 * that a JSON round trip would change, so any re-encoding shows.
 */
function rawJob(n: number, queue: string, extra = ''): string {
  return `{"class":"W${n % 3}","args":[9007199254740993,1.0,${n}],"jid":"${jidOf(n)}","queue":"${queue}","retry":true,"enqueued_at":1.0,"error_message":"boom ${n}"${extra}}`;
}

/** Fills a sorted set with `count` jobs (queues a and b; every 10th with priority 5), by score n + base. */
async function fill(redis: Redis, key: string, count: number, base: number): Promise<Map<string, { raw: string; at: number }>> {
  const jobs = new Map<string, { raw: string; at: number }>();
  const args: (string | number)[] = [];
  for (let n = 0; n < count; n++) {
    const raw = rawJob(n, n % 2 === 0 ? 'a' : 'b', n % 10 === 0 ? ',"priority":5' : '');
    jobs.set(jidOf(n), { raw, at: base + n });
    args.push(base + n, raw);
  }
  for (let i = 0; i < args.length; i += 2000) await redis.zadd(key, ...args.slice(i, i + 2000));
  return jobs;
}

/** The stored text without enqueued_at, to compare bytes with what was in the set. */
function withoutEnqueuedAt(raw: string): string {
  return raw.replace(/,"enqueued_at":[0-9.e+-]+/, '');
}

test('Retry now on selected dead jobs enqueues each into its own queue (priorities kept), bytes kept; repeating moves nothing', async () => {
  const engine = await startEngine({ redis: ctx.server.url, queues: {} });
  try {
    const jobs = await fill(ctx.redis, 'dead', 3000, 1_700_000_000);
    const picked = [0, 1, 2, 3, 10, 11, 2999].map(jidOf);
    const refs = picked.map((jid) => ({ jid, at: jobs.get(jid)?.at as number }));
    const result = await engine.bulk.retry('dead', [...refs, { jid: jidOf(99_999), at: 5 }]);
    assert.deepEqual(result, { count: 7, skipped: [jidOf(99_999)] });
    assert.equal(await ctx.redis.zcard('dead'), 2993);
    const a = await ctx.redis.lrange('queue:a', 0, -1);
    const b = await ctx.redis.lrange('queue:b', 0, -1);
    const prioritized = await ctx.redis.zrange('verk:queue:a:prioritized', 0, '-1');
    // 0 and 10: priority 5 (queue a); 2: a; 1, 3, 11, 2999: b.
    assert.equal(a.length, 1);
    assert.equal(b.length, 4);
    assert.equal(prioritized.length, 2);
    for (const raw of [...a, ...b, ...prioritized]) {
      const jid = (JSON.parse(raw) as { jid: string }).jid;
      assert.ok(picked.includes(jid), `${jid} was selected`);
      assert.equal(withoutEnqueuedAt(raw), withoutEnqueuedAt(jobs.get(jid)?.raw as string), 'only enqueued_at changed, no other byte');
      assert.ok((JSON.parse(raw) as { enqueued_at: number }).enqueued_at > 1_000_000_000, 'enqueued_at set to now');
    }
    assert.deepEqual((await ctx.redis.smembers('queues')).sort(), ['a', 'b']);

    // Again: nothing left to move, nothing moved twice.
    const again = await engine.bulk.retry('dead', refs);
    assert.deepEqual(again, { count: 0, skipped: picked });
    assert.equal((await ctx.redis.llen('queue:a')) + (await ctx.redis.llen('queue:b')) + (await ctx.redis.zcard('verk:queue:a:prioritized')), 7);

    // A bare jid is found by a scan.
    assert.deepEqual(await engine.bulk.retry('dead', [jidOf(500)]), { count: 1, skipped: [] });
    await assert.rejects(engine.bulk.retry('dead', [{ jid: jidOf(1), at: Number.NaN }]), (error: unknown) => error instanceof VerkValidationError && error.field === 'jobs[0].at');
    await assert.rejects(engine.bulk.retry('nope' as 'dead', []), (error: unknown) => error instanceof VerkValidationError && error.field === 'from');
  } finally {
    await engine.stop();
  }
});

test('Retry all over 3,000 dead jobs enqueues every job once, in its queue; members that are not jobs stay; repeating moves nothing', async () => {
  const engine = await startEngine({ redis: ctx.server.url, queues: {} });
  try {
    const jobs = await fill(ctx.redis, 'dead', 3000, 1_700_000_000);
    await ctx.redis.zadd('dead', 1, 'not json', 2, '{"class":"W","args":[],"jid":"ffffffffffffffffffffffff"}');
    const result = await engine.bulk.retryAll('dead');
    assert.deepEqual(result, { count: 3000, skipped: 2 });
    assert.deepEqual(await ctx.redis.zrange('dead', 0, '-1'), ['not json', '{"class":"W","args":[],"jid":"ffffffffffffffffffffffff"}']);
    const stored = [...(await ctx.redis.lrange('queue:a', 0, -1)), ...(await ctx.redis.lrange('queue:b', 0, -1)), ...(await ctx.redis.zrange('verk:queue:a:prioritized', 0, '-1'))];
    assert.equal(stored.length, 3000);
    const seen = new Set<string>();
    for (const raw of stored) {
      const job = JSON.parse(raw) as { jid: string; queue: string };
      assert.ok(!seen.has(job.jid), `${job.jid} enqueued once`);
      seen.add(job.jid);
      assert.equal(withoutEnqueuedAt(raw), withoutEnqueuedAt(jobs.get(job.jid)?.raw as string));
    }
    assert.equal(await ctx.redis.zcard('verk:queue:a:prioritized'), 300, 'every 10th job kept its priority');
    // Plain jobs of a queue in the set's order: the oldest (lowest score) runs first.
    const nextInA = JSON.parse((await ctx.redis.lindex('queue:a', -1)) as string) as { jid: string };
    assert.equal(nextInA.jid, jidOf(2));

    assert.deepEqual(await engine.bulk.retryAll('dead'), { count: 0, skipped: 2 });
    assert.equal((await ctx.redis.llen('queue:a')) + (await ctx.redis.llen('queue:b')), 2700);
  } finally {
    await engine.stop();
  }
});

test('Retry all from retry and schedule: jobs the scheduler would move later run now', async () => {
  const ran: number[] = [];
  const engine = await startEngine({ redis: ctx.server.url, queues: { a: 5, b: 5 }, pollInterval: 50 }, { W0: { perform: (args) => void ran.push(args[2] as number) }, W1: { perform: (args) => void ran.push(args[2] as number) }, W2: { perform: (args) => void ran.push(args[2] as number) } });
  try {
    const future = Date.now() / 1000 + 3600;
    await fill(ctx.redis, 'retry', 40, future);
    assert.deepEqual(await engine.bulk.retryAll('retry'), { count: 40, skipped: 0 });
    await waitFor(() => ran.length === 40, 'the 40 jobs ran', 10_000);
    assert.equal(await ctx.redis.zcard('retry'), 0);
  } finally {
    await engine.stop();
  }
});

test('Delete on selected jobs removes exactly them; Delete all removes the rest; repeating removes nothing', async () => {
  const engine = await startEngine({ redis: ctx.server.url, queues: {} });
  try {
    const future = Date.now() / 1000 + 3600;
    const jobs = await fill(ctx.redis, 'schedule', 2500, future);
    const picked = [5, 6, 7, 2400].map(jidOf);
    const refs = picked.map((jid) => ({ jid, at: jobs.get(jid)?.at as number }));
    assert.deepEqual(await engine.bulk.delete('schedule', refs), { count: 4, skipped: [] });
    const left = (await ctx.redis.zrange('schedule', 0, '-1')).map((raw) => (JSON.parse(raw) as { jid: string }).jid);
    assert.equal(left.length, 2496);
    for (const jid of picked) assert.ok(!left.includes(jid), `${jid} deleted`);
    assert.deepEqual(await engine.bulk.delete('schedule', refs), { count: 0, skipped: picked });
    assert.equal(await engine.bulk.deleteAll('schedule'), 2496);
    assert.equal(await ctx.redis.exists('schedule'), 0);
    assert.equal(await engine.bulk.deleteAll('schedule'), 0);
  } finally {
    await engine.stop();
  }
});

test('Delete all on dead with dependable jobs sends their dependents to dead with DependencyLostError, as clear does', async () => {
  const { engine, parents, children } = await startWithDeadParents(ctx, 3);
  try {
    // Delete one selected parent: its child goes to dead.
    const [first] = (await engine.admin.listJobs('dead', { limit: 10 })).jobs.filter((listed) => listed.job?.jid === parents[0]);
    assert.deepEqual(await engine.bulk.delete('dead', [{ jid: parents[0], at: first.at as number }]), { count: 1, skipped: [] });
    const orphan = (await deadJobs(ctx.redis)).find((job) => job.jid === children[0]);
    assert.equal(orphan?.error_class, 'DependencyLostError');
    assert.match(orphan?.error_message ?? '', new RegExp(`${parents[0]} was deleted from dead`));

    // Delete all: the two parents and child 0; children 1 and 2 land in dead after it.
    assert.equal(await engine.bulk.deleteAll('dead'), 3);
    const dead = await deadJobs(ctx.redis);
    assert.deepEqual(dead.map((job) => job.jid).sort(), [children[1], children[2]].sort());
    for (const job of dead) assert.equal(job.error_class, 'DependencyLostError');
    assert.equal(await ctx.redis.hlen('verk:flow:blocked'), 0);
  } finally {
    await engine.stop();
  }
});

test('Kill moves selected retry and scheduled jobs to dead as stored, trims dead, counts batch jobs as dead; repeating moves nothing', async () => {
  // Not started: no scheduler moves the batch's job out of schedule.
  const engine = new VerkEngine({ redis: ctx.server.url, nodeId: 'admin', queues: {}, maxDeadJobs: 2000 });
  try {
    const future = Date.now() / 1000 + 3600;
    const jobs = await fill(ctx.redis, 'retry', 3000, future);
    await ctx.redis.zadd('dead', 1, rawJob(90_000, 'a'), 2, rawJob(90_001, 'a'));
    const picked = Array.from({ length: 2000 }, (_, n) => jidOf(n + 500));
    const refs = picked.map((jid) => ({ jid, at: jobs.get(jid)?.at as number }));
    const result = await engine.bulk.kill('retry', refs);
    assert.equal(result.count, 2000);
    assert.deepEqual(result.skipped, []);
    assert.equal(await ctx.redis.zcard('retry'), 1000);
    // Dead held 2 + 2000 = 2002: trimmed to 2000, oldest first (the two that were there).
    assert.equal(await ctx.redis.zcard('dead'), 2000);
    const dead = await ctx.redis.zrange('dead', 0, '-1');
    const byJid = new Map(dead.map((raw) => [(JSON.parse(raw) as { jid: string }).jid, raw]));
    for (const jid of picked) assert.equal(byJid.get(jid), jobs.get(jid)?.raw, `${jid} in dead, bytes as stored`);
    assert.deepEqual(await engine.bulk.kill('retry', refs), { count: 0, skipped: picked });
    await assert.rejects(engine.bulk.kill('dead' as 'retry', []), (error: unknown) => error instanceof VerkValidationError && error.field === 'from');

    // A scheduled job of a batch: killed, it counts as dead in its batch, whose callback is then scheduled.
    const { bid, jids } = await engine.client.batch([{ queue: 'x', class: 'W' }], { onComplete: { queue: 'x', class: 'Done' } });
    const scheduled = (await engine.admin.listJobs('schedule')).jobs.find((listed) => listed.job?.jid === jids[0]);
    assert.ok(scheduled, 'the batch job waits in schedule');
    assert.deepEqual(await engine.bulk.kill('schedule', [{ jid: jids[0], at: scheduled.at as number }]), { count: 1, skipped: [] });
    const status = await engine.flow.batchStatus(bid);
    assert.equal(status?.dead, 1);
    assert.equal(status?.pending, 0);
  } finally {
    await engine.stop();
  }
});
