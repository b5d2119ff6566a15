import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VerkValidationError } from '../../lib/engine';
import { startEngine, useRedis, zsetJobs } from '../helpers/engine';

const ctx = useRedis();

/** A dead job as the Redis broker stores it: in `dead`, scored by when it died. */
async function bury(jid: string, queue: string, diedAt: number): Promise<void> {
  await ctx.redis.zadd('dead', String(diedAt), JSON.stringify({ class: 'X', args: [jid], jid, queue, retry_count: 26, error_class: 'Error', failed_at: diedAt }));
}

test('retryDead(count) enqueues the oldest dead jobs into their queues; clearDead() empties dead (Redis broker)', async () => {
  await bury('a'.repeat(24), 'one', 100);
  await bury('b'.repeat(24), 'two', 200);
  await bury('c'.repeat(24), 'one', 300);
  const engine = await startEngine({ redis: ctx.server.url });
  try {
    assert.equal(await engine.retryDead(2), 2);
    const one = (await ctx.redis.lrange('queue:one', 0, -1)).map((raw) => JSON.parse(raw) as { jid: string; retry_count: number; enqueued_at: number });
    const two = (await ctx.redis.lrange('queue:two', 0, -1)).map((raw) => JSON.parse(raw) as { jid: string });
    assert.deepEqual(one.map((job) => job.jid), ['a'.repeat(24)], 'the oldest first');
    assert.deepEqual(two.map((job) => job.jid), ['b'.repeat(24)]);
    assert.equal(one[0].retry_count, 26, 'its fields are kept');
    assert.equal(typeof one[0].enqueued_at, 'number');
    assert.deepEqual((await zsetJobs(ctx.redis, 'dead')).map((job) => job.jid), ['c'.repeat(24)]);
    assert.equal(await engine.retryDead(10), 1, 'no more than there are');
    await bury('d'.repeat(24), 'one', 400);
    await bury('e'.repeat(24), 'one', 500);
    assert.equal(await engine.clearDead(), 2);
    assert.equal(await ctx.redis.zcard('dead'), 0);
    await assert.rejects(engine.retryDead(0), (error: unknown) => error instanceof VerkValidationError && error.field === 'count');
  } finally {
    await engine.stop();
  }
});
