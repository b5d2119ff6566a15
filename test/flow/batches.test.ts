import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type VerkEngine, VerkValidationError, type WorkerHandler } from '../../lib/engine';
import { startEngine, useRedis } from '../helpers/engine';
import { sleep, waitFor } from '../helpers/wait';

const ctx = useRedis();

interface Counts {
  bid: string;
  total: number;
  succeeded: number;
  dead: number;
}

test('a batch of 500 jobs on two nodes, some dying: the callback runs once with the right counts', async () => {
  const callbacks: unknown[][] = [];
  const workers: Record<string, WorkerHandler> = {
    Resize: {
      async perform(args) {
        await sleep(Math.random() * 3);
        if ((args[0] as number) % 10 === 0) throw new Error('corrupt image');
      },
    },
    Done: { perform: (args) => void callbacks.push(args) },
  };
  const options = { redis: ctx.server.url, queues: { images: 20, default: 2 }, pollInterval: 100 };
  const nodes: VerkEngine[] = [await startEngine({ ...options, nodeId: 'n1' }, workers), await startEngine({ ...options, nodeId: 'n2' }, workers)];
  try {
    const jobs = Array.from({ length: 500 }, (_, i) => ({ queue: 'images', class: 'Resize', args: [i], retry: false }));
    const { bid, jids, callbackJid } = await nodes[0].client.batch(jobs, { onComplete: { queue: 'default', class: 'Done', args: ['album-9'] } });
    assert.equal(jids.length, 500);
    const running = await nodes[1].flow.batchStatus(bid);
    assert.equal(running?.total, 500);
    assert.ok(running && running.succeeded + running.dead + running.pending === 500);

    await waitFor(() => callbacks.length > 0, 'the callback', 30_000);
    await sleep(300);
    assert.equal(callbacks.length, 1, 'the callback ran once');
    assert.deepEqual(callbacks[0], ['album-9', { bid, total: 500, succeeded: 450, dead: 50 }]);
    const status = await nodes[0].flow.batchStatus(bid);
    assert.deepEqual({ pending: status?.pending, succeeded: status?.succeeded, dead: status?.dead }, { pending: 0, succeeded: 450, dead: 50 });
    assert.ok(status?.completedAt instanceof Date);
    assert.equal(await ctx.redis.zcard('dead'), 50, 'the dead jobs are in dead as usual');
    assert.ok((await ctx.redis.ttl(`verk:batch:${bid}`)) > 0, 'a completed batch expires');
    assert.equal(typeof callbackJid, 'string');
  } finally {
    await Promise.all(nodes.map((node) => node.stop()));
  }
});

test('two nodes finishing the last jobs of a batch at the same moment enqueue the callback once', async () => {
  const callbacks: Counts[] = [];
  let arrived = 0;
  let release!: () => void;
  let gate = new Promise<void>((resolve) => (release = resolve));
  const workers: Record<string, WorkerHandler> = {
    Last: {
      async perform() {
        // Both jobs finish together: each waits until the other has started.
        if (++arrived === 2) release();
        await gate;
      },
    },
    Done: { perform: (args) => void callbacks.push(args[0] as Counts) },
  };
  const options = { redis: ctx.server.url, queues: { default: 1 }, pollInterval: 50 };
  const nodes = [await startEngine({ ...options, nodeId: 'n1' }, workers), await startEngine({ ...options, nodeId: 'n2' }, workers)];
  try {
    for (let round = 1; round <= 20; round++) {
      arrived = 0;
      gate = new Promise<void>((resolve) => (release = resolve));
      const { bid } = await nodes[0].client.batch(
        [
          { queue: 'default', class: 'Last' },
          { queue: 'default', class: 'Last' },
        ],
        { onComplete: { class: 'Done' } },
      );
      await waitFor(() => callbacks.length === round, `callback of round ${round}`);
      assert.equal(callbacks[round - 1].bid, bid);
      assert.equal(callbacks[round - 1].succeeded, 2);
    }
    await sleep(200);
    assert.equal(callbacks.length, 20);
  } finally {
    await Promise.all(nodes.map((node) => node.stop()));
  }
});

test('a batch is all or nothing and refuses what could never complete', async () => {
  const engine = await startEngine({ redis: ctx.server.url, queues: {} });
  try {
    const before = await ctx.redis.dbsize();
    await assert.rejects(engine.client.batch([], { onComplete: { class: 'Done' } }), (error: unknown) => error instanceof VerkValidationError && error.field === 'jobs');
    await assert.rejects(
      engine.client.batch([{ queue: 'q', class: 'A' }, { queue: 'q', class: 'A', args: 'x' as unknown as unknown[] }], { onComplete: { class: 'Done' } }),
      (error: unknown) => error instanceof VerkValidationError && error.field === 'jobs[1].args',
    );
    await assert.rejects(
      engine.client.batch([{ queue: 'q', class: 'A', unique: { ttl: 1000 } }], { onComplete: { class: 'Done' } }),
      (error: unknown) => error instanceof VerkValidationError && error.field === 'jobs[0].unique',
    );
    await assert.rejects(
      engine.client.batch([{ queue: 'q', class: 'A' }], {} as { onComplete: { class: string } }),
      (error: unknown) => error instanceof VerkValidationError && error.field === 'options.onComplete',
    );
    assert.equal(await ctx.redis.dbsize(), before);

    // A job of a running batch cannot be deleted: the batch would never complete.
    const { jids } = await engine.client.batch([{ queue: 'q', class: 'A' }], { onComplete: { class: 'Done' } });
    await waitFor(async () => (await ctx.redis.zcard('schedule')) === 0, 'the batch job moved to its queue');
    await assert.rejects(engine.flow.cancel(jids[0]), /belongs to batch/);
    assert.equal(await ctx.redis.llen('queue:q'), 1);
  } finally {
    await engine.stop();
  }
});
